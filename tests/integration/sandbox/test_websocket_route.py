"""REST and the WebSocket share one port: the feed answers at "/", other WebSocket paths are refused."""

from __future__ import annotations

import json

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.utils.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration


async def test_the_feed_answers_at_the_root_path(sandbox: SandboxHandle) -> None:
    async with websockets.connect(sandbox.ws_url + "/", max_size=16 * 1024 * 1024) as ws:
        await ws.send(json.dumps({"type": "subscribe", "product_ids": [], "channel": "heartbeats"}))
        frame = json.loads(await ws.recv())
        assert set(frame) >= {"channel", "timestamp", "sequence_num", "events"}


async def test_other_websocket_paths_are_refused_at_the_handshake(sandbox: SandboxHandle) -> None:
    with pytest.raises(InvalidStatus) as caught:
        async with websockets.connect(sandbox.ws_url + "/elsewhere"):
            pass  # pragma: no cover - the handshake fails
    assert caught.value.response.status_code == 403
