"""The services' less travelled paths, each against the real parts: the store, the sandbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, event

from cryptoj.coinbase.errors import CoinbaseError
from cryptoj.config import load_settings
from cryptoj.domain.orders import InvalidIntent, Order, OrderIntent, OrderStatus, OrderType, StopDirection, TimeInForce
from cryptoj.domain.paper import FeeRates
from cryptoj.domain.risk import RiskLimits
from cryptoj.domain.side import Side
from cryptoj.domain.strategy import MovingAverageCrossover, RebalanceToWeights
from cryptoj.services.backtest import packaged_candles, run_backtest
from cryptoj.services.executor import OrderKey, Outcome
from cryptoj.services.ledger import record_outcome
from cryptoj.services.market_data import MarketDataService
from cryptoj.services.runtime import open_runtime
from cryptoj.services.trading import strategies_for
from cryptoj.store import UnitOfWork, UnknownReference
from tests.utils.fixtures.sandbox import SandboxHandle
from tests.utils.fixtures.services import limit, market, service_settings
from tests.utils.fixtures.store import T0, btc_rules, store_products
from tests.utils.helpers.wire import RecordingTransport

pytestmark = pytest.mark.integration


def test_news_of_an_order_the_store_lacks_is_refused(store_engine: Engine) -> None:
    with pytest.raises(UnknownReference, match="not stored"):
        record_outcome(store_engine, "never-stored", at=T0, status=OrderStatus.OPEN)


def test_a_late_report_does_not_move_an_order_back(store_engine: Engine) -> None:
    store_products(store_engine, "BTC-USD")
    order = Order(client_order_id="late", intent=market(), created_at=T0)
    order.transition(OrderStatus.SUBMITTING, at=T0)
    with UnitOfWork(store_engine) as uow:
        uow.orders.save(order)
        uow.commit()
    record_outcome(store_engine, "late", at=T0, status=OrderStatus.CANCELLED, reason="IOC remainder")
    after = record_outcome(store_engine, "late", at=T0 + timedelta(seconds=1), status=OrderStatus.OPEN)
    assert after.order.status is OrderStatus.CANCELLED  # an OPEN report that arrives late changes nothing


async def test_an_intent_is_placed_only_with_its_own_products_rules(sandbox: SandboxHandle, tmp_path: Path) -> None:
    async with open_runtime(service_settings(tmp_path, sandbox)) as rt:
        with pytest.raises(InvalidIntent, match="rules are for BTC-USD"):
            await rt.executor.place(
                market("ETH-USD"), key=OrderKey("c", "t", 0), rules=btc_rules(), marks={"ETH-USD": Decimal(1)}
            )


async def test_preview_and_lookups_read_the_exchange(sandbox: SandboxHandle, tmp_path: Path) -> None:
    async with open_runtime(service_settings(tmp_path, sandbox, execution="live")) as rt:
        preview = await rt.exchange.preview(market(size="0.01"))
        absent = await rt.exchange.find_order("no-such-id", product_id="BTC-USD", since=datetime.now(UTC))
        none = await rt.exchange.fills([])
    assert preview.accepted
    assert preview.total is not None
    assert preview.total > 0
    assert absent is None
    assert none == []


@pytest.mark.parametrize("execution", ["paper", "live"])
async def test_a_stop_limit_waits_for_its_stop_and_a_quote_sized_sell_sells_what_the_quote_buys(
    sandbox: SandboxHandle, tmp_path: Path, execution: str
) -> None:
    settings = service_settings(tmp_path, sandbox, execution=execution)
    async with open_runtime(settings) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        quote = (await rt.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"]
        assert quote.bid is not None
        assert quote.mid is not None
        marks = {"BTC-USD": quote.mid}
        stop = (quote.bid * Decimal("0.98")).quantize(Decimal("0.01"))
        waiting = OrderIntent(
            "BTC-USD", Side.SELL, OrderType.STOP_LIMIT, base_size=Decimal("0.001"), limit_price=stop - 10,
            stop_price=stop, stop_direction=StopDirection.STOP_DOWN,
        )  # fmt: skip
        await rt.executor.place(market(size="0.02"), key=OrderKey("c", "t", 0), rules=rules, marks=marks)
        stopped = await rt.executor.place(waiting, key=OrderKey("c", "t", 1), rules=rules, marks=marks)
        sell = OrderIntent(
            "BTC-USD",
            Side.SELL,
            OrderType.MARKET,
            quote_size=Decimal(50),
            time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
        )
        sold = await rt.executor.place(sell, key=OrderKey("c", "t", 2), rules=rules, marks=marks)
    assert stopped.order.status is OrderStatus.OPEN  # below the market: waiting for its stop
    assert stopped.new_fills == ()
    assert sold.outcome is Outcome.ACCEPTED
    assert sold.order.filled_value <= Decimal(50)
    assert sold.order.filled_value > Decimal(49)


async def test_paper_refuses_to_sell_what_it_does_not_hold(sandbox: SandboxHandle, tmp_path: Path) -> None:
    async with open_runtime(service_settings(tmp_path, sandbox)) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        mid = (await rt.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"].mid
        assert mid is not None
        resting = await rt.executor.place(
            limit((mid * Decimal("1.03")).quantize(Decimal("0.01")), side=Side.SELL, size="0.001"),
            key=OrderKey("c", "t", 0),
            rules=rules,
            marks={"BTC-USD": mid},
        )
    assert resting.outcome is Outcome.REJECTED
    assert resting.order.reason is not None
    assert "INSUFFICIENT_FUND" in resting.order.reason


async def test_a_paper_order_is_stored_with_its_outcome_in_one_transaction(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    # A paper order sends nothing: no other transaction may hold its intent without its outcome.
    async with open_runtime(service_settings(tmp_path, sandbox)) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        mid = (await rt.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"].mid
        assert mid is not None
        commits: list[str] = []
        event.listen(rt.engine, "commit", lambda connection: commits.append("commit"))
        placed = await rt.executor.place(
            market(size="0.001"), key=OrderKey("c", "t", 0), rules=rules, marks={"BTC-USD": mid}
        )
    assert placed.outcome is Outcome.ACCEPTED
    assert placed.order.status is OrderStatus.FILLED
    assert [change.status for change in placed.order.history] == [
        OrderStatus.CREATED,
        OrderStatus.SUBMITTING,
        OrderStatus.FILLED,
    ]
    assert commits == ["commit"]  # the intent, its fills, the position and the status at once


def test_a_backtest_that_never_trades_has_no_sharpe_and_no_exposure() -> None:
    result = run_backtest(
        {"BTC-USD": packaged_candles("BTC-USD")[:60]},
        strategies=[MovingAverageCrossover("BTC-USD", fast=50, slow=100, allocation=Decimal(100))],
        rules={"BTC-USD": btc_rules()},
        fees=FeeRates(maker=Decimal(0), taker=Decimal(0)),
        cash={"USD": Decimal(1_000)},
        limits=RiskLimits(),
    )
    assert result.fills == ()
    assert result.sharpe is None  # flat equity: no variation to measure
    assert result.exposure == 0
    assert result.pnl == 0


def test_rebalancing_without_weights_holds_half_the_equity_across_the_products(tmp_path: Path) -> None:
    (strategy,) = strategies_for(load_settings(home=tmp_path, strategy="rebalance"), ["BTC-USD", "ETH-USD"])
    assert isinstance(strategy, RebalanceToWeights)
    assert dict(strategy.weights) == {"BTC-USD": Decimal("0.25"), "ETH-USD": Decimal("0.25")}


async def test_paper_reconcile_runs_an_order_stored_but_never_filled_and_names_one_without_state(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    # A process that stopped between storing a paper order and filling it leaves it SUBMITTING: the next
    # reconcile fills it. An open paper order with no paper state cannot be re-checked: it is reported.
    async with open_runtime(service_settings(tmp_path, sandbox)) as rt:
        store_products(rt.engine, "BTC-USD")
        stranded = Order(client_order_id="stranded", intent=market(size="0.001"), created_at=T0)
        stranded.transition(OrderStatus.SUBMITTING, at=T0)
        stateless = Order(client_order_id="stateless", intent=limit(Decimal(1), size="0.001"), created_at=T0)
        stateless.transition(OrderStatus.SUBMITTING, at=T0)
        stateless.transition(OrderStatus.OPEN, at=T0)
        with UnitOfWork(rt.engine) as uow:
            uow.orders.save(stranded)
            uow.orders.save(stateless)
            uow.commit()
        report = await rt.executor.refresh()
        with UnitOfWork(rt.engine, read_only=True) as uow:
            filled = uow.orders.get("stranded")
    assert report.checked == 2
    assert report.updated == 1
    assert report.fills >= 1
    assert filled is not None
    assert filled.status is OrderStatus.FILLED
    assert filled.filled_size == Decimal("0.001")
    assert report.mismatches == ["paper order stateless is OPEN with no state"]


async def test_a_cycles_pull_reads_candles_only_and_rules_only_until_they_are_stored(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    wire = RecordingTransport()
    async with open_runtime(service_settings(tmp_path, sandbox), transport=wire) as rt:
        service = MarketDataService(rt.exchange, rt.engine)

        def asked() -> set[str]:
            paths = [e.path for e in wire.exchanges]
            kinds = {"candles" if p.endswith("/candles") else p.rsplit("/", 1)[-1] for p in paths}
            kinds.discard("time")  # the client's clock check against the sandbox's simulated time
            wire.exchanges.clear()
            return kinds

        first = await service.sync_product("BTC-USD", lookback=timedelta(minutes=10), quotes=False)
        assert asked() == {"BTC-USD", "candles"}  # no rules stored yet: read them once
        with UnitOfWork(rt.engine, read_only=True) as uow:
            assert uow.products.get("BTC-USD").product_id == "BTC-USD"
        assert (first.bid, first.ask, first.last_price) == (None, None, None)
        assert first.candles_stored > 0
        await service.sync_product("BTC-USD", lookback=timedelta(minutes=10), quotes=False)
        assert asked() <= {"candles"}  # rules stored: the market-data flow keeps them fresh
        full = await service.sync_product("BTC-USD", lookback=timedelta(minutes=10))
        assert asked() >= {"BTC-USD", "best_bid_ask", "ticker"}
        assert full.bid is not None


class _CandleGate(httpx.AsyncBaseTransport):
    """The real network; the first candles answer waits until `ahead` more candles requests have arrived, and
    the answer to candles request number `refuse` (from 1) is a 400."""

    def __init__(self, *, ahead: int = 0, refuse: int = 0) -> None:
        self.inner = httpx.AsyncHTTPTransport(retries=0)
        self.candle_requests = 0
        self._ahead, self._refuse = ahead, refuse
        self._arrived = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/candles"):
            self.candle_requests += 1
            number = self.candle_requests
            if number == 1 + self._ahead:
                self._arrived.set()
            if number == 1 and self._ahead:
                # One window at a time, the next request never comes: fail rather than wait for ever.
                await asyncio.wait_for(self._arrived.wait(), timeout=10)
            if number == self._refuse:
                return httpx.Response(400, json={"error": "INVALID_ARGUMENT", "message": "refused by the test"})
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_long_pull_asks_for_the_next_windows_before_the_first_is_answered(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """One window at a time a backfill's pace is its round trip plus its store write (two thirds of the rate
    limit on loopback, a third of it 100 ms away): the windows after the first are asked for meanwhile."""
    wire = _CandleGate(ahead=3)
    async with open_runtime(service_settings(tmp_path, sandbox), transport=wire) as rt:
        pulled = await MarketDataService(rt.exchange, rt.engine).sync_product(
            "BTC-USD", lookback=timedelta(minutes=10 * 300), backfill=True, quotes=False
        )
    assert pulled.candles_stored == 10 * 300
    assert wire.candle_requests == 10


async def test_a_window_refused_mid_pull_keeps_the_windows_before_it(sandbox: SandboxHandle, tmp_path: Path) -> None:
    wire = _CandleGate(refuse=3)
    async with open_runtime(service_settings(tmp_path, sandbox), transport=wire) as rt:
        with pytest.raises(CoinbaseError, match="refused by the test"):
            await MarketDataService(rt.exchange, rt.engine).sync_product(
                "BTC-USD", lookback=timedelta(minutes=10 * 300), backfill=True, quotes=False
            )
        with UnitOfWork(rt.engine, read_only=True) as uow:
            kept = uow.candles.window("BTC-USD", "ONE_MINUTE", end=datetime.now(UTC), limit=10_000)
    assert len(kept) == 2 * 300  # the two windows before the refused one, each stored whole; nothing after it
