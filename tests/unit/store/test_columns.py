"""Money columns take only Decimals they can keep exactly; times only timezone-aware ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from cryptoj.store.columns import ExactDecimal, UTCDateTime, canonical, check_money
from cryptoj.store.errors import InvalidRecord


@pytest.mark.parametrize(
    "text", ["138991023.41", "0.00000001", "-5.5", "99999999999999999999.999999999999999999", "1E+3"]
)
def test_amounts_within_numeric_38_18_are_kept(text: str) -> None:
    assert check_money(Decimal(text), field="x") == Decimal(text)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "must be a Decimal, not float"),
        (3, "must be a Decimal, not int"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (Decimal("1e20"), "20 digits"),
        (Decimal("0.0000000000000000001"), "18 decimal places"),
    ],
)
def test_amounts_the_store_cannot_keep_exactly_are_refused(value: object, message: str) -> None:
    with pytest.raises(InvalidRecord, match=message):
        check_money(value, field="price")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stored", "read"),
    [("1.500000000000000000", "1.5"), ("100.000000000000000000", "100"), ("1E+2", "100"), ("0E-18", "0")],
)
def test_stored_amounts_read_back_in_their_shortest_plain_form(stored: str, read: str) -> None:
    assert str(canonical(Decimal(stored))) == read


def test_sqlite_stores_amounts_as_text_and_postgresql_as_numeric() -> None:
    column = ExactDecimal()
    assert column.process_bind_param(Decimal("1E-8"), sqlite.dialect()) == "0.00000001"
    assert column.process_bind_param(Decimal("1.25"), postgresql.dialect()) == Decimal("1.25")
    assert column.process_bind_param(None, sqlite.dialect()) is None
    assert column.process_result_value(None, sqlite.dialect()) is None
    assert column.process_result_value("0.00000001", sqlite.dialect()) == Decimal("0.00000001")
    assert column.python_type is Decimal
    with pytest.raises(InvalidRecord, match="not float"):
        column.process_bind_param(1.5, postgresql.dialect())  # type: ignore[arg-type]


def test_times_are_stored_in_utc_and_read_back_timezone_aware() -> None:
    column = UTCDateTime()
    tokyo = datetime(2026, 1, 5, 21, 0, tzinfo=timezone(timedelta(hours=9)))
    assert column.process_bind_param(tokyo, sqlite.dialect()) == datetime(2026, 1, 5, 12, 0)  # noqa: DTZ001
    assert column.process_bind_param(tokyo, postgresql.dialect()) == datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert column.process_result_value(datetime(2026, 1, 5, 12, 0), sqlite.dialect()) == datetime(  # noqa: DTZ001
        2026, 1, 5, 12, 0, tzinfo=UTC
    )
    assert column.process_result_value(tokyo, postgresql.dialect()) == tokyo
    assert column.process_result_value(tokyo, postgresql.dialect()).tzinfo is UTC  # type: ignore[union-attr]
    assert column.process_bind_param(None, sqlite.dialect()) is None
    assert column.process_result_value(None, sqlite.dialect()) is None
    assert column.python_type is datetime


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(InvalidRecord, match="timezone-aware"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 5), sqlite.dialect())  # noqa: DTZ001
