"""The whole system through its flows, live on the sandbox: what an operator's runs do, checked against the exchange.

Each test drives the real flows (`trading_cycle`, `reconcile`, `risk_check`) under the session's Prefect harness
against a loopback sandbox, with CRYPTOJ_EXECUTION=live (paper where it matters), and ends by comparing the store
with the sandbox's own books: orders, fills, accounts. The strategies place only market IOC orders, so the
resting-order states (open, partly filled, filled, cancelled, expired) are reached the way a live account meets
them: orders placed on the same account by another tool, adopted and then followed by the reconcile flow.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cryptoj.cli import app
from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.models import CreateOrderRequest
from cryptoj.coinbase.websocket import WebSocketHandler
from cryptoj.coinbase.ws_policy import ReconnectPolicy
from cryptoj.config import load_settings
from cryptoj.domain.orders import Order, OrderIntent, OrderStatus, OrderType, TimeInForce
from cryptoj.domain.side import Side
from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.faults import FaultConfig
from cryptoj.services.executor import OrderKey
from cryptoj.services.mapping import order_configuration_for
from cryptoj.services.runtime import Runtime, open_runtime
from cryptoj.services.watch import OrderWatcher
from cryptoj.store import UnitOfWork, open_store
from flows.reconcile import reconcile
from flows.risk import RiskBreach, risk_check
from flows.trading import trading_cycle
from tests.utils.fixtures.sandbox import SandboxHandle, serve, stepped_bars
from tests.utils.fixtures.services import limit, service_settings
from tests.utils.helpers.kill_after_send import PRODUCT, intent_for

# One Prefect harness per session: the flow tests share the worker that started it.
pytestmark = [pytest.mark.system, pytest.mark.integration, pytest.mark.xdist_group("prefect")]

FUNDING = {"USD": Decimal(100_000), "BTC": Decimal(1), "ETH": Decimal(10)}  # what a sandbox key starts with
NO_LIMITS = (
    "RISK_MAX_ORDER_NOTIONAL",
    "RISK_MAX_POSITION_NOTIONAL",
    "RISK_MAX_GROSS_EXPOSURE",
    "RISK_MAX_OPEN_ORDERS",
    "RISK_MAX_DAILY_LOSS",
    "RISK_MAX_DRAWDOWN",
    "RISK_PRICE_BAND",
    "RISK_MAX_ORDERS_PER_MINUTE",
)


# --- the run's environment, the store, the exchange ----------------------------------------------------------


def _live_on(handle: SandboxHandle, home: Path, monkeypatch: pytest.MonkeyPatch, **settings: str) -> None:
    """Point the flows at `handle` in live execution, with a store under `home`, as a deployment's worker would be."""
    monkeypatch.setenv("CRYPTOJ_HOME", str(home))
    monkeypatch.setenv("CRYPTOJ_REST_URL", handle.base_url)
    monkeypatch.setenv("CRYPTOJ_API_KEY_FILE", str(handle.key_file))
    monkeypatch.setenv("CRYPTOJ_EXECUTION", "live")
    _set(monkeypatch, **settings)


def _set(monkeypatch: pytest.MonkeyPatch, **settings: str) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(f"CRYPTOJ_{name.upper()}", value)


def _weights(**weights: str) -> str:
    return json.dumps({pid.replace("_", "-"): w for pid, w in weights.items()})


@contextmanager
def _store() -> Iterator[UnitOfWork]:
    """The store the flows use (from the environment), read-only."""
    engine = open_store(load_settings())
    try:
        with UnitOfWork(engine, read_only=True) as uow:
            yield uow
    finally:
        engine.dispose()


def _stored_orders() -> list[Order]:
    with _store() as uow:
        return uow.orders.created_since(datetime.min.replace(tzinfo=UTC))


def _owner(handle: SandboxHandle) -> str:
    return handle.key.name.get_secret_value()


def _exchange_orders(handle: SandboxHandle) -> dict[str, Any]:
    """The sandbox's orders of the key, by exchange order id."""
    return {order.order_id: order for order in handle.exchange.engine.orders(_owner(handle))}


