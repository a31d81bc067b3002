"""The market: real bars replayed, a seeded random walk, a deep synthetic book, candles and trades."""

from __future__ import annotations

import gzip
import itertools
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from cryptoj.domain.book import BookSide
from cryptoj.sandbox.market import (
    CANDLE_SECONDS,
    DEFAULT_PRODUCTS,
    Bar,
    BarDataError,
    ProductMarket,
    RandomWalk,
    Replay,
    load_bars,
    packaged_bars,
)
from cryptoj.sandbox.market.depth import build_ladder

D = Decimal
TICK = D("0.01")
BTC, ETH, SOL = DEFAULT_PRODUCTS
APRIL_5_2018 = 1522886400  # the first packaged bar's start


def test_packaged_btc_bars_are_two_real_days_with_exact_decimals() -> None:
    bars = packaged_bars("BTC-USD", TICK)
    assert len(bars) == 2880
    # The LEAN file's first row: 0,6791.68,6791.68,6778.01,6778.01,26.84379253
    assert bars[0] == Bar(open=679168, high=679168, low=677801, close=677801, volume=D("26.84379253"))


def test_packaged_eth_bars_are_one_real_day() -> None:
    assert len(packaged_bars("ETH-USD", TICK)) == 1440


def test_replay_plays_the_recorded_bar_of_the_same_time_of_day_and_loops() -> None:
    bars = packaged_bars("BTC-USD", TICK)
    replay = Replay(bars, anchor_minute=0)
    assert replay.bar(APRIL_5_2018 // 60) == bars[0]
    assert replay.bar(APRIL_5_2018 // 60 + 2880 * 10 + 7) == bars[7]


def test_price_inside_a_minute_runs_open_extremes_close() -> None:
    up = Bar(open=100, high=110, low=95, close=105, volume=D(1))
    assert [up.price_at(s) for s in (0, 20, 40, 60)] == [100, 95, 110, 105]
    down = Bar(open=100, high=110, low=95, close=97, volume=D(1))
    assert [down.price_at(s) for s in (0, 20, 40, 60)] == [100, 110, 95, 97]
    assert up.price_at(10) == 98  # halfway from 100 down to 95, rounded


def test_random_walk_is_the_same_for_the_same_seed_and_continuous() -> None:
    def walk(seed: int) -> RandomWalk:
        return RandomWalk(seed=seed, product_id="SOL-USD", start_ticks=8494, anchor_minute=1000)

    a, b = walk(1), walk(1)
    minutes = range(1000 - 3000, 1000 + 3000, 7)
    assert [a.bar(m) for m in minutes] == [b.bar(m) for m in minutes]
    assert a.bar(1000).open == 8494
    for m in range(1000 - 1500, 1000 + 1500):  # each bar opens where the last closed, across blocks
        assert a.bar(m).close == a.bar(m + 1).open
    other = walk(2)
    assert [other.bar(m) for m in minutes] != [a.bar(m) for m in minutes]


def test_random_walk_stays_near_its_start() -> None:
    walk = RandomWalk(seed=3, product_id="SOL-USD", start_ticks=8494, anchor_minute=0)
    closes = [walk.bar(m).close for m in range(0, 1440 * 5, 13)]
    assert all(8494 * 0.5 < c < 8494 * 1.5 for c in closes)
    assert all(walk.bar(m).low <= walk.bar(m).close <= walk.bar(m).high for m in range(500))


def test_random_walk_needs_a_real_start_price() -> None:
    with pytest.raises(BarDataError):
        RandomWalk(seed=1, product_id="X-USD", start_ticks=5, anchor_minute=0)


def test_ladder_has_thousands_of_levels_on_an_absolute_grid() -> None:
    bids = build_ladder(touch=679168, direction=-1, seed=1, unit=1000, second=0, max_levels=5000)
    asks = build_ladder(touch=679169, direction=1, seed=1, unit=1000, second=0, max_levels=5000)
    assert len(bids) > 2000
    assert len(asks) > 2000
    assert max(bids) == 679168
    assert min(asks) == 679169
    far = [p for p in bids if 679168 - p >= 3000 and p not in (1, 100)]
    assert all(p % 100 == 0 for p in far)
    assert all(s > 0 for s in bids.values())


def test_ladder_far_levels_do_not_change_when_the_price_moves_a_little() -> None:
    before = build_ladder(touch=500000, direction=-1, seed=1, unit=10, second=5, max_levels=5000)
    after = build_ladder(touch=500003, direction=-1, seed=1, unit=10, second=5, max_levels=5000)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert 0 < len(changed) < 200


def test_fact_04_far_levels_are_absurd_like_real_ones() -> None:
    asks = build_ladder(touch=679169, direction=1, seed=1, unit=1000, second=0, max_levels=5000)
    bids = build_ladder(touch=679168, direction=-1, seed=1, unit=1000, second=0, max_levels=5000)
    assert max(asks) * TICK == D("138991023.41")
    assert min(bids) * TICK == D("0.01")


def test_ladder_stops_at_price_zero() -> None:
    bids = build_ladder(touch=500, direction=-1, seed=1, unit=10, second=0, max_levels=5000)
    assert min(bids) > 0


@pytest.fixture
def btc_market() -> ProductMarket:
    return ProductMarket(BTC, Replay(packaged_bars("BTC-USD", TICK), anchor_minute=0), seed=1)


def test_the_book_sits_around_the_replayed_price(btc_market: ProductMarket) -> None:
    now = APRIL_5_2018 + 30
    change, _ = btc_market.advance(now)
    assert change is not None
    price = btc_market.to_price(btc_market.price_ticks(now))
    book = btc_market.book
    assert book.best_bid is not None
    assert book.best_ask is not None
    assert book.best_bid.price == price
    assert book.best_ask.price == price + TICK
    assert book.level_count(BookSide.BID) > 2000
    assert not book.is_crossed


def test_book_updates_are_small_between_steps(btc_market: ProductMarket) -> None:
    btc_market.advance(APRIL_5_2018 + 30)
    change, _ = btc_market.advance(APRIL_5_2018 + 31)
    assert change is not None
    assert 0 < len(change.changes) < 300
    again, _ = btc_market.advance(APRIL_5_2018 + 31)  # same moment: nothing moves
    assert again is None


def test_market_trades_print_at_the_touch_newest_first(btc_market: ProductMarket) -> None:
    for second in range(60):
        btc_market.advance(APRIL_5_2018 + second)
    trades = btc_market.recent_trades(100)
    assert trades
    assert trades == sorted(trades, key=lambda t: t.time, reverse=True)
    assert all(t.size > 0 for t in trades)
    assert btc_market.last_price == trades[0].price


def test_finished_candles_aggregate_the_recorded_bars(btc_market: ProductMarket) -> None:
    bars = packaged_bars("BTC-USD", TICK)
    o, h, lo, c, v = btc_market.candle(APRIL_5_2018, 300, now=APRIL_5_2018 + 3600)
    assert o == btc_market.to_price(bars[0].open)
    assert c == btc_market.to_price(bars[4].close)
    assert h == btc_market.to_price(max(b.high for b in bars[:5]))
    assert lo == btc_market.to_price(min(b.low for b in bars[:5]))
    assert v == sum((b.volume for b in bars[:5]), D(0))


def test_the_open_candle_only_holds_what_has_happened(btc_market: ProductMarket) -> None:
    now = APRIL_5_2018 + 90  # 1.5 minutes into the bucket
    _, h, lo, c, v = btc_market.candle(APRIL_5_2018, 300, now=now)
    bars = packaged_bars("BTC-USD", TICK)
    assert c == btc_market.to_price(bars[1].price_at(30))
    assert lo <= c <= h
    assert bars[0].volume < v < bars[0].volume + bars[1].volume


def test_recent_candles_are_oldest_first_five_minute_buckets(btc_market: ProductMarket) -> None:
    candles = btc_market.recent_candles(APRIL_5_2018 + 3000, 10)
    starts = [c.start for c in candles]
    assert starts == sorted(starts)
    assert all(b - a == CANDLE_SECONDS for a, b in itertools.pairwise(starts))


def test_ticker_reports_the_top_of_the_book(btc_market: ProductMarket) -> None:
    btc_market.advance(APRIL_5_2018 + 30)
    ticker = btc_market.ticker(APRIL_5_2018 + 30)
    assert ticker.best_bid == btc_market.book.best_bid.price  # type: ignore[union-attr]
    assert ticker.low_24_h <= ticker.price <= ticker.high_24_h


def test_sol_walk_market_serves_a_book() -> None:
    market = ProductMarket(SOL, RandomWalk(seed=1, product_id="SOL-USD", start_ticks=8494, anchor_minute=0), seed=1)
    market.advance(30)
    assert market.book.best_bid is not None
    assert not market.book.is_crossed


def test_candle_files_load_from_csv_gzip_and_parquet(tmp_path: Path) -> None:
    rows = "start,open,high,low,close,volume\n60,100.00,101.50,99.99,101.00,2.5\n120,101.00,101.00,100.00,100.50,1\n"
    csv_path = tmp_path / "bars.csv"
    csv_path.write_text(rows)
    gz_path = tmp_path / "bars.csv.gz"
    gz_path.write_bytes(gzip.compress(rows.encode()))
    parquet_path = tmp_path / "bars.parquet"
    frame = pd.DataFrame(
        {
            "start": [60, 120],
            "open": ["100.00", "101.00"],
            "high": ["101.50", "101.00"],
            "low": ["99.99", "100.00"],
            "close": ["101.00", "100.50"],
            "volume": ["2.5", "1"],
        }
    )
    frame.to_parquet(parquet_path)
    expected = [
        Bar(open=10000, high=10150, low=9999, close=10100, volume=D("2.5")),
        Bar(open=10100, high=10100, low=10000, close=10050, volume=D("1")),
    ]
    for path in (csv_path, gz_path, parquet_path):
        assert load_bars(path, tick=TICK) == (expected, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("start,open,high,low,close\n60,1,1,1,1\n", "lacks columns"),
        ("start,open,high,low,close,volume\n", "holds no bars"),
        ("start,open,high,low,close,volume\n60,1,x,1,1,1\n", "not a decimal"),
        ("start,open,high,low,close,volume\n60,1.001,1,1,1,1\n", "multiples of 0.01"),
        ("start,open,high,low,close,volume\nnoon,1,1,1,1,1\n", "start is not epoch seconds"),
        # These passed the checks and crashed later (OverflowError, or a negative/NaN traded volume).
        ("start,open,high,low,close,volume\n60,Infinity,1,1,1,1\n", "positive multiples"),
        ("start,open,high,low,close,volume\n60,1,1,1,1,-5\n", "volume"),
        ("start,open,high,low,close,volume\n60,1,1,1,1,NaN\n", "volume"),
        ("start,open,high,low,close,volume\nInfinity,1,1,1,1,1\n", "start is not epoch seconds"),
    ],
)
def test_bad_candle_files_get_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(BarDataError, match=message):
        load_bars(path, tick=TICK)


def test_missing_candle_file_gets_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BarDataError, match="cannot read"):
        load_bars(tmp_path / "absent.csv", tick=TICK)


def test_a_replay_needs_bars() -> None:
    with pytest.raises(BarDataError):
        Replay([], anchor_minute=0)


def test_status_body_names_the_product_rules() -> None:
    body = ETH.status_body()
    assert body["id"] == "ETH-USD"
    assert body["base_increment"] == "0.00000001"
    assert body["status"] == "online"
