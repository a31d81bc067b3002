"""Drive the official SDK (coinbase-advanced-py) against a sandbox and print what it saw as JSON.

Runs in the SDK's own throwaway environment (its websockets pin conflicts with Prefect's):

    uv run --no-project --isolated --with coinbase-advanced-py==1.8.4 python tests/compat/sdk_roundtrip.py \\
        rest --base-url 127.0.0.1:PORT --ca CA.pem --key-file KEY.json
    ... sdk_roundtrip.py ws --base-url wss://127.0.0.1:PORT --key-file KEY.json [--seconds 3]

Only the standard library and the SDK are imported here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from typing import Any


def rest(args: argparse.Namespace) -> dict[str, Any]:
    """List accounts and products, read candles and the book, place, get and cancel orders."""
    from coinbase.rest import RESTClient

    # requests lets REQUESTS_CA_BUNDLE from the environment override session.verify: set both.
    os.environ["REQUESTS_CA_BUNDLE"] = args.ca
    client = RESTClient(key_file=args.key_file, base_url=args.base_url)
    client.session.verify = args.ca  # the sandbox's certificate is signed by this CA
    result: dict[str, Any] = {}
    accounts = client.get_accounts(limit=50).to_dict()
    result["accounts"] = sorted(a["currency"] for a in accounts["accounts"])
    result["products"] = [p["product_id"] for p in client.get_products().to_dict()["products"]]
    end = int(time.time())
    candles = client.get_candles("BTC-USD", start=str(end - 3600), end=str(end), granularity="FIVE_MINUTE")
    result["candles"] = len(candles.to_dict()["candles"])
    book = client.get_product_book("BTC-USD", limit=10).to_dict()["pricebook"]
    result["book"] = {"bids": len(book["bids"]), "asks": len(book["asks"])}
    placed = client.limit_order_gtc_buy(
        client_order_id=uuid.uuid4().hex, product_id="BTC-USD", base_size="0.001", limit_price="1000.00"
    ).to_dict()
    order_id = placed["success_response"]["order_id"]
    result["placed"] = {"success": placed["success"], "order_id": order_id}
    result["order_status"] = client.get_order(order_id).to_dict()["order"]["status"]
    cancelled = client.cancel_orders([order_id]).to_dict()["results"]
    result["cancel"] = [{"success": r["success"], "failure_reason": r["failure_reason"]} for r in cancelled]
    result["status_after_cancel"] = client.get_order(order_id).to_dict()["order"]["status"]
    market = client.market_order_buy(client_order_id=uuid.uuid4().hex, product_id="BTC-USD", quote_size="10").to_dict()
    result["market_order"] = {
        "success": market["success"],
        "status": client.get_order(market["success_response"]["order_id"]).to_dict()["order"]["status"],
    }
    return result


def ws(args: argparse.Namespace) -> dict[str, Any]:
    """Subscribe level2 and heartbeats with the SDK's WSClient and summarise the frames received."""
    from coinbase.websocket import WSClient

    frames: list[dict[str, Any]] = []
    lock = threading.Lock()

    def on_message(text: str) -> None:
        with lock:
            frames.append(json.loads(text))

    client = WSClient(key_file=args.key_file, base_url=args.base_url, on_message=on_message, retry=False)
    client.open()
    client.subscribe(product_ids=["BTC-USD"], channels=["level2", "heartbeats"])
    client.sleep_with_exception_check(args.seconds)
    client.close()
    with lock:
        received = list(frames)
    level2 = [f for f in received if f.get("channel") == "l2_data"]
    events = [e for f in level2 for e in f.get("events", [])]
    return {
        "frames": len(received),
        "channels": sorted({str(f.get("channel", f.get("type"))) for f in received}),
        "sequence_nums": [f.get("sequence_num") for f in received][:50],
        "level2_first_event_type": events[0].get("type") if events else None,
        "level2_snapshot_levels": len(events[0].get("updates", [])) if events else 0,
        "heartbeats": sum(1 for f in received if f.get("channel") == "heartbeats"),
        "errors": [f for f in received if f.get("type") == "error"],
    }


def main(argv: list[str]) -> int:
    """Parse the mode and options, run it, print the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["rest", "ws"])
    parser.add_argument("--base-url", required=True, help="rest: host:port (https forced); ws: wss://host:port")
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--ca", help="CA file that signed the sandbox certificate (rest)")
    parser.add_argument("--seconds", type=int, default=3, help="how long to listen (ws)")
    args = parser.parse_args(argv)
    result = rest(args) if args.mode == "rest" else ws(args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
