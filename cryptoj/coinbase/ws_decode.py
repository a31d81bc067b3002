"""Hot-path frame decoding: raw text or bytes -> one typed message, in a single pass.

The decoder is built once per handler; `decode` picks the message type from the `channel` tag while it
validates, so a 5 MB snapshot is read once. Error frames (which carry `type`, not `channel`) are rare and
are tried only when the tagged decode fails.
"""

from __future__ import annotations

import msgspec

from cryptoj.coinbase.ws_errors import FrameError
from cryptoj.coinbase.ws_models import ErrorFrame, WsMessage

__all__ = ["FrameDecoder"]

_EXCERPT = 80
_TOO_DEEP = "JSON nested too deeply"


class FrameDecoder:
    """Decode advanced-trade-ws frames into `WsMessage` or `ErrorFrame`; anything else raises `FrameError`."""

    __slots__ = ("_error", "_message")

    def __init__(self) -> None:
        self._message: msgspec.json.Decoder[WsMessage] = msgspec.json.Decoder(WsMessage)
        self._error: msgspec.json.Decoder[ErrorFrame] = msgspec.json.Decoder(ErrorFrame)

    def decode(self, frame: str | bytes) -> WsMessage | ErrorFrame:
        """Decode one frame; a frame that is not JSON or not a known message raises `FrameError`."""
        try:
            return self._message.decode(frame)
        except msgspec.ValidationError as exc:
            reason = str(exc)
        except msgspec.DecodeError as exc:
            raise FrameError(f"not JSON: {exc}", excerpt=_excerpt(frame)) from None
        except RecursionError:
            # msgspec gives up past Python's recursion limit; left bare, it would end the connection.
            raise FrameError(_TOO_DEEP, excerpt=_excerpt(frame)) from None
        try:
            return self._error.decode(frame)
        except (msgspec.DecodeError, RecursionError):
            raise FrameError(reason, excerpt=_excerpt(frame)) from None


def _excerpt(frame: str | bytes) -> str:
    text = frame[:_EXCERPT]
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text
