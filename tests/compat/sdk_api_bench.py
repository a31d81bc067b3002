"""Both sides of the REST CPU benchmark, as separate processes so each one's CPU time is its own.

``serve``: a tiny TLS server (Starlette on uvicorn, run with the project's venv) answering
``GET /api/v3/brokerage/accounts`` with a documented body once it sees a bearer token.
``sdk``: the official SDK (coinbase-advanced-py 1.8.4, run in its own throwaway environment with
``uv run --no-project --isolated --with coinbase-advanced-py==1.8.4``) making the same authenticated
request in 5 batches of N; prints ``{"cpu_per_request": best batch's seconds per request, ...}``.

Used by tests/performance/test_api_performance.py; runnable by hand for a look.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

BATCHES = 5

ACCOUNTS_BODY = {
    "accounts": [
        {
            "uuid": "8bfc20d7-f7c6-4422-bf07-8243ca4169fe",
            "name": "BTC Wallet",
            "currency": "BTC",
            "available_balance": {"value": "1.23", "currency": "BTC"},
            "default": False,
            "active": True,
            "created_at": "2021-05-31T09:59:59.000Z",
            "updated_at": "2021-05-31T09:59:59.000Z",
            "type": "ACCOUNT_TYPE_CRYPTO",
            "ready": True,
            "hold": {"value": "0", "currency": "BTC"},
            "retail_portfolio_id": "b87a2d3f-8a1e-49b3-a4ea-402d8c389aca",
            "platform": "ACCOUNT_PLATFORM_CONSUMER",
        }
    ],
    "has_next": False,
    "cursor": "",
    "size": 1,
}


def serve(port: int, cert: str, key: str) -> None:
    """Run the benchmark server until killed."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    async def accounts(request: Request) -> Response:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return PlainTextResponse("Unauthorized", status_code=401)
        return JSONResponse(ACCOUNTS_BODY, headers={"Cache-Control": "no-store", "trace-id": "bench"})

    app = Starlette(routes=[Route("/api/v3/brokerage/accounts", accounts)])
    uvicorn.run(app, host="127.0.0.1", port=port, ssl_certfile=cert, ssl_keyfile=key, log_level="warning")


def sdk(url: str, ca: str, key_file: str, count: int) -> dict[str, Any]:
    """Time the official SDK's authenticated GET /accounts (CPU seconds per request)."""
    from coinbase.rest import RESTClient  # only present in the SDK's own environment

    with open(key_file, encoding="utf-8") as handle:
        key = json.load(handle)
    client = RESTClient(api_key=key["name"], api_secret=key["privateKey"], base_url=url)
    client.session.verify = ca
    for _ in range(10):  # warm the connection pool and imports
        client.get_accounts()
    # Several batches, best kept: on a shared machine interference only ever adds CPU time.
    batches = []
    for _ in range(BATCHES):
        start = time.process_time()
        for _ in range(count):
            client.get_accounts()
        batches.append((time.process_time() - start) / count)
    return {"cpu_per_request": min(batches), "batches": batches, "requests": count * BATCHES}


def main() -> None:
    """Command line entry: `serve` or `sdk`."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    serve_args = sub.add_parser("serve")
    serve_args.add_argument("--port", type=int, required=True)
    serve_args.add_argument("--cert", required=True)
    serve_args.add_argument("--key", required=True)
    sdk_args = sub.add_parser("sdk")
    sdk_args.add_argument("--url", required=True, help="host:port, no scheme (the SDK forces https)")
    sdk_args.add_argument("--ca", required=True)
    sdk_args.add_argument("--key-file", required=True)
    sdk_args.add_argument("--count", type=int, default=100, help="requests per batch")
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.port, args.cert, args.key)
    else:
        json.dump(sdk(args.url, args.ca, args.key_file, args.count), sys.stdout)


if __name__ == "__main__":
    main()
