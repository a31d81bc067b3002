"""Column types that keep money exact and times in UTC on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

from cryptoj.store.errors import InvalidRecord

__all__ = [
    "MONEY_INTEGER_DIGITS",
    "MONEY_SCALE",
    "ExactDecimal",
    "UTCDateTime",
    "canonical",
    "check_money",
    "is_exact_money",
]

# Numeric(38, 18): 20 digits before the point (prices, volumes and balances of any real market) and 18 after
# (the smallest unit of any token Coinbase lists has at most 18 decimals).
MONEY_SCALE = 18
MONEY_INTEGER_DIGITS = 20
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
# Wide enough that quantizing any in-range value to 18 places is exact (and normalize() keeps 38 digits).
_WIDE = Context(prec=80)
_ONE = Decimal(1)


def is_exact_money(value: object) -> bool:
    """Whether `value` is a Decimal the store keeps exactly (finite, within NUMERIC(38, 18))."""
    return (
        isinstance(value, Decimal)
        and value.is_finite()
        and not (value and value.adjusted() >= MONEY_INTEGER_DIGITS)
        and value.quantize(_QUANTUM, context=_WIDE) == value
    )


def check_money(value: Decimal, *, field: str) -> Decimal:
    """Return `value` when the store can keep it exactly; raise `InvalidRecord` saying why otherwise."""
    if is_exact_money(value):
        return value
    if not isinstance(value, Decimal):
        raise InvalidRecord(f"{field} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise InvalidRecord(f"{field} must be finite, got {value}")
    if value.adjusted() >= MONEY_INTEGER_DIGITS:
        raise InvalidRecord(f"{field} has more than {MONEY_INTEGER_DIGITS} digits before the point: {value}")
    raise InvalidRecord(f"{field} has more than {MONEY_SCALE} decimal places: {value}")


def canonical(value: Decimal) -> Decimal:
    """The shortest plain form of a stored amount: ``1.50`` and ``1.500000`` both read back as ``1.5``."""
    if value == value.to_integral_value(context=_WIDE):
        return value.quantize(_ONE, context=_WIDE)
    return value.normalize(context=_WIDE)


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal column: NUMERIC(38, 18) on PostgreSQL, canonical text on SQLite.

    SQLite has no decimal type and SQLAlchemy's Numeric goes through float there, so the text form keeps
    every digit; amounts are compared in Python, never ordered by SQL on SQLite.
    """

    impl = Numeric(38, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(48))
        return dialect.type_descriptor(Numeric(38, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        # The repositories ran `check_money` already; this only stops a float or str slipping through.
        if not isinstance(value, Decimal):
            raise InvalidRecord(f"amounts must be Decimal, not {type(value).__name__}")
        if dialect.name == "sqlite":
            return format(value, "f")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        # Both databases read back the same canonical form (PostgreSQL would pad to 18 places).
        return canonical(Decimal(value))

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime; naive datetimes are refused so no local time slips in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise InvalidRecord(f"times must be timezone-aware, got {value.isoformat()}")
        value = value.astimezone(UTC)
        # SQLite keeps no offset: store UTC wall time and put the zone back on the way out.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime
