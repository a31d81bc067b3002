"""The sandbox's WebSocket feed (advanced-trade-ws protocol) at the root path.

Placeholder until the WebSocket issue lands: it refuses connections with a clear close reason.
"""

from starlette.websockets import WebSocket

from cryptoj.sandbox.events import FeedSource

__all__ = ["serve_feed"]


async def serve_feed(websocket: WebSocket, source: FeedSource) -> None:
    """Serve one WebSocket connection from `source`."""
    await websocket.accept()
    await websocket.close(code=1011, reason="feed not available")
