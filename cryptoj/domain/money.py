"""Decimal parsing and rounding to exchange increments.

Coinbase sends every price, size, fee and balance as a decimal string. These helpers turn them into
`Decimal` (never float) and round sizes and prices the safe way: a size down to `base_increment`, a buy
price down and a sell price up to the price increment, so the result never pays more or receives less
than the price the caller gave.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation, localcontext

from cryptoj.domain.errors import DomainError
from cryptoj.domain.side import Side

__all__ = [
    "ZERO",
    "InvalidAmount",
    "is_multiple_of",
    "parse_decimal",
    "parse_non_negative",
    "parse_positive",
    "round_price",
    "round_size_down",
    "round_to_increment",
]

ZERO = Decimal(0)


class InvalidAmount(DomainError):
    """A value is not a usable amount: not a decimal, NaN, infinite, or negative where that means nothing."""


def parse_decimal(value: str | int | Decimal, *, field: str = "amount") -> Decimal:
    """Parse an API decimal string (or int/Decimal) into a finite `Decimal`.

    Floats are refused: they have already lost the exact value the exchange sent.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidAmount(f"{field} must be a decimal string, int or Decimal, not {type(value).__name__}")
    try:
        result = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise InvalidAmount(f"{field} is not a decimal number: {value!r}") from None
    if not result.is_finite():
        raise InvalidAmount(f"{field} must be finite, got {value!r}")
    return result


def parse_non_negative(value: str | int | Decimal, *, field: str = "amount") -> Decimal:
    """Parse a decimal that must be zero or more (sizes, balances, fees)."""
    result = parse_decimal(value, field=field)
    if result < 0:
        raise InvalidAmount(f"{field} must not be negative, got {result}")
    return result


def parse_positive(value: str | int | Decimal, *, field: str = "amount") -> Decimal:
    """Parse a decimal that must be above zero (prices, order sizes)."""
    result = parse_decimal(value, field=field)
    if result <= 0:
        raise InvalidAmount(f"{field} must be positive, got {result}")
    return result


def _check_increment(increment: Decimal) -> None:
    if not increment.is_finite() or increment <= 0:
        raise InvalidAmount(f"increment must be a positive finite decimal, got {increment}")


def _check_value(value: Decimal) -> None:
    if not value.is_finite():
        raise InvalidAmount(f"a value to round must be finite, got {value}")


def _exact_precision(value: Decimal, increment: Decimal) -> int:
    # Digits enough for the integer quotient, the remainder and their product with the increment to be
    # exact: the default 28 digits would round a 29-digit quotient, possibly up past the caller's limit.
    lowest = min(int(value.as_tuple().exponent), int(increment.as_tuple().exponent))
    highest = max(value.adjusted(), increment.adjusted())
    return max(28, highest - lowest + 4)


def round_to_increment(value: Decimal, increment: Decimal, *, rounding: str) -> Decimal:
    """Round `value` to a whole multiple of `increment` with the given `decimal` rounding mode.

    Exact for any number of digits: the rounding mode sees the true quotient, never a 28-digit rounding of it.
    """
    _check_increment(increment)
    _check_value(value)
    with localcontext() as ctx:
        ctx.prec = _exact_precision(value, increment)
        whole, remainder = divmod(value, increment)  # exact; remainder carries the sign of value
        if remainder:
            # Stand in for the fraction with one that rounds the same way in every mode (below, at or
            # above half a step), so the quotient never has to be written out to the last digit.
            twice = abs(remainder) * 2
            fraction = (
                Decimal("0.25") if twice < increment else Decimal("0.5") if twice == increment else Decimal("0.75")
            )
            whole += fraction.copy_sign(remainder)
        steps = whole.to_integral_value(rounding=rounding)
        # Quantize to the increment's exponent so "0.01" increments give "12.30", not "12.3000000".
        return (steps * increment).quantize(increment)


def round_size_down(size: Decimal, increment: Decimal) -> Decimal:
    """Round a size down to `base_increment`: never trade more than asked."""
    return round_to_increment(size, increment, rounding=ROUND_FLOOR)


def round_price(price: Decimal, increment: Decimal, *, side: Side) -> Decimal:
    """Round a limit price to the price increment on the safe side.

    A buy rounds down and a sell rounds up, so the rounded price is never past the price the caller
    gave: a buyer never pays more, a seller never accepts less.
    """
    rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    return round_to_increment(price, increment, rounding=rounding)


def is_multiple_of(value: Decimal, increment: Decimal) -> bool:
    """Whether `value` is a whole multiple of `increment` (what Coinbase checks before accepting)."""
    _check_increment(increment)
    _check_value(value)
    with localcontext() as ctx:
        ctx.prec = _exact_precision(value, increment)
        return value % increment == 0
