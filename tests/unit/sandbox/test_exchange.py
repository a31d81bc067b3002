"""`SandboxExchange` as the WebSocket feed's source, and how `cryptoj sandbox serve` builds it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from cryptoj.coinbase.auth import build_ws_jwt
from cryptoj.errors import ConfigurationError
from cryptoj.sandbox.cli import build_exchange
from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.events import BookChanged, CandleUpdated, OrderUpdated, TickerUpdated, TradePrinted
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.faults import FaultConfig
from cryptoj.sandbox.keys import generate_key, write_key_file

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def key_name() -> str:
    return "organizations/o/apiKeys/k"


@pytest.fixture
def exchange() -> SandboxExchange:
    return SandboxExchange(seed=5, clock=SimClock(start=START, speed=0))


def test_feed_source_answers_for_every_product(exchange: SandboxExchange) -> None:
    assert exchange.product_ids() == ["BTC-USD", "ETH-USD", "SOL-USD"]
    assert [p["id"] for p in exchange.status_products()] == exchange.product_ids()
    assert exchange.now() == START
    for pid in exchange.product_ids():
        book = exchange.book(pid)
        assert book.best_bid is not None
        ticker = exchange.ticker(pid)
        assert isinstance(ticker, TickerUpdated)
        assert ticker.best_bid == book.best_bid.price
        candles = exchange.recent_candles(pid, 100)
        assert len(candles) == 100
        assert [c.start for c in candles] == sorted(c.start for c in candles)
    with pytest.raises(KeyError):
        exchange.book("NOPE-USD")


def test_stepping_publishes_book_trade_candle_and_ticker_events(exchange: SandboxExchange) -> None:
    async def collect() -> list[object]:
        async with exchange.hub.subscribe() as queue:
            exchange.advance(5)
            return [queue.get_nowait() for _ in range(queue.qsize())]

    events = asyncio.run(collect())
    kinds = {type(e) for e in events}
    assert {BookChanged, TradePrinted, CandleUpdated, TickerUpdated} <= kinds
    assert exchange.recent_trades("BTC-USD", 3)


def test_orders_publish_user_channel_updates_and_show_as_open_orders(exchange: SandboxExchange, key_name: str) -> None:
    async def place() -> list[object]:
        async with exchange.hub.subscribe() as queue:
            exchange.engine.create(
                key_name,
                {
                    "client_order_id": "o1",
                    "product_id": "ETH-USD",
                    "side": "BUY",
                    "order_configuration": {"limit_limit_gtc": {"base_size": "0.1", "limit_price": "10.00"}},
                },
                now=exchange.now(),
            )
            return [queue.get_nowait() for _ in range(queue.qsize())]

    updates = [e for e in asyncio.run(place()) if isinstance(e, OrderUpdated)]
    assert [u.order["status"] for u in updates] == ["PENDING", "OPEN"]
    assert updates[0].owner == key_name
    (open_order,) = exchange.open_orders(key_name)
    assert open_order["client_order_id"] == "o1"
    assert open_order["post_only"] == "false"
    assert exchange.open_orders("someone-else") == []


def test_user_fills_print_as_market_trades(exchange: SandboxExchange, key_name: str) -> None:
    exchange.engine.create(
        key_name,
        {
            "client_order_id": "m1",
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"market_market_ioc": {"base_size": "0.01"}},
        },
        now=exchange.now(),
    )
    newest = exchange.recent_trades("BTC-USD", 1)[0]
    assert newest.size == Decimal("0.01")
    assert newest.maker_side.value == "SELL"  # the user took the ask


def test_websocket_auth_and_faults(exchange: SandboxExchange) -> None:
    key = generate_key()
    name = exchange.trust(key)
    assert exchange.authenticate_ws(build_ws_jwt(key)) == name
    with pytest.raises(ValueError, match="authentication failure"):
        exchange.authenticate_ws("garbage")
    assert exchange.ws_fault("drop") is False
    exchange.faults.configure(FaultConfig(ws_drop_rate=1.0, ws_sequence_gap_rate=1.0))
    assert exchange.ws_fault("drop") is True
    assert exchange.ws_fault("sequence_gap") is True


def test_run_steps_until_cancelled(exchange: SandboxExchange) -> None:
    async def run_briefly() -> int:
        async with exchange.hub.subscribe() as queue:
            task = asyncio.create_task(exchange.run(interval=0.01))
            first = await asyncio.wait_for(queue.get(), timeout=5)
            task.cancel()
            return queue.qsize() + (first is not None)

    exchange.clock.advance(1)
    assert asyncio.run(run_briefly()) > 0


def test_candle_data_for_an_unknown_product_is_refused(tmp_path: Path) -> None:
    # A ConfigurationError, so `cryptoj sandbox serve --data DOGE-USD=F` prints it instead of a traceback.
    with pytest.raises(ConfigurationError, match="unknown products"):
        SandboxExchange(data={"DOGE-USD": tmp_path / "x.csv"})


@pytest.mark.parametrize("speed", [-1.0, float("nan"), float("inf")])
def test_serve_refuses_a_clock_speed_it_cannot_run(tmp_path: Path, speed: float) -> None:
    with pytest.raises(ConfigurationError, match="--speed"):
        build_exchange(keys=[], seed=1, data=[], speed=speed, home=tmp_path)


def test_a_data_file_replaces_the_default_prices(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("start,open,high,low,close,volume\n0,50000.00,50000.00,50000.00,50000.00,1\n")
    exchange = SandboxExchange(data={"BTC-USD": path}, clock=SimClock(start=START, speed=0))
    assert exchange.last_price("BTC-USD") == Decimal("50000.00")


def test_serve_makes_a_key_once_and_then_reuses_it(tmp_path: Path) -> None:
    exchange, note = build_exchange(keys=[], seed=1, data=[], speed=1.0, home=tmp_path)
    assert "Made a new key" in note
    assert len(exchange.keys) == 1
    again, note = build_exchange(keys=[], seed=1, data=[], speed=1.0, home=tmp_path)
    assert note.startswith("Trusting the key in")
    assert again.keys.names() == exchange.keys.names()


def test_serve_trusts_the_given_key_files(tmp_path: Path) -> None:
    files = []
    for i, ed25519 in enumerate((False, True)):
        files.append(tmp_path / f"k{i}.json")
        write_key_file(generate_key(ed25519_key=ed25519), files[-1])
    exchange, note = build_exchange(keys=files, seed=1, data=[], speed=1.0, home=tmp_path)
    assert note == ""
    assert len(exchange.keys) == 2
    assert not (tmp_path / "sandbox-key.json").exists()
    with pytest.raises(ConfigurationError):
        build_exchange(keys=[tmp_path / "missing.json"], seed=1, data=[], speed=1.0, home=tmp_path)


def test_serve_refuses_a_certificate_without_its_key(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cryptoj.sandbox.cli import sandbox_app

    result = CliRunner().invoke(sandbox_app, ["serve", "--certfile", str(tmp_path / "c.pem")])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigurationError)


def test_serve_applies_fault_files_and_request_budgets(tmp_path: Path, exchange: SandboxExchange) -> None:
    from cryptoj.sandbox.cli import configure_limits
    from cryptoj.sandbox.faults import FaultConfigError

    path = tmp_path / "faults.json"
    path.write_text('{"seed": 4, "order_failed_rate": 1.0}')
    configure_limits(exchange, faults=path, private_rate=5, public_rate=2)
    assert exchange.faults.config.order_failed_rate == 1.0
    assert exchange.limiter.private_per_second == 5
    order = exchange.engine.create(
        "k",
        {
            "client_order_id": "f1",
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"limit_limit_gtc": {"base_size": "0.01", "limit_price": "10.00"}},
        },
        now=exchange.now(),
    )
    assert order.status.value == "FAILED"
    with pytest.raises(ConfigurationError):
        configure_limits(exchange, faults=None, private_rate=0, public_rate=1)
    path.write_text("{not json")
    with pytest.raises(FaultConfigError, match="cannot read"):
        configure_limits(exchange, faults=path, private_rate=5, public_rate=2)


def test_accounts_and_order_ids_are_the_same_under_the_same_seed(key_name: str) -> None:
    def run(seed: int) -> tuple[list[str], str, list[tuple[str, Decimal]]]:
        exchange = SandboxExchange(seed=seed, clock=SimClock(start=START, speed=0))
        accounts = exchange.ledger.accounts(key_name)
        order = exchange.engine.create(
            key_name,
            {
                "client_order_id": "d1",
                "product_id": "SOL-USD",
                "side": "BUY",
                "order_configuration": {"market_market_ioc": {"quote_size": "100.00"}},
            },
            now=exchange.now(),
        )
        return [a.uuid for a in accounts], order.order_id, [(a.currency, a.balance) for a in accounts]

    first, again, other = run(11), run(11), run(12)
    assert first == again
    assert first[0] != other[0]
    assert first[1] != other[1]
    assert dict(first[2])["USD"] < Decimal("100000")


def test_a_fast_clock_step_triggers_a_stop_any_printed_trade_reached(key_name: str) -> None:
    def fresh() -> SandboxExchange:
        return SandboxExchange(seed=5, clock=SimClock(start=START, speed=0))

    # Find a jump after which the highest print lies above both the start price and the final one.
    probe = fresh()
    start_price = probe.last_price("BTC-USD")
    for seconds in range(10, 60):
        probe = fresh()
        probe.advance(seconds)
        prints = [t.price for t in probe.recent_trades("BTC-USD", 1000) if t.time > START]
        high, last = max(prints), probe.last_price("BTC-USD")
        if high > max(last, start_price):
            break
    else:  # pragma: no cover - the packaged bars move within a minute
        pytest.fail("no jump with a spike found")
    exchange = fresh()
    config = {"base_size": "0.001", "limit_price": str(high * 2), "stop_price": str(high)}
    order = exchange.engine.create(
        key_name,
        {
            "client_order_id": "stop-1",
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"stop_limit_stop_limit_gtc": config | {"stop_direction": "STOP_DIRECTION_STOP_UP"}},
        },
        now=exchange.now(),
    )
    exchange.advance(seconds)
    assert exchange.last_price("BTC-USD") < high  # the last print alone would not have fired it
    assert order.trigger_status == "STOP_TRIGGERED"
