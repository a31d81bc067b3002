"""ExchangeService and both executors against the sandbox over loopback (real HTTP, real SQLite).

Every way an intent can end without an order is stored with its reason: a risk denial, a product rule,
the kill switch (denied: nothing sent), insufficient funds and an exchange rejection (rejected). A repeat
of the same key sends nothing new, and paper fills equal live-on-sandbox fills on the same book.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptoj.coinbase.models import CreateOrderRequest
from cryptoj.coinbase.models.products import Granularity
from cryptoj.config import Settings
from cryptoj.domain.book import BookSide
from cryptoj.domain.orders import Order, OrderStatus, TimeInForce
from cryptoj.domain.side import Side
from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.server import SandboxServer
from cryptoj.services.executor import OrderKey, Outcome
from cryptoj.services.live import LiveExecutor
from cryptoj.services.mapping import order_configuration_for
from cryptoj.services.paper_executor import PaperExecutor
from cryptoj.services.runtime import Runtime, open_runtime
from cryptoj.store import UnitOfWork
from tests.utils.fixtures.sandbox import SandboxHandle, stepped_bars
from tests.utils.fixtures.services import NO_RISK_LIMITS, limit, market, service_settings

pytestmark = pytest.mark.integration

MODES = ("paper", "live")


async def _marks(rt: Runtime, product_id: str = "BTC-USD") -> dict[str, Decimal]:
    quote = (await rt.exchange.best_bid_ask([product_id]))[product_id]
    assert quote.mid is not None
    return {product_id: quote.mid}


async def _advance(handle: SandboxHandle, seconds: float) -> None:
    """Move the sandbox's market forward through its admin endpoint (on the server's own thread)."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{handle.base_url}/sandbox/admin/advance", json={"seconds": seconds})
    answer.raise_for_status()


def _exchange_orders(handle: SandboxHandle, client_order_id: str) -> list[Any]:
    """The sandbox's orders carrying `client_order_id` (any status), for every key it trusts."""
    owner = handle.key.name.get_secret_value()
    return [order for order in handle.exchange.engine.orders(owner) if order.client_order_id == client_order_id]


# --- ExchangeService ----------------------------------------------------------------------------


