"""Persistence: SQLModel tables, the engine, repositories and Alembic migrations."""

__all__: list[str] = []
