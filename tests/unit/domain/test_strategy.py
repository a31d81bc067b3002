"""Strategies: the protocol, moving-average crossover, rebalance to weights, intents rounded to product rules."""

from datetime import timedelta
from decimal import Decimal

import pytest

from cryptoj.domain.orders import OrderType, TimeInForce
from cryptoj.domain.positions import Portfolio
from cryptoj.domain.products import ProductRules
from cryptoj.domain.side import Side
from cryptoj.domain.strategy import (
    Candle,
    MarketData,
    MovingAverageCrossover,
    RebalanceToWeights,
    Strategy,
    StrategyError,
    intents_toward,
)
from tests.utils.fixtures.domain import T0, btc_usd_rules, d, fill, real_candles

RULES = {"BTC-USD": btc_usd_rules(), "ETH-USD": btc_usd_rules(product_id="ETH-USD", base_currency="ETH")}


def _candles(closes: list[int]) -> list[Candle]:
    return [Candle(T0 + timedelta(minutes=i), d(c), d(c), d(c), d(c), d(1)) for i, c in enumerate(closes)]


def _holding(btc: str = "0", cash: str = "1000") -> Portfolio:
    portfolio = Portfolio(cash={"USD": d(cash) + d(btc) * 100})
    if Decimal(btc):
        portfolio.apply(fill(Side.BUY, btc, "100"))
    return portfolio


def test_builtins_satisfy_the_strategy_protocol() -> None:
    ma = MovingAverageCrossover(product_id="BTC-USD", fast=2, slow=4, allocation=d(300))
    assert isinstance(ma, Strategy)
    assert isinstance(RebalanceToWeights(weights={"BTC-USD": d("0.5")}), Strategy)
    assert ma.name == "ma-crossover"


def test_ma_crossover_holds_the_allocation_when_fast_is_above_slow() -> None:
    strategy = MovingAverageCrossover(product_id="BTC-USD", fast=2, slow=4, allocation=d(300))
    rising = MarketData(prices={"BTC-USD": d(120)}, candles={"BTC-USD": _candles([100, 100, 110, 120])})
    assert strategy.signal(rising.candles["BTC-USD"]) is True
    assert strategy.targets(rising, _holding()) == {"BTC-USD": d("2.5")}


def test_ma_crossover_goes_flat_when_fast_is_below_slow() -> None:
    strategy = MovingAverageCrossover(product_id="BTC-USD", fast=2, slow=4, allocation=d(300))
    falling = MarketData(prices={"BTC-USD": d(80)}, candles={"BTC-USD": _candles([120, 110, 90, 80])})
    assert strategy.targets(falling, _holding("1")) == {"BTC-USD": d(0)}


def test_ma_crossover_keeps_the_holding_without_enough_history() -> None:
    strategy = MovingAverageCrossover(product_id="BTC-USD", fast=2, slow=4, allocation=d(300))
    short = MarketData(prices={"BTC-USD": d(100)}, candles={"BTC-USD": _candles([100, 101])})
    assert strategy.signal(short.candles["BTC-USD"]) is None
    assert strategy.targets(short, _holding("0.5")) == {"BTC-USD": d("0.5")}


def test_ma_crossover_decides_on_the_exact_decimal_closes() -> None:
    # As floats these closes are all 1.0 and the averages tie; in Decimal the fast one is above the slow one.
    strategy = MovingAverageCrossover(product_id="BTC-USD", fast=2, slow=4, allocation=d(300))
    closes = ["1", "1", "1.00000000000000001", "1.00000000000000001"]
    candles = [Candle(T0 + timedelta(minutes=i), d(c), d(c), d(c), d(c), d(1)) for i, c in enumerate(closes)]
    assert strategy.signal(candles) is True
    assert strategy.signal(list(reversed(candles))) is True  # ordered by time, whatever order they came in
    # Exact at any magnitude: 28 digits would round these two sums to the same value.
    wide = MovingAverageCrossover(product_id="BTC-USD", fast=1, slow=2, allocation=d(300))
    closes = ["1E+30", "1000000000000000000000000000000.000000000000000000000000000001"]
    candles = [Candle(T0 + timedelta(minutes=i), d(c), d(c), d(c), d(c), d(1)) for i, c in enumerate(closes)]
    assert wide.signal(candles) is True


@pytest.mark.parametrize(
    "bad",
    [("NaN",), ("sNaN",), ("Infinity",), ("-Infinity",), ("Infinity", "-Infinity")],
    ids=["nan", "signalling-nan", "infinity", "minus-infinity", "infinities-that-cancel"],
)
def test_ma_crossover_refuses_a_close_that_is_not_a_number(bad: tuple[str, ...]) -> None:
    strategy = MovingAverageCrossover(product_id="BTC-USD", fast=2, slow=4, allocation=d(300))
    candles = _candles([100, 100, 100, 100])
    for index, text in enumerate(bad):  # the oldest candles: outside the fast window, inside the slow one
        candles[index] = Candle(candles[index].start, d(100), d(100), d(100), Decimal(text), d(1))
    with pytest.raises(StrategyError, match="close is not a finite number"):
        strategy.signal(candles)


def _float_signal(closes: list[Decimal], fast: int, slow: int) -> bool:
    """The signal as it was decided before it moved to Decimal: pandas means of float closes."""
    import pandas as pd

    series = pd.Series([float(c) for c in closes[-slow:]])
    return bool(series.rolling(fast).mean().iloc[-1] > series.mean())


@pytest.mark.parametrize(("product_id", "fast", "slow"), [("BTC-USD", 5, 20), ("ETH-USD", 12, 50)])
def test_ma_crossover_decides_as_before_on_real_closes(product_id: str, fast: int, slow: int) -> None:
    candles = real_candles(product_id)
    strategy = MovingAverageCrossover(product_id="BTC-USD", fast=fast, slow=slow, allocation=d(300))
    decisions = [strategy.signal(candles[end - slow : end]) for end in range(slow, len(candles) + 1)]
    closes = [c.close for c in candles]
    expected = [_float_signal(closes[end - slow : end], fast, slow) for end in range(slow, len(candles) + 1)]
    assert decisions == expected
    assert 0.2 < sum(expected) / len(expected) < 0.8  # the data crosses both ways: a real test of both answers


@pytest.mark.parametrize(("fast", "slow", "allocation"), [(0, 3, "1"), (3, 3, "1"), (2, 3, "0"), (2, 3, "NaN")])
def test_ma_crossover_refuses_a_bad_configuration(fast: int, slow: int, allocation: str) -> None:
    with pytest.raises(StrategyError):
        MovingAverageCrossover(product_id="BTC-USD", fast=fast, slow=slow, allocation=Decimal(allocation))


def test_rebalance_targets_each_weight_of_equity() -> None:
    strategy = RebalanceToWeights(weights={"BTC-USD": d("0.5"), "ETH-USD": d("0.25")})
    market = MarketData(prices={"BTC-USD": d(100), "ETH-USD": d(10)})
    assert strategy.targets(market, _holding()) == {"BTC-USD": d(5), "ETH-USD": d(25)}


def test_rebalance_leaves_a_product_inside_its_band_alone() -> None:
    strategy = RebalanceToWeights(weights={"BTC-USD": d("0.5")}, band=d("0.05"))
    portfolio = _holding("5.2", cash="480")  # 520 of 1000 equity: 52%, inside 50% +/- 5% of 50%
    market = MarketData(prices={"BTC-USD": d(100)})
    assert strategy.targets(market, portfolio) == {"BTC-USD": d("5.2")}