def _disagreements(handle: SandboxHandle) -> list[str]:
    """Every way the store and the exchange differ: an order either lacks, or its status or filled size."""
    exchange = _exchange_orders(handle)
    stored = {order.exchange_order_id: order for order in _stored_orders() if order.exchange_order_id}
    problems = [f"exchange order {oid} is not stored" for oid in sorted(set(exchange) - set(stored))]
    problems += [f"stored order {oid} is not on the exchange" for oid in sorted(set(stored) - set(exchange))]
    for oid in sorted(set(exchange) & set(stored)):
        real, mine = exchange[oid], stored[oid]
        if (mine.status.value, mine.filled_size) != (real.status.value, real.filled_size):
            problems.append(
                f"{mine.client_order_id}: store {mine.status.value} {mine.filled_size}, "
                f"exchange {real.status.value} {real.filled_size}"
            )
    return problems


def _by_client_id(handle: SandboxHandle, client_order_id: str) -> list[Any]:
    return [o for o in handle.exchange.engine.orders(_owner(handle)) if o.client_order_id == client_order_id]


async def _advance(handle: SandboxHandle, seconds: float) -> None:
    """Move the sandbox's clock and step its market once, on the server's own thread."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{handle.base_url}/sandbox/admin/advance", json={"seconds": seconds})
    answer.raise_for_status()


async def _place_elsewhere(rt: Runtime, client_order_id: str, intent: OrderIntent) -> str:
    """Place an order on the account from another tool (the web UI, a script): CryptoJ has no intent for it."""
    answer = await rt.client.create_order(
        CreateOrderRequest(
            client_order_id=client_order_id,
            product_id=intent.product_id,
            side=intent.side.value,
            order_configuration=order_configuration_for(intent),
        )
    )
    assert answer.success_response is not None, answer
    return answer.success_response.order_id


async def _wait_for(condition: Callable[[], bool], *, within: float = 20.0) -> None:
    for _ in range(int(within / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not come true in time")


# --- sandboxes -------------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def stepped_sandbox(tmp_path: Path, sandbox_key: tuple[CdpKey, Path]) -> Iterator[SandboxHandle]:
    """BTC-USD at 100.00 for five minutes, then at 94.99; the clock stands still and moves only when told.

    A bid at 95.00 rests above the market, then meets one ask level at its price per step: a partial fill
    per step, at a size the test does not choose, until it is filled.
    """
    bars = stepped_bars(tmp_path / "bars.csv", start=START, minutes=120, before="100.00", after="94.99")
    exchange = SandboxExchange(seed=1, data={"BTC-USD": bars}, clock=SimClock(start=START, speed=0))
    yield from serve(exchange, sandbox_key, step_interval=None)


# --- 1. the order lifecycle ------------------------------------------------------------------------------------


async def test_resting_orders_are_followed_by_the_reconcile_flow_through_every_state(
    prefect_harness: None, stepped_sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = stepped_sandbox
    _live_on(handle, tmp_path / "home", monkeypatch)
    elsewhere = service_settings(tmp_path / "other-tool", handle, execution="live")
    async with open_runtime(elsewhere) as tool:
        big = await _place_elsewhere(tool, "big-bid", limit(Decimal("95.00"), size="300"))
        gone = await _place_elsewhere(tool, "cancelled-bid", limit(Decimal("90.00")))
        dated = OrderIntent(
            "BTC-USD", Side.BUY, OrderType.LIMIT, base_size=Decimal("0.01"), limit_price=Decimal("90.00"),
            time_in_force=TimeInForce.GOOD_UNTIL_DATE_TIME, end_time=START + timedelta(minutes=3),
        )  # fmt: skip
        expiring = await _place_elsewhere(tool, "dated-bid", dated)

        adopted = await reconcile()
        assert adopted["external"] == 3
        assert adopted["mismatches"] == 0
        states = _states()
        assert states == {"big-bid": ("OPEN", 0), "cancelled-bid": ("OPEN", 0), "dated-bid": ("OPEN", 0)}
        assert _disagreements(handle) == []

        await tool.client.cancel_orders([gone])  # behind CryptoJ's back
        await _advance(handle, 6 * 60)  # past the GTD end, and down through the big bid: one ask level fills
        moved = await reconcile()
        states = _states()
        assert moved["updated"] == 3
        assert moved["mismatches"] == 0
        assert states["cancelled-bid"] == ("CANCELLED", 0)
        assert states["dated-bid"] == ("EXPIRED", 0)
        big_status, partly = states["big-bid"]
        assert big_status == "OPEN"
        assert 0 < partly < 300, "one step filled part of the bid"
        assert _disagreements(handle) == []

        for _ in range(200):  # each step meets one more ask level at 95.00
            if _exchange_orders(handle)[big].status.value == "FILLED":
                break
            await _advance(handle, 1)
        done = await reconcile()
    assert done["updated"] == 1
    assert done["mismatches"] == 0
    assert _states()["big-bid"] == ("FILLED", 300)
    assert _disagreements(handle) == []
    with _store() as uow:
        fills = uow.fills.for_order("big-bid")
        positions = uow.positions.all()
    exchange_fills = [f for f in handle.exchange.engine.fills(_owner(handle)) if f.order_id == big]
    assert sorted(f.trade_id for f in fills) == sorted(f.trade_id for f in exchange_fills)
    assert all(f.price == Decimal("95.00") for f in fills)
    assert "BTC-USD" not in positions  # another tool's order: followed, never counted as CryptoJ's position
    assert expiring in _exchange_orders(handle)


def _states() -> dict[str, tuple[str, Decimal]]:
    return {o.client_order_id: (o.status.value, o.filled_size) for o in _stored_orders()}


# --- 1 and 2. cycles that buy, sell and are refused; positions and cash equal the fills ------------------------


@pytest.mark.parametrize("execution", ["live", "paper"])
async def test_positions_and_cash_after_several_cycles_are_the_sum_of_their_fills(
    prefect_harness: None, frozen_sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    execution: str,
) -> None:  # fmt: skip
    handle = frozen_sandbox
    _live_on(handle, tmp_path / "home", monkeypatch, execution=execution, strategy="rebalance")
    for name in NO_LIMITS:  # the last cycle asks for more than the account holds: the exchange must say no
        monkeypatch.setenv(f"CRYPTOJ_{name}", "off")
    steps = [
        # The strategy trades a product once its weight is more than 0.01 off target.
        (_weights(BTC_USD="0.04", ETH_USD="0.02"), {("BUY", "BTC-USD"), ("BUY", "ETH-USD")}),
        (_weights(BTC_USD="0.01", ETH_USD="0.02"), {("SELL", "BTC-USD")}),
        (_weights(BTC_USD="0.01", ETH_USD="0"), {("SELL", "ETH-USD")}),
    ]
    for index, (weights, wanted) in enumerate(steps):
        _set(monkeypatch, rebalance_weights=weights)
        cycle = await trading_cycle(key=f"cycle-{index}")
        rows = cycle["orders"]
        assert isinstance(rows, list)
        assert {(row["side"], row["product"]) for row in rows} == wanted
        assert {(row["outcome"], row["status"]) for row in rows} == {("accepted", "FILLED")}
    _set(monkeypatch, rebalance_weights=_weights(BTC_USD="1"))  # all equity in BTC: its fee cannot be paid
    refused = await trading_cycle(key="cycle-too-big")
    (row,) = refused["orders"]  # type: ignore[misc]
    assert (row["outcome"], row["status"]) == ("rejected", "REJECTED")
    assert "INSUFFICIENT_FUND" in row["reason"]

    with _store() as uow:
        positions = uow.positions.all()
        fills = {pid: uow.fills.for_product(pid) for pid in ("BTC-USD", "ETH-USD")}
    assert positions["ETH-USD"].size == 0
    spent = Decimal(0)
    for pid, product_fills in fills.items():
        signed = [f.size if f.side is Side.BUY else -f.size for f in product_fills]
        assert positions[pid].size == sum(signed, Decimal(0))
        assert positions[pid].fees == sum((f.fee for f in product_fills), Decimal(0))
        spent += sum((s * f.price + f.fee for s, f in zip(signed, product_fills, strict=True)), Decimal(0))
    assert positions["BTC-USD"].size > 0

    owner = _owner(handle)
    balances = {a.currency: a.balance for a in handle.exchange.ledger.accounts(owner)}
    if execution == "live":
        exchange_fills = handle.exchange.engine.fills(owner)
        assert sorted(f.trade_id for f in exchange_fills) == sorted(f.trade_id for fs in fills.values() for f in fs)
        assert balances["USD"] == FUNDING["USD"] - spent
        assert balances["BTC"] == FUNDING["BTC"] + positions["BTC-USD"].size
        assert balances["ETH"] == FUNDING["ETH"]
        assert _disagreements(handle) == []
        assert not _by_client_id(handle, row["client_order_id"])  # refused: no order exists there
    else:
        assert handle.exchange.engine.orders(owner) == []  # paper sends nothing
        assert {cur: balances[cur] for cur in FUNDING} == FUNDING
        cash = next(r for r in refused["positions"] if r["product"] == "cash USD")  # type: ignore[union-attr]
        assert Decimal(cash["size"]) == (Decimal(10_000) - spent).quantize(Decimal("0.01"))


# --- 3. every risk rule through the flows, and the kill switch -----------------------------------------------


async def test_each_risk_rule_fires_and_the_kill_switch_stops_trading_until_reset(
    prefect_harness: None, frozen_sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = frozen_sandbox
    _live_on(
        handle, tmp_path / "home", monkeypatch,
        strategy="rebalance", products='["BTC-USD"]', rebalance_weights=_weights(BTC_USD="0.02"),
    )  # fmt: skip
    marked = await risk_check()  # the day's first equity: nothing held, all cash
    assert marked["kill_switch"] == "clear"
    elsewhere = service_settings(tmp_path / "other-tool", handle, execution="live")
    async with open_runtime(elsewhere) as tool:
        bid = (await tool.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"].bid
        assert bid is not None
        await _place_elsewhere(tool, "working-elsewhere", limit(bid - Decimal(500)))  # adopted by the next cycle
    bought = await trading_cycle(key="buy")
    assert [r["outcome"] for r in bought["orders"]] == ["accepted"]  # type: ignore[union-attr]
    sent = len(_exchange_orders(handle))

    # Every pre-trade limit below what the next buy (and the fees the first one paid) come to.
    tight = {
        "risk_max_order_notional": "1", "risk_max_position_notional": "1", "risk_max_gross_exposure": "1",
        "risk_max_open_orders": "1", "risk_max_orders_per_minute": "1", "risk_max_daily_loss": "0.01",
        "risk_max_drawdown": "0.0000001",
    }  # fmt: skip
    _set(monkeypatch, rebalance_weights=_weights(BTC_USD="0.04"), **tight)
    denied = await trading_cycle(key="denied")
    (row,) = denied["orders"]  # type: ignore[misc]
    assert row["outcome"] == "denied"
    fired = {part.split(":")[0].strip() for part in row["reason"].split(";")}
    assert fired == {
        "ORDER_NOTIONAL", "POSITION_NOTIONAL", "GROSS_EXPOSURE", "OPEN_ORDERS", "ORDER_RATE", "DAILY_LOSS", "DRAWDOWN",
    }  # fmt: skip
    assert len(_exchange_orders(handle)) == sent

    # The portfolio as it stands breaks the portfolio limits: the risk flow engages the kill switch.
    state = await risk_check(return_state=True)
    assert state.is_failed()
    with pytest.raises(RiskBreach) as breach:
        await state.aresult()
    for rule in ("DAILY_LOSS", "DRAWDOWN", "POSITION_NOTIONAL", "GROSS_EXPOSURE"):
        assert rule in str(breach.value)
    with _store() as uow:
        assert uow.risk.kill_switch().engaged
    assert _exchange_orders(handle)[_stored_elsewhere_id()].status.value == "OPEN"  # not CryptoJ's to cancel

    for name in tight:  # the limits back to what they were: only the switch stands in the way now
        monkeypatch.delenv(f"CRYPTOJ_{name.upper()}")
    stopped = await trading_cycle(key="stopped")
    assert [(r["outcome"], "KILL_SWITCH" in r["reason"]) for r in stopped["orders"]] == [("denied", True)]  # type: ignore[union-attr]
    assert len(_exchange_orders(handle)) == sent

    reset = CliRunner().invoke(app, ["risk", "reset", "--by", "ops"], catch_exceptions=False)
    assert reset.exit_code == 0, reset.output
    resumed = await trading_cycle(key="resumed")
    assert [(r["outcome"], r["status"]) for r in resumed["orders"]] == [("accepted", "FILLED")]  # type: ignore[union-attr]
    assert len(_exchange_orders(handle)) == sent + 1
    assert _disagreements(handle) == []


def _stored_elsewhere_id() -> str:
    with _store() as uow:
        order = uow.orders.get("working-elsewhere")
    assert order is not None
    assert order.exchange_order_id is not None
    return order.exchange_order_id


# --- 4. a process killed between send and store, resumed by the next cycle --------------------------------------


async def test_a_cycle_killed_between_send_and_store_is_resumed_by_its_re_run_with_no_duplicate(
    prefect_harness: None, frozen_sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = frozen_sandbox
    home = tmp_path / "home"
    _live_on(
        handle, home, monkeypatch,
        strategy="rebalance", products=f'["{PRODUCT}"]', rebalance_weights=_weights(BTC_USD="0.02"),
    )  # fmt: skip
    # The cycle's first intent, placed under the cycle's own key by a worker that dies once the exchange answered.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.utils.helpers.kill_after_send", str(home), handle.base_url,
         str(handle.key_file), "killed-cycle", "rebalance"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr
    coid = OrderKey("killed-cycle", "rebalance", 0).client_order_id(PRODUCT)
    assert len(_by_client_id(handle, coid)) == 1  # the exchange has it
    (orphan,) = _stored_orders()
    assert (orphan.client_order_id, orphan.status, orphan.exchange_order_id) == (coid, OrderStatus.SUBMITTING, None)

    rerun = await trading_cycle(key="killed-cycle")
    (row,) = rerun["orders"]  # type: ignore[misc]
    assert (row["client_order_id"], row["sent now"], row["status"]) == (coid, "no", "FILLED")
    assert Decimal(row["size"]) == intent_for().base_size  # the intent the dead worker stored, not a new one
    assert len(_by_client_id(handle, coid)) == 1  # adopted, never sent twice
    with _store() as uow:
        held = uow.positions.all()[PRODUCT].size
    assert held == intent_for().base_size  # its fill counted once
    after = await reconcile()
    assert after["mismatches"] == 0
    assert _disagreements(handle) == []


# --- 5. the user channel drops while a cycle trades ---------------------------------------------------------


async def test_a_websocket_drop_mid_cycle_loses_no_order_change(
    prefect_harness: None, sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = sandbox
    home = tmp_path / "home"
    weights = _weights(BTC_USD="0.02", ETH_USD="0.02")
    _live_on(handle, home, monkeypatch, strategy="rebalance", rebalance_weights=weights)
    settings = service_settings(home, handle, execution="live")
    quick = ReconnectPolicy(base_delay=0.05, max_delay=0.2, max_attempts=1_000, jitter=0)
    async with open_runtime(settings) as rt:
        feed = WebSocketHandler(url=rt.endpoints.ws_user_url, key=rt.key, reconnect=quick)
        async with feed:
            await feed.subscribe("user", ["BTC-USD", "ETH-USD"])
            watcher = OrderWatcher(rt.executor)
            watching = asyncio.create_task(watcher.run(feed.order_events()))
            bid = (await rt.exchange.best_bid_ask(["BTC-USD"]))["BTC-USD"].bid
            assert bid is not None
            resting = await _place_elsewhere(rt, "resting-elsewhere", limit(bid - Decimal(500)))
            await _wait_for(lambda: _states().get("resting-elsewhere") == ("OPEN", 0))  # the watcher adopted it

            # Every frame from here drops the connection: the cycle's own order events never arrive.
            handle.exchange.faults.configure(FaultConfig(ws_drop_rate=1.0))
            cycle = await trading_cycle(key="through-the-drop")
            assert not feed.connected
            await rt.client.cancel_orders([resting])  # while the channel is down: no event of it can arrive
            handle.exchange.faults.configure(FaultConfig())

            await _wait_for(lambda: _states().get("resting-elsewhere") == ("CANCELLED", 0))
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
    rows = cycle["orders"]
    assert isinstance(rows, list)
    assert {(r["product"], r["outcome"]) for r in rows} == {("BTC-USD", "accepted"), ("ETH-USD", "accepted")}
    assert "reconnect" in watcher.report.markers
    assert feed.stats.connects >= 2
    assert all(len(_by_client_id(handle, r["client_order_id"])) == 1 for r in rows)
    assert _disagreements(handle) == []
