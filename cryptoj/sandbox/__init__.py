"""A local exchange that speaks Coinbase Advanced Trade's REST and WebSocket protocol."""

__all__: list[str] = []
