"""Product rules: parsing Coinbase's product object, validating intents, rounding intents safely."""

import json
from pathlib import Path

import pytest

from cryptoj.domain.orders import InvalidIntent, OrderIntent, OrderType, StopDirection
from cryptoj.domain.products import (
    InvalidProduct,
    ProductRule,
    ProductRules,
    round_intent,
    split_product_id,
    validate,
)
from cryptoj.domain.side import Side
from tests.utils.fixtures.domain import btc_usd_rules, d, limit, market

CAPTURED = Path(__file__).parents[2] / "data" / "coinbase" / "captured" / "market_product_btc_usd.json"
R = ProductRule


def _rules_of(intent: OrderIntent, rules: ProductRules, **kwargs: object) -> set[ProductRule]:
    return {v.rule for v in validate(intent, rules, **kwargs)}  # type: ignore[arg-type]


def test_rules_parse_from_the_captured_btc_usd_product() -> None:
    body = json.loads(json.loads(CAPTURED.read_text())["response"]["body_text"])
    rules = ProductRules.parse(body)
    assert rules == btc_usd_rules()
    assert rules.accepts_orders


def test_parse_falls_back_to_the_id_for_currencies_and_quote_increment_for_price() -> None:
    rules = ProductRules.parse(
        {
            "product_id": "ETH-EUR",
            "base_increment": "0.0001",
            "quote_increment": "0.01",
            "base_min_size": "0.001",
            "base_max_size": "100",
            "quote_min_size": "1",
            "quote_max_size": "1000",
            "price_increment": "",
        }
    )
    assert (rules.base_currency, rules.quote_currency) == ("ETH", "EUR")
    assert rules.price_tick == d("0.01")
    assert rules.status == "online"


def test_parse_names_a_missing_field_and_a_bad_amount() -> None:
    with pytest.raises(InvalidProduct, match="lacks 'base_increment'"):
        ProductRules.parse({"product_id": "BTC-USD"})
    with pytest.raises(InvalidProduct, match="base_increment must be positive"):
        ProductRules.parse(
            {
                "product_id": "BTC-USD",
                "base_increment": "0",
                "quote_increment": "0.01",
                "base_min_size": "0",
                "base_max_size": "1",
                "quote_min_size": "0",
                "quote_max_size": "1",
            }
        )


def test_rules_refuse_bad_increments_and_inverted_bounds() -> None:
    with pytest.raises(InvalidProduct, match="quote_increment must be positive"):
        btc_usd_rules(quote_increment=d(0))
    with pytest.raises(InvalidProduct, match="base_min_size <= base_max_size"):
        btc_usd_rules(base_min_size=d(5), base_max_size=d(1))


@pytest.mark.parametrize("bad", ["BTCUSD", "-USD", "BTC-", "A-B-C", ""])
def test_product_ids_must_be_base_dash_quote(bad: str) -> None:
    with pytest.raises(InvalidProduct, match="BASE-QUOTE"):
        split_product_id(bad)


def test_a_conforming_intent_has_no_violations(rules: ProductRules) -> None:
    assert validate(limit(Side.BUY, "0.01", "67921.53"), rules) == ()
    assert validate(market(Side.BUY, quote="10.00"), rules, reference_price=d(100)) == ()


def test_every_violation_is_reported_not_just_the_first() -> None:
    rules = btc_usd_rules(trading_disabled=True, limit_only=True, post_only=True, cancel_only=True, status="delisted")
    intent = OrderIntent(
        "ETH-USD", Side.BUY, OrderType.MARKET, base_size=d("0.000000001"), time_in_force="IMMEDIATE_OR_CANCEL"
    )  # type: ignore[arg-type]
    found = _rules_of(intent, rules, reference_price=d(100))
    assert found == {
        R.INVALID_PRODUCT_ID,
        R.TRADING_DISABLED,
        R.UNTRADABLE_PRODUCT,
        R.CANCEL_ONLY,
        R.LIMIT_ONLY,
        R.POST_ONLY_REQUIRED,
        R.INVALID_SIZE_PRECISION,
        R.BASE_SIZE_TOO_SMALL,
        R.QUOTE_SIZE_TOO_SMALL,
    }
    assert all(v.message for v in validate(intent, rules))


def test_is_disabled_counts_as_trading_disabled() -> None:
    rules = btc_usd_rules(is_disabled=True)
    assert not rules.accepts_orders
    assert _rules_of(limit(Side.BUY, "1", "100"), rules) == {R.TRADING_DISABLED}


def test_price_precision_applies_to_limit_and_stop_prices(rules: ProductRules) -> None:
    stop = OrderIntent(
        "BTC-USD",
        Side.BUY,
        OrderType.STOP_LIMIT,
        base_size=d(1),
        limit_price=d("100.001"),
        stop_price=d("99.999"),
        stop_direction=StopDirection.STOP_UP,
    )
    violations = validate(stop, rules)
    assert [v.rule for v in violations] == [R.INVALID_PRICE_PRECISION, R.INVALID_PRICE_PRECISION]
    assert "limit_price" in violations[0].message
    assert "stop_price" in violations[1].message


