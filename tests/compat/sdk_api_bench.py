"""Both sides of the REST CPU benchmark, as separate processes so each one's CPU time is its own.

``serve``: a tiny TLS server (Starlette on uvicorn, run with the project's venv) answering
``GET /api/v3/brokerage/accounts`` with a documented body once it sees a bearer token (and, as the
real API's CDN does, a `__cf_bm` cookie).
``sdk``: the official SDK (coinbase-advanced-py 1.8.4, run in its own throwaway environment with
``uv run --no-project --isolated --with coinbase-advanced-py==1.8.4``) making the same authenticated
request. After a warm-up it prints ``ready``, then runs one batch of N requests per line read on stdin
and prints ``{"cpu_per_request": seconds}`` for it: the caller interleaves these batches with its own,
so a load change on the shared machine weighs on both sides alike (by hand: ``yes | head -5 | ...``).

Used by tests/performance/test_api_performance.py; runnable by hand for a look.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

CF_COOKIE = "__cf_bm=bench-cookie-value; path=/; expires=Wed, 25-Nov-26 05:00:00 GMT; HttpOnly; Secure; SameSite=None"
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
        # Real answers come through Cloudflare, which sets its bot-management cookie on them.
        return JSONResponse(
            ACCOUNTS_BODY, headers={"Cache-Control": "no-store", "trace-id": "bench", "Set-Cookie": CF_COOKIE}
        )

    app = Starlette(routes=[Route("/api/v3/brokerage/accounts", accounts)])
    uvicorn.run(app, host="127.0.0.1", port=port, ssl_certfile=cert, ssl_keyfile=key, log_level="warning")


def sdk(url: str, ca: str, key_file: str, count: int) -> None:
    """Time the official SDK's authenticated GET /accounts, one batch per stdin line (CPU s per request)."""
    from coinbase.rest import RESTClient  # only present in the SDK's own environment

    with open(key_file, encoding="utf-8") as handle:
        key = json.load(handle)
    client = RESTClient(api_key=key["name"], api_secret=key["privateKey"], base_url=url)
    client.session.verify = ca
    for _ in range(10):  # warm the connection pool and imports
        client.get_accounts()
    print("ready", flush=True)
    for _ in sys.stdin:
        start = time.process_time()
        for _ in range(count):
            client.get_accounts()
        print(json.dumps({"cpu_per_request": (time.process_time() - start) / count}), flush=True)


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
        sdk(args.url, args.ca, args.key_file, args.count)


if __name__ == "__main__":
    main()
