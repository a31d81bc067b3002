"""Decimal parsing and safe rounding to exchange increments."""

from decimal import Decimal

import pytest

from cryptoj.domain.money import (
    InvalidAmount,
    is_multiple_of,
    parse_decimal,
    parse_non_negative,
    parse_positive,
    round_price,
    round_size_down,
    round_to_increment,
)
from cryptoj.domain.side import Side
from cryptoj.errors import CryptojError


def test_api_decimal_strings_parse_exactly() -> None:
    assert parse_decimal("0.00000001") == Decimal("0.00000001")
    assert parse_decimal(" 67921.53 ") == Decimal("67921.53")
    assert parse_decimal(5) == Decimal(5)
    assert parse_decimal(Decimal("1.5")) == Decimal("1.5")


@pytest.mark.parametrize("bad", [0.1, True, None, [1]])
def test_floats_and_non_numbers_are_refused_by_type(bad: object) -> None:
    with pytest.raises(InvalidAmount, match="must be a decimal string"):
        parse_decimal(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "abc", "1,5"])
def test_text_that_is_not_a_number_is_refused(bad: str) -> None:
    with pytest.raises(InvalidAmount, match="not a decimal number"):
        parse_decimal(bad, field="price")


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-inf", "sNaN"])
def test_nan_and_infinities_are_refused(bad: str) -> None:
    with pytest.raises(InvalidAmount, match="must be finite"):
        parse_decimal(bad)


def test_invalid_amount_is_a_cryptoj_error() -> None:
    assert issubclass(InvalidAmount, CryptojError)
    assert issubclass(InvalidAmount, ValueError)


def test_negative_is_refused_where_meaningless_but_zero_is_fine() -> None:
    assert parse_non_negative("0") == 0
    with pytest.raises(InvalidAmount, match="size must not be negative"):
        parse_non_negative("-1", field="size")


def test_positive_refuses_zero_and_negatives() -> None:
    assert parse_positive("0.01") == Decimal("0.01")
    for bad in ("0", "-3"):
        with pytest.raises(InvalidAmount, match="must be positive"):
            parse_positive(bad)


def test_size_rounds_down_to_the_increment_and_keeps_its_exponent() -> None:
    assert round_size_down(Decimal("1.23456789"), Decimal("0.001")) == Decimal("1.234")
    assert str(round_size_down(Decimal("12.3"), Decimal("0.01"))) == "12.30"


def test_buy_price_rounds_down_and_sell_price_rounds_up() -> None:
    assert round_price(Decimal("100.019"), Decimal("0.01"), side=Side.BUY) == Decimal("100.01")
    assert round_price(Decimal("100.011"), Decimal("0.01"), side=Side.SELL) == Decimal("100.02")


def test_price_already_on_the_tick_is_unchanged() -> None:
    for side in Side:
        assert round_price(Decimal("100.50"), Decimal("0.5"), side=side) == Decimal("100.5")


@pytest.mark.parametrize("increment", [Decimal(0), Decimal(-1), Decimal("NaN")])
def test_a_bad_increment_is_refused(increment: Decimal) -> None:
    with pytest.raises(InvalidAmount, match="increment must be a positive"):
        round_to_increment(Decimal(1), increment, rounding="ROUND_FLOOR")
    with pytest.raises(InvalidAmount):
        is_multiple_of(Decimal(1), increment)


def test_multiple_of_increment_is_exact() -> None:
    assert is_multiple_of(Decimal("0.30"), Decimal("0.1"))
    assert not is_multiple_of(Decimal("0.301"), Decimal("0.1"))


def test_rounding_is_exact_past_28_digits_and_never_passes_the_limit() -> None:
    # value / increment needs 29 digits here: a 28-digit quotient rounds up to 40 steps (10.00 > value).
    just_under_ten = Decimal("9.999999999999999999999999999")
    assert round_size_down(just_under_ten, Decimal("0.25")) == Decimal("9.75")
    assert round_price(just_under_ten, Decimal("0.25"), side=Side.BUY) == Decimal("9.75")
    assert round_price(Decimal("10.000000000000000000000000001"), Decimal("0.25"), side=Side.SELL) == Decimal("10.25")
    assert round_size_down(Decimal("0.99999999999999999999999999999"), Decimal(1)) == 0


@pytest.mark.parametrize(
    ("value", "rounding", "expected"),
    [
        # Both values sit just above a half step; a 28-digit quotient would lose that and land on the half.
        ("9.625000000000000000000000001", "ROUND_HALF_EVEN", "9.75"),
        ("9.875000000000000000000000001", "ROUND_HALF_DOWN", "10.00"),
        ("9.875000000000000000000000001", "ROUND_DOWN", "9.75"),
        ("9.875000000000000000000000001", "ROUND_CEILING", "10.00"),
        ("-9.99", "ROUND_FLOOR", "-10.00"),
        ("-9.99", "ROUND_UP", "-10.00"),
        ("-9.99", "ROUND_CEILING", "-9.75"),
    ],
)
def test_every_rounding_mode_sees_the_exact_quotient(value: str, rounding: str, expected: str) -> None:
    assert round_to_increment(Decimal(value), Decimal("0.25"), rounding=rounding) == Decimal(expected)


def test_multiple_check_works_for_quotients_past_28_digits() -> None:
    assert is_multiple_of(Decimal("1e30"), Decimal("0.00000001"))
    assert not is_multiple_of(Decimal("1000000000000000000000000000000.000000001"), Decimal("0.00000001"))


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity")])
def test_a_value_that_is_not_finite_is_refused_when_rounding(bad: Decimal) -> None:
    with pytest.raises(InvalidAmount, match="must be finite"):
        round_size_down(bad, Decimal("0.01"))
    with pytest.raises(InvalidAmount, match="must be finite"):
        is_multiple_of(bad, Decimal("0.01"))