async def test_exchange_service_reads_market_data_and_accounts(sandbox: SandboxHandle, tmp_path: Path) -> None:
    async with open_runtime(service_settings(tmp_path, sandbox)) as rt:
        rules = await rt.exchange.product_rules(["BTC-USD", "ETH-USD"])
        assert rules["BTC-USD"].base_increment == Decimal("0.00000001")
        assert rules["ETH-USD"].quote_currency == "USD"

        quote = (await rt.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"]
        assert quote.bid is not None
        assert quote.ask is not None
        assert quote.bid < quote.ask

        book = await rt.exchange.book("BTC-USD", limit=50)
        assert book.best_bid is not None
        assert book.best_ask is not None
        assert 0 < book.level_count(BookSide.BID) <= 50

        await _advance(sandbox, 60)  # a simulated minute of trading: the tape is not empty, however busy the machine
        ticker = await rt.exchange.ticker("BTC-USD", limit=10)
        assert ticker.trades
        assert ticker.last_price == ticker.trades[0].price
        assert all(isinstance(t.price, Decimal) for t in ticker.trades)

        end = sandbox.exchange.now().replace(second=0, microsecond=0)
        candles = await rt.exchange.candles("BTC-USD", start=end - timedelta(hours=2), end=end)
        starts = [c.start for c in candles]
        assert starts == sorted(starts)
        assert len(set(starts)) == len(starts)
        assert all(end - timedelta(hours=2) <= s < end for s in starts)

        balances = await rt.exchange.balances()
        assert balances["USD"].available == Decimal(100_000)
        fees = await rt.exchange.fee_rates()
        assert (fees.maker, fees.taker) == (Decimal("0.0025"), Decimal("0.004"))


async def test_candle_frame_has_one_row_per_interval_with_gaps_left_empty(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    async with open_runtime(service_settings(tmp_path, sandbox)) as rt:
        end = sandbox.exchange.now().replace(second=0, microsecond=0)
        start = end - timedelta(minutes=30)
        frame = await rt.exchange.candle_frame("BTC-USD", start=start, end=end, granularity=Granularity.ONE_MINUTE)
        assert len(frame) == 30
        assert str(frame.index.tz) == "UTC"
        assert frame.index[0] == start
        assert frame.index[-1] == end - timedelta(minutes=1)
        assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
        present = frame.dropna()
        assert all(isinstance(v, Decimal) for v in present["close"])


# --- denials and rejections, stored with reasons ------------------------------------------------


@pytest.mark.parametrize("execution", MODES)
async def test_a_risk_denial_is_stored_with_its_reason_and_nothing_is_sent(
    sandbox: SandboxHandle, tmp_path: Path, execution: str
) -> None:
    settings = service_settings(tmp_path, sandbox, execution=execution, risk_max_order_notional=Decimal(10))
    async with open_runtime(settings) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        placed = await rt.executor.place(
            market(size="0.01"), key=OrderKey("cycle-1", "test", 0), rules=rules, marks=await _marks(rt)
        )
    assert placed.outcome is Outcome.DENIED
    assert not placed.sent
    assert placed.order.status is OrderStatus.DENIED
    assert placed.order.reason is not None
    assert "ORDER_NOTIONAL" in placed.order.reason
    assert _exchange_orders(sandbox, placed.order.client_order_id) == []
    _assert_stored(settings, placed.order.client_order_id, OrderStatus.DENIED, "ORDER_NOTIONAL")


@pytest.mark.parametrize("execution", MODES)
async def test_a_product_rule_violation_never_reaches_the_exchange(
    sandbox: SandboxHandle, tmp_path: Path, execution: str
) -> None:
    settings = service_settings(tmp_path, sandbox, execution=execution)
    async with open_runtime(settings) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        # 0.0001 BTC is worth under a dollar here: below BTC-USD's quote_min_size of 1.
        placed = await rt.executor.place(
            market(size="0.0001"), key=OrderKey("cycle-1", "test", 0), rules=rules, marks=await _marks(rt)
        )
    assert placed.outcome is Outcome.DENIED
    assert placed.order.reason is not None
    assert "QUOTE_SIZE_TOO_SMALL" in placed.order.reason
    assert _exchange_orders(sandbox, placed.order.client_order_id) == []
    _assert_stored(settings, placed.order.client_order_id, OrderStatus.DENIED, "QUOTE_SIZE_TOO_SMALL")


@pytest.mark.parametrize("execution", MODES)
async def test_the_kill_switch_denies_every_new_order_until_reset(
    sandbox: SandboxHandle, tmp_path: Path, execution: str
) -> None:
    settings = service_settings(tmp_path, sandbox, execution=execution)
    async with open_runtime(settings) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        marks = await _marks(rt)
        assert rt.risk.engage("operator drill")
        stopped = await rt.executor.place(market(), key=OrderKey("cycle-1", "test", 0), rules=rules, marks=marks)
        rt.risk.reset(by="ops")
        resumed = await rt.executor.place(market(), key=OrderKey("cycle-2", "test", 0), rules=rules, marks=marks)
    assert stopped.outcome is Outcome.DENIED
    assert stopped.order.reason is not None
    assert "KILL_SWITCH" in stopped.order.reason
    assert "operator drill" in stopped.order.reason
    assert resumed.outcome is Outcome.ACCEPTED
    assert resumed.order.status is OrderStatus.FILLED


@pytest.mark.parametrize("execution", MODES)
async def test_insufficient_funds_are_a_rejection_with_coinbases_reason(
    sandbox: SandboxHandle, tmp_path: Path, execution: str
) -> None:
    # Paper starts with 10,000 USD, the sandbox key with 100,000: 20 BTC at the replayed prices is more.
    settings = service_settings(tmp_path, sandbox, execution=execution, **NO_RISK_LIMITS)
    async with open_runtime(settings) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        placed = await rt.executor.place(
            market(size="20"), key=OrderKey("cycle-1", "test", 0), rules=rules, marks=await _marks(rt)
        )
    assert placed.outcome is Outcome.REJECTED
    assert placed.sent
    assert placed.order.reason is not None
    assert "INSUFFICIENT_FUND" in placed.order.reason
    _assert_stored(settings, placed.order.client_order_id, OrderStatus.REJECTED, "INSUFFICIENT_FUND")


@pytest.mark.parametrize("execution", MODES)
async def test_an_exchange_rejection_is_stored_with_the_exchanges_reason(
    sandbox: SandboxHandle, tmp_path: Path, execution: str
) -> None:
    settings = service_settings(tmp_path, sandbox, execution=execution)
    async with open_runtime(settings) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        ask = (await rt.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"].ask
        assert ask is not None
        # A post-only buy through the ask would take liquidity: Coinbase rejects it. 2% through, so a market
        # that moves between reading the ask and sending the order cannot make it rest instead.
        crossing = limit((ask * Decimal("1.02")).quantize(Decimal("0.01")), post_only=True)
        placed = await rt.executor.place(
            crossing, key=OrderKey("cycle-1", "test", 0), rules=rules, marks={"BTC-USD": ask}
        )
    assert placed.outcome is Outcome.REJECTED
    assert placed.order.reason is not None
    assert "POST_ONLY" in placed.order.reason
    _assert_stored(settings, placed.order.client_order_id, OrderStatus.REJECTED, "POST_ONLY")


def _assert_stored(settings: Settings, client_order_id: str, status: OrderStatus, reason_part: str) -> None:
    from cryptoj.store import open_store

    engine = open_store(settings)
    try:
        with UnitOfWork(engine, read_only=True) as uow:
            stored = uow.orders.get(client_order_id)
    finally:
        engine.dispose()
    assert stored is not None
    assert stored.status is status
    assert stored.reason is not None
    assert reason_part in stored.reason


# --- placement protocol ---------------------------------------------------------------------------


@pytest.mark.parametrize("execution", MODES)
async def test_a_repeated_key_places_nothing_new(sandbox: SandboxHandle, tmp_path: Path, execution: str) -> None:
    settings = service_settings(tmp_path, sandbox, execution=execution)
    async with open_runtime(settings) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        marks = await _marks(rt)
        first = await rt.executor.place(market(), key=OrderKey("cycle-1", "test", 0), rules=rules, marks=marks)
        again = await rt.executor.place(market(), key=OrderKey("cycle-1", "test", 0), rules=rules, marks=marks)
        other = await rt.executor.place(market(), key=OrderKey("cycle-2", "test", 0), rules=rules, marks=marks)
        portfolio = await rt.executor.portfolio()
    assert first.sent
    assert not again.sent
    assert again.order.client_order_id == first.order.client_order_id
    assert other.order.client_order_id != first.order.client_order_id
    assert portfolio.size("BTC-USD") == Decimal("0.02")  # two orders of 0.01, not three
    if execution == "live":
        assert len(_exchange_orders(sandbox, first.order.client_order_id)) == 1


async def test_the_executor_follows_the_execution_setting(sandbox: SandboxHandle, tmp_path: Path) -> None:
    async with open_runtime(service_settings(tmp_path / "p", sandbox)) as paper:
        assert isinstance(paper.executor, PaperExecutor)
    async with open_runtime(service_settings(tmp_path / "l", sandbox, execution="live")) as live:
        assert isinstance(live.executor, LiveExecutor)


async def test_paper_fills_equal_live_fills_on_the_same_book(frozen_sandbox: SandboxHandle, tmp_path: Path) -> None:
    """The same intents on one standing market: paper and live-on-sandbox fill alike (price, size, fee)."""
    results = {}
    for execution in MODES:
        settings = service_settings(tmp_path / execution, frozen_sandbox, execution=execution, **NO_RISK_LIMITS)
        async with open_runtime(settings) as rt:
            rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
            quote = (await rt.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"]
            assert quote.bid is not None
            assert quote.ask is not None
            assert quote.mid is not None
            intents = [
                market(size="0.5"),  # deep enough to walk more than one level
                market(side=Side.SELL, size="0.02"),
                limit(quote.ask + Decimal(20), size="0.03", tif=TimeInForce.IMMEDIATE_OR_CANCEL),
                limit(quote.bid - Decimal(20), side=Side.SELL, size="0.01", tif=TimeInForce.FILL_OR_KILL),
                limit(quote.bid - Decimal(50), size="0.01"),  # rests: below the best bid
            ]
            fills = []
            statuses = []
            for index, intent in enumerate(intents):
                placed = await rt.executor.place(
                    intent, key=OrderKey("parity", "test", index), rules=rules, marks={"BTC-USD": quote.mid}
                )
                statuses.append(placed.order.status)
                # The exchange lists an order's fills newest first, paper in the order it walked: compare as sets.
                fills.append(sorted((f.price, f.size, f.fee, f.liquidity) for f in placed.new_fills))
            position = (await rt.executor.portfolio()).positions["BTC-USD"]
            results[execution] = (statuses, fills, (position.size, position.cost_basis, position.fees))
    assert results["paper"] == results["live"]
    statuses, fills, _ = results["paper"]
    assert statuses[-1] is OrderStatus.OPEN
    assert fills[-1] == []
    assert all(fills[:4])


# --- reconciliation and later fills -------------------------------------------------------------


async def test_reconciliation_records_orders_placed_elsewhere_without_moving_positions(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    settings = service_settings(tmp_path, sandbox, execution="live")
    async with open_runtime(settings) as rt:
        bid = (await rt.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"].bid
        assert bid is not None
        # Someone places a resting order on the same account from another tool.
        elsewhere = await rt.client.create_order(
            CreateOrderRequest(
                client_order_id="placed-by-hand",
                product_id="BTC-USD",
                side="BUY",
                order_configuration=order_configuration_for(limit(bid - Decimal(100))),
            )
        )
        report = await rt.executor.refresh()
        again = await rt.executor.refresh()
        portfolio = await rt.executor.portfolio()
    assert report.external == 1
    assert again.external == 0  # recorded once
    assert report.mismatches == []
    stored = _stored(settings, "placed-by-hand")
    assert stored.status is OrderStatus.OPEN
    assert stored.exchange_order_id == (elsewhere.success_response.order_id if elsewhere.success_response else None)
    assert stored.reason is not None
    assert "outside CryptoJ" in stored.reason
    assert "BTC-USD" not in portfolio.positions


async def test_reconciliation_finds_an_order_that_ended_while_nobody_watched(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    settings = service_settings(tmp_path, sandbox, execution="live")
    async with open_runtime(settings) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        marks = await _marks(rt)
        resting = await rt.executor.place(
            limit(marks["BTC-USD"] - Decimal(100)), key=OrderKey("c", "test", 0), rules=rules, marks=marks
        )
        assert resting.order.status is OrderStatus.OPEN
        assert resting.order.exchange_order_id is not None
        # Cancelled behind CryptoJ's back (the web UI, another process): the store still says OPEN.
        await rt.client.cancel_orders([resting.order.exchange_order_id])
        report = await rt.executor.refresh()
    assert report.updated == 1
    assert report.mismatches == []
    assert _stored(settings, resting.order.client_order_id).status is OrderStatus.CANCELLED


@pytest.mark.parametrize("execution", MODES)
async def test_cancel_open_cancels_every_working_order(sandbox: SandboxHandle, tmp_path: Path, execution: str) -> None:
    settings = service_settings(tmp_path, sandbox, execution=execution)
    async with open_runtime(settings) as rt:
        rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        marks = await _marks(rt)
        for index in range(3):
            price = marks["BTC-USD"] - Decimal(100 + index)
            await rt.executor.place(limit(price), key=OrderKey("c", "test", index), rules=rules, marks=marks)
        cancelled = await rt.executor.cancel_open(reason="risk breach")
        with UnitOfWork(rt.engine, read_only=True) as uow:
            still_open = uow.orders.open_orders()
    assert [order.status for order in cancelled] == [OrderStatus.CANCELLED] * 3
    assert still_open == []
    if execution == "live":
        owner = sandbox.key.name.get_secret_value()
        assert sandbox.exchange.engine.open_orders(owner) == []


async def test_a_resting_paper_order_fills_on_the_trades_printed_after_it(
    tmp_path: Path, sandbox_key: tuple[Any, Path]
) -> None:
    """Bars at 100 then at 90: a paper bid at 95 rests, and fills as maker at 95 once the market trades below."""
    start = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    bars = stepped_bars(tmp_path / "bars.csv", start=start, minutes=30, before="100", after="90")
    exchange = SandboxExchange(seed=1, data={"BTC-USD": bars}, clock=SimClock(start=start, speed=0))
    exchange.trust(sandbox_key[0])
    server = SandboxServer(exchange, step_interval=None).start()
    handle = SandboxHandle(server=server, exchange=exchange, key=sandbox_key[0], key_file=sandbox_key[1])
    try:
        settings = service_settings(tmp_path / "run", handle)
        async with open_runtime(settings, clock=exchange.now) as rt:
            rules = (await rt.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
            placed = await rt.executor.place(
                limit(Decimal(95), size="0.5"),
                key=OrderKey("c", "test", 0),
                rules=rules,
                marks={"BTC-USD": Decimal(100)},
            )
            assert placed.order.status is OrderStatus.OPEN
            assert placed.new_fills == ()
            quiet = await rt.executor.refresh()  # nothing traded since: still resting
            await _advance(handle, 8 * 60)
            report = await rt.executor.refresh()
            portfolio = await rt.executor.portfolio()
    finally:
        server.stop(wait=False)
    assert quiet.fills == 0
    assert report.fills >= 1
    stored = _stored(settings, placed.order.client_order_id)
    assert stored.status is OrderStatus.FILLED
    assert stored.filled_size == Decimal("0.5")
    assert stored.average_fill_price == Decimal(95)
    assert portfolio.size("BTC-USD") == Decimal("0.5")
    assert portfolio.cash_in("USD") == Decimal(10_000) - Decimal("47.5") - stored.fees
    assert stored.fees == Decimal("47.5") * Decimal("0.0025")  # the sandbox tier's maker rate


def _stored(settings: Settings, client_order_id: str) -> Order:
    from cryptoj.store import open_store

    engine = open_store(settings)
    try:
        with UnitOfWork(engine, read_only=True) as uow:
            stored = uow.orders.get(client_order_id)
    finally:
        engine.dispose()
    assert stored is not None
    return stored


@pytest.mark.parametrize("execution", MODES)
async def test_two_workers_placing_the_same_intent_at_once_make_one_order(
    sandbox: SandboxHandle, tmp_path: Path, execution: str
) -> None:
    """Two runs of one cycle on one store (two workers picked up the same cycle): each order exists once."""
    settings = service_settings(tmp_path, sandbox, execution=execution)
    async with open_runtime(settings) as first, open_runtime(settings) as second:
        rules = (await first.exchange.product_rules(["BTC-USD"]))["BTC-USD"]
        marks = await _marks(first)
        key = OrderKey("shared-cycle", "test", 0)
        a, b = await asyncio.gather(
            first.executor.place(market(size="0.03"), key=key, rules=rules, marks=marks),
            second.executor.place(market(size="0.03"), key=key, rules=rules, marks=marks),
        )
        portfolio = await first.executor.portfolio()
    assert a.order.client_order_id == b.order.client_order_id
    # One of them may return while the other is still recording the outcome: the store has the last word.
    assert _stored(settings, a.order.client_order_id).status is OrderStatus.FILLED
    assert portfolio.size("BTC-USD") == Decimal("0.03")  # filled once, counted once
    if execution == "live":
        assert len(_exchange_orders(sandbox, a.order.client_order_id)) == 1
