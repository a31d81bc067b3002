"""Pure trading logic: no I/O, no httpx, no database, no Prefect."""

__all__: list[str] = []