def test_limit_notional_is_bounded_by_quote_min_and_max(rules: ProductRules) -> None:
    assert _rules_of(limit(Side.BUY, "0.001", "100"), rules) == {R.QUOTE_SIZE_TOO_SMALL}
    assert _rules_of(limit(Side.BUY, "3000", "60000"), rules) == {R.QUOTE_SIZE_TOO_LARGE}
    assert _rules_of(limit(Side.BUY, "3401", "1"), rules) == {R.BASE_SIZE_TOO_LARGE}


def test_quote_sized_orders_check_quote_precision_and_implied_base(rules: ProductRules) -> None:
    assert _rules_of(market(Side.BUY, quote="10.001"), rules) == {R.INVALID_QUOTE_SIZE_PRECISION}
    assert _rules_of(market(Side.BUY, quote="0.50"), rules) == {R.QUOTE_SIZE_TOO_SMALL}
    assert _rules_of(market(Side.BUY, quote="200000000"), rules, reference_price=d(1)) == {
        R.QUOTE_SIZE_TOO_LARGE,
        R.BASE_SIZE_TOO_LARGE,
    }


def test_without_a_reference_price_a_base_sized_market_order_skips_notional_checks(rules: ProductRules) -> None:
    assert validate(market(Side.SELL, base="0.00000001"), rules) == ()
    assert _rules_of(market(Side.SELL, base="0.00000001"), rules, reference_price=d(100)) == {R.QUOTE_SIZE_TOO_SMALL}


def test_post_only_product_accepts_post_only_limits(rules: ProductRules) -> None:
    post_only_rules = btc_usd_rules(post_only=True)
    assert validate(limit(Side.SELL, "1", "100", post_only=True), post_only_rules) == ()


def test_round_intent_rounds_size_down_buy_price_down_sell_price_up(rules: ProductRules) -> None:
    buy = round_intent(limit(Side.BUY, "0.123456789", "100.019"), rules)
    assert (buy.base_size, buy.limit_price) == (d("0.12345678"), d("100.01"))
    sell = round_intent(limit(Side.SELL, "1", "100.011"), rules)
    assert sell.limit_price == d("100.02")
    assert validate(buy, rules) == ()


def test_round_intent_rounds_quote_size_and_stop_price(rules: ProductRules) -> None:
    assert round_intent(market(Side.BUY, quote="10.019"), rules).quote_size == d("10.01")
    stop = OrderIntent(
        "BTC-USD",
        Side.SELL,
        OrderType.STOP_LIMIT,
        base_size=d(1),
        limit_price=d("90.001"),
        stop_price=d("91.001"),
        stop_direction=StopDirection.STOP_DOWN,
    )
    rounded = round_intent(stop, rules)
    assert (rounded.limit_price, rounded.stop_price) == (d("90.01"), d("91.01"))


@pytest.mark.parametrize(
    ("side", "direction", "expected"),
    [
        (Side.BUY, StopDirection.STOP_UP, "100.00"),
        (Side.SELL, StopDirection.STOP_UP, "100.00"),  # was rounded up, by side: it fired a tick late
        (Side.SELL, StopDirection.STOP_DOWN, "100.01"),
        (Side.BUY, StopDirection.STOP_DOWN, "100.01"),  # was rounded down, by side: it fired a tick late
    ],
)
def test_round_intent_rounds_a_stop_by_its_direction_so_it_never_fires_later(
    rules: ProductRules, side: Side, direction: StopDirection, expected: str
) -> None:
    # A stop-up fires as the price rises to it, a stop-down as it falls: rounding toward the price it comes
    # from makes it fire at, or a tick before, the stop asked for, whichever side the order trades.
    intent = OrderIntent(
        "BTC-USD",
        side,
        OrderType.STOP_LIMIT,
        base_size=d(1),
        limit_price=d(100),
        stop_price=d("100.005"),
        stop_direction=direction,
    )
    assert round_intent(intent, rules).stop_price == d(expected)


def test_round_intent_refuses_a_size_or_price_that_rounds_to_zero(rules: ProductRules) -> None:
    with pytest.raises(InvalidIntent, match=r"base_size .* rounds down to zero"):
        round_intent(limit(Side.BUY, "0.000000001", "100"), rules)
    with pytest.raises(InvalidIntent, match=r"price .* rounds down to zero"):
        round_intent(limit(Side.BUY, "1", "0.001"), rules)
    stop = OrderIntent(
        "BTC-USD",
        Side.SELL,
        OrderType.STOP_LIMIT,
        base_size=d(1),
        limit_price=d(1),
        stop_price=d("0.001"),
        stop_direction=StopDirection.STOP_UP,
    )
    with pytest.raises(InvalidIntent, match=r"stop price .* rounds down to zero"):
        round_intent(stop, rules)


def test_state_flags_must_be_real_booleans() -> None:
    body = json.loads(json.loads(CAPTURED.read_text())["response"]["body_text"])
    with pytest.raises(InvalidProduct, match="trading_disabled must be true or false"):
        ProductRules.parse({**body, "trading_disabled": "false"})


def test_rules_offer_validate_and_round_as_methods(rules: ProductRules) -> None:
    intent = limit(Side.SELL, "0.123456789", "100.001")
    assert {v.rule for v in rules.validate(intent)} == {R.INVALID_SIZE_PRECISION, R.INVALID_PRICE_PRECISION}
    assert rules.validate(rules.round(intent)) == ()
