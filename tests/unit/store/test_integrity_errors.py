"""A constraint the database enforces becomes the store error it means (a real SQLite raises each one)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, create_engine, event
from sqlalchemy.engine import Engine

from cryptoj.store._sql import translate_integrity
from cryptoj.store.errors import DuplicateRecord, InvalidRecord, StoreError, UnknownReference

_metadata = MetaData()
_parents = Table("parents", _metadata, Column("id", Integer, primary_key=True))
_children = Table(
    "children",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("parents.id")),
    Column("name", String(8), nullable=False),
)


@pytest.fixture
def engine() -> Engine:
    """An in-memory SQLite with foreign keys enforced."""
    engine = create_engine("sqlite://")

    @event.listens_for(engine, "connect")
    def _fks(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[attr-defined]

    _metadata.create_all(engine)
    return engine


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"id": 1, "parent_id": 99, "name": "a"}, UnknownReference),
        ({"id": 1, "parent_id": None, "name": None}, InvalidRecord),
    ],
    ids=["foreign key", "not null"],
)
def test_a_violation_becomes_a_store_error_naming_the_record(
    engine: Engine, row: dict[str, object], error: type
) -> None:
    with (
        engine.begin() as connection,
        pytest.raises(error, match="child 1") as raised,
        translate_integrity("child 1"),
    ):
        connection.execute(_children.insert().values(row))
    assert isinstance(raised.value, StoreError)


def test_a_repeated_key_is_a_duplicate(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(_parents.insert().values(id=1))
        with pytest.raises(DuplicateRecord, match="parent 1"), translate_integrity("parent 1"):
            connection.execute(_parents.insert().values(id=1))


def test_psycopg_errors_from_the_copy_path_are_translated_too() -> None:
    message = 'insert or update on table "candles" violates foreign key constraint "candles_product_id_fkey"'
    with pytest.raises(UnknownReference, match="candles of X-USD"), translate_integrity("candles of X-USD"):
        raise psycopg.errors.ForeignKeyViolation(message)
    with pytest.raises(InvalidRecord, match="CheckViolation"), translate_integrity("candles of X-USD"):
        raise psycopg.errors.CheckViolation("new row violates check constraint")
