"""Services: the exchange and order execution, on top of the client and the store."""

__all__: list[str] = []