def test_rebalance_band_is_a_fraction_of_each_target() -> None:
    # 53% against a 50% target strays 6% of it: out of a 5% band, though only 3 points of equity.
    strategy = RebalanceToWeights(weights={"BTC-USD": d("0.5")}, band=d("0.05"))
    market = MarketData(prices={"BTC-USD": d(100)})
    assert strategy.targets(market, _holding("5.3", cash="470")) == {"BTC-USD": d(5)}


def test_rebalance_over_a_hundred_products_buys_each_small_weight() -> None:
    products = [f"P{i}-USD" for i in range(100)]
    strategy = RebalanceToWeights(weights={pid: d("0.005") for pid in products})
    market = MarketData(prices=dict.fromkeys(products, d(10)))
    targets = strategy.targets(market, Portfolio(cash={"USD": d(1000)}))
    assert targets == dict.fromkeys(products, d("0.5"))  # 0.5 % of 1000 at 10 each


def test_rebalance_sells_a_product_weighted_zero_whatever_it_holds() -> None:
    strategy = RebalanceToWeights(weights={"BTC-USD": d(0)})
    market = MarketData(prices={"BTC-USD": d(100)})
    assert strategy.targets(market, _holding("0.1", cash="990")) == {"BTC-USD": d(0)}


@pytest.mark.parametrize(
    ("weights", "band", "message"),
    [
        ({}, "0.01", "at least one weight"),
        ({"BTC-USD": d("0.7"), "ETH-USD": d("0.4")}, "0.01", "more than 1"),
        ({"BTC-USD": d("-0.1")}, "0.01", "zero or positive"),
        ({"BTC-USD": d("0.5")}, "1", "band must be"),
    ],
)
def test_rebalance_refuses_a_bad_configuration(weights: dict[str, Decimal], band: str, message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        RebalanceToWeights(weights=weights, band=Decimal(band))


def test_rebalance_needs_positive_equity_and_prices() -> None:
    strategy = RebalanceToWeights(weights={"BTC-USD": d("0.5")})
    with pytest.raises(StrategyError, match="nothing to rebalance"):
        strategy.targets(MarketData(prices={"BTC-USD": d(100)}), Portfolio())
    with pytest.raises(StrategyError, match="no usable price for BTC-USD"):
        strategy.targets(MarketData(prices={}), _holding())


def test_intents_sell_first_and_round_sizes_down_to_the_increment() -> None:
    portfolio = _holding("2")
    market = MarketData(prices={"BTC-USD": d(100), "ETH-USD": d(3)})
    targets = {"BTC-USD": d("0.5"), "ETH-USD": d("10") / d(3)}
    intents = intents_toward(targets, portfolio, RULES, market)
    assert [(i.product_id, i.side, i.base_size) for i in intents] == [
        ("BTC-USD", Side.SELL, d("1.5")),
        ("ETH-USD", Side.BUY, d("3.33333333")),
    ]
    assert all(i.order_type is OrderType.MARKET and i.time_in_force is TimeInForce.IMMEDIATE_OR_CANCEL for i in intents)


def test_intents_skip_trades_below_product_minimums_and_cap_at_the_maximum() -> None:
    rules = {"BTC-USD": btc_usd_rules(base_max_size=d(1))}
    market = MarketData(prices={"BTC-USD": d(100)})
    assert intents_toward({"BTC-USD": d("0.005")}, _holding(), rules, market) == []  # 0.50 USD < 1 USD minimum
    assert intents_toward({"BTC-USD": d(0)}, _holding(), rules, market) == []
    capped = intents_toward({"BTC-USD": d(5)}, _holding(), rules, market)
    assert capped[0].base_size == d(1)


def test_intents_refuse_unknown_products_and_short_targets() -> None:
    market = MarketData(prices={"BTC-USD": d(100)})
    with pytest.raises(StrategyError, match="no product rules for SOL-USD"):
        intents_toward({"SOL-USD": d(1)}, _holding(), RULES, market)
    with pytest.raises(StrategyError, match="spot cannot go short"):
        intents_toward({"BTC-USD": d(-1)}, _holding(), RULES, market)


def test_a_strategy_end_to_end_yields_valid_rounded_intents(rules: ProductRules) -> None:
    from cryptoj.domain.products import validate

    strategy = MovingAverageCrossover(product_id="BTC-USD", fast=2, slow=3, allocation=d("333.33"))
    market = MarketData(prices={"BTC-USD": d("67921.53")}, candles={"BTC-USD": _candles([1, 2, 3])})
    intents = intents_toward(strategy.targets(market, _holding()), _holding(), {"BTC-USD": rules}, market)
    assert len(intents) == 1
    assert validate(intents[0], rules, reference_price=d("67921.53")) == ()


def test_ma_crossover_orders_candles_by_time_whatever_order_they_arrive_in() -> None:
    strategy = MovingAverageCrossover(product_id="BTC-USD", fast=2, slow=4, allocation=d(300))
    oldest_first = _candles([100, 100, 100, 100, 110, 120])
    assert strategy.signal(oldest_first) is True
    assert strategy.signal(list(reversed(oldest_first))) is True  # REST candles come newest first


def test_rebalance_refuses_products_quoted_in_another_currency() -> None:
    with pytest.raises(StrategyError, match="not quoted in USD: BTC-EUR"):
        RebalanceToWeights(weights={"BTC-EUR": d("0.5")})


def test_rebalance_needs_no_price_for_a_product_once_held_and_now_flat() -> None:
    portfolio = _holding(cash="1000")
    portfolio.apply(fill(Side.BUY, "1", "10", product_id="SOL-USD", trade_id="s1"))
    portfolio.apply(fill(Side.SELL, "1", "10", product_id="SOL-USD", trade_id="s2"))
    strategy = RebalanceToWeights(weights={"BTC-USD": d("0.5")})
    # SOL-USD is flat: it is worth nothing whatever its price, so a missing price must not stop the strategy.
    assert strategy.targets(MarketData(prices={"BTC-USD": d(100)}), portfolio) == {"BTC-USD": d(5)}
    portfolio.apply(fill(Side.BUY, "1", "10", product_id="SOL-USD", trade_id="s3"))
    with pytest.raises(StrategyError, match="no usable price for SOL-USD"):
        strategy.targets(MarketData(prices={"BTC-USD": d(100)}), portfolio)


def test_ma_crossover_leaves_a_holding_within_its_band_alone() -> None:
    # Holding 2.5 BTC bought for the 300 allocation; the signal stays on while the price moves.
    strategy = MovingAverageCrossover(product_id="BTC-USD", fast=2, slow=4, allocation=d(300), band=d("0.05"))
    candles = _candles([100, 100, 110, 120])
    near = MarketData(prices={"BTC-USD": d(124)}, candles={"BTC-USD": candles})  # worth 310: within 5%
    far = MarketData(prices={"BTC-USD": d(130)}, candles={"BTC-USD": candles})  # worth 325: outside
    held = _holding("2.5")
    assert strategy.targets(near, held) == {"BTC-USD": d("2.5")}  # no trade for a few dollars of drift
    assert strategy.targets(far, held) == {"BTC-USD": d(300) / d(130)}


def test_ma_crossover_reads_candles_newest_first_as_rest_sends_them() -> None:
    strategy = MovingAverageCrossover(product_id="BTC-USD", fast=2, slow=4, allocation=d(300))
    for closes in ([100, 100, 110, 120], [120, 110, 90, 80], [100, 120, 100, 120, 100]):
        oldest_first = _candles(closes)
        assert strategy.signal(list(reversed(oldest_first))) == strategy.signal(oldest_first)


def test_ma_crossover_refuses_a_band_outside_zero_to_one() -> None:
    with pytest.raises(StrategyError, match="band"):
        MovingAverageCrossover(product_id="BTC-USD", fast=2, slow=4, allocation=d(300), band=d(1))
