"""Adapter for the real Coinbase Advanced Trade API v3: auth, wire models, errors, REST and WebSocket."""

__all__: list[str] = []
