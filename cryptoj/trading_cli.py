"""The trading commands: `run`, `up`, `backfill`, `backtest`, `positions`, `orders` and `risk`.

Prefect and the flows are imported inside the commands that need them: `cryptoj --version` and the store
commands stay fast, and Prefect reads the environment `prefect_environment` sets before it is imported.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cryptoj.config import Settings, load_settings
from cryptoj.errors import CryptojError

if TYPE_CHECKING:
    from rich.status import Status

__all__ = ["backfill", "backtest", "orders", "positions", "risk_app", "run", "up"]


def _out() -> Console:
    """The terminal, measured when a command prints (not when the module was imported)."""
    return Console()


risk_app = typer.Typer(help="The risk status and the kill switch.", no_args_is_help=True, add_completion=False)


class RunIncomplete(CryptojError):
    """A step of `cryptoj run` did not complete (the summary above says which)."""


@contextmanager
def _local_run(settings: Settings, *, verbose: bool) -> Iterator[dict[str, str]]:
    """Prefect's environment and, when the settings want one, the local sandbox, for one command.

    Both are set for the command only (flows read their settings from the environment): a second command
    in the same process must not find the first one's stopped sandbox there.
    """
    from cryptoj.stack import environment, local_sandbox, prefect_environment

    with ExitStack() as stack:
        stack.enter_context(environment(prefect_environment(settings, verbose=verbose)))
        sandbox_env = stack.enter_context(local_sandbox(settings))
        stack.enter_context(environment(sandbox_env))
        yield sandbox_env


def run(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's run logs.")] = False,
) -> None:
    """One full cycle on the configured exchange: market data, risk, a trading cycle, reconciliation.

    With no settings at all: the local sandbox, paper execution, SQLite under ~/.cryptoj and a temporary
    Prefect server. Prints what happened; exits 1 if a step failed or a risk limit broke.
    """
    settings = load_settings()
    with _out().status("Starting the sandbox exchange...") as status, _local_run(settings, verbose=verbose):
        outcome = asyncio.run(_run_steps(status))
    _print_run(settings, outcome)
    if outcome["problems"]:
        raise RunIncomplete("; ".join(outcome["problems"]))


async def _run_steps(status: Status) -> dict[str, Any]:
    from flows._runtime import prefect_clients

    status.update("Starting Prefect (the first run also builds its database)...")
    async with prefect_clients():  # the four flow runs share one pair of Prefect clients
        return await _steps(status)


async def _steps(status: Status) -> dict[str, Any]:
    from flows.market_data import market_data
    from flows.reconcile import reconcile
    from flows.risk import risk_check
    from flows.trading import trading_cycle

    problems: list[str] = []
    status.update("Pulling market data...")
    pulled = await market_data(return_state=True)
    if not pulled.is_completed():
        problems.append(f"market data: {pulled.message}")
    status.update("Checking risk...")
    risk = await risk_check(return_state=True)
    if not risk.is_completed():
        problems.append(f"risk: {risk.message}")
    status.update("Running a trading cycle...")
    cycle = await trading_cycle(return_state=True)
    result = await cycle.aresult(raise_on_failure=False) if cycle.is_completed() else None
    summary: dict[str, Any] = result if isinstance(result, dict) else {}
    if not cycle.is_completed():
        problems.append(f"trading cycle: {cycle.message}")
    status.update("Reconciling with the exchange...")
    reconciled = await reconcile(return_state=True)
    if not reconciled.is_completed():
        problems.append(f"reconcile: {reconciled.message}")
    return {"cycle": summary, "problems": problems}


def _print_run(settings: Settings, outcome: dict[str, Any]) -> None:
    from cryptoj.store import describe_url
    from cryptoj.store.engine import database_url

    cycle = outcome["cycle"]
    _out().rule(f"[bold]CryptoJ run[/bold]: {settings.execution.value} trading on {settings.exchange.value}")
    if cycle:
        _out().print(f"Cycle [bold]{cycle['cycle_key']}[/bold]")
        _table(
            "Orders this cycle",
            cycle["orders"],
            empty="The strategy wanted no trade this cycle.",
            columns=("outcome", "product", "side", "type", "size", "filled", "average price", "fees", "reason"),
        )
        _table("Positions and PnL", cycle["positions"], empty="No positions.")
        for mismatch in cycle.get("mismatches", []):
            _out().print(f"[yellow]store/exchange difference[/yellow]: {mismatch}")
    _print_risk(settings)
    # Paths and URLs stay on one line (soft wrap), so they can be copied.
    _out().print(f"Database: {describe_url(database_url(settings))}", soft_wrap=True)
    _out().print(
        f"Prefect: runs were recorded in {os.environ.get('PREFECT_HOME', '~/.prefect')} "
        "(`cryptoj up` serves the UI and runs the flows on their schedules)",
        soft_wrap=True,
    )
    for problem in outcome["problems"]:
        _out().print(f"[red]not completed[/red]: {problem}")


def _table(title: str, rows: Sequence[dict[str, str]], *, empty: str, columns: Sequence[str] | None = None) -> None:
    from rich.measure import Measurement

    console = _out()
    if not rows:
        console.print(f"{title}: {empty}")
        return
    names = list(columns or rows[0].keys())
    table = Table(title=title, title_justify="left")
    for name in names:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(row.get(name, "") for name in names))
    # Its width with every cell wrapped at its spaces (measured within the terminal's width, a table never
    # measures wider than it). Narrower, rich would cut headers, product ids and amounts mid-word ("BTC-US/D",
    # "0.1476/5672"), as it did at 80 columns, the width of a pipe: each row then becomes a block of its fields.
    if Measurement.get(console, console.options.update_width(1_000_000), table).minimum <= console.width:
        console.print(table)
        return
    _print_blocks(console, title, rows, names)


def _print_blocks(console: Console, title: str, rows: Sequence[dict[str, str]], names: Sequence[str]) -> None:
    """Each row as an indented block of its filled-in fields, one per line, for a terminal too narrow for the table."""
    from rich.padding import Padding

    console.print(title, style="italic")
    name_width = max(map(len, names))  # every block's names as wide: the blocks align alike
    for row in rows:
        block = Table.grid(padding=(0, 2))
        block.add_column(style="dim", no_wrap=True, min_width=name_width)
        block.add_column(overflow="fold")
        for name in names:
            if row.get(name):
                block.add_row(name, row[name])
        console.print(Padding(block, (0, 0, 1, 2)))


def _print_risk(settings: Settings) -> None:
    from cryptoj.store import UnitOfWork, open_store

    engine = open_store(settings)
    try:
        with UnitOfWork(engine, read_only=True) as uow:
            switch = uow.risk.kill_switch()
            curve = uow.snapshots.equity_curve(currency=settings.risk_currency)
            events = uow.risk.events()
    finally:
        engine.dispose()
    equity = f"{curve[-1].equity.quantize(Decimal('0.01'))} {settings.risk_currency}" if curve else "not marked yet"
    if switch.engaged:
        _out().print(
            f"Risk: [red]kill switch ENGAGED[/red] since {switch.engaged_at:%Y-%m-%d %H:%M} UTC: {switch.reason}"
        )
        _out().print("      reset it with `cryptoj risk reset --by <your name>` once the cause is dealt with")
    else:
        _out().print(f"Risk: every limit holds (equity {equity}; {len(events)} breach(es) on record)")


def up(
    prefect_port: Annotated[
        int, typer.Option(help="Port of the local Prefect server and UI.", min=1, max=65535)
    ] = 4200,
) -> None:
    """Run it all until Ctrl-C: a Prefect server with its UI, the sandbox, and every flow on its schedule."""
    settings = load_settings()
    from cryptoj.stack import environment, prefect_server

    # A service manager stops with SIGTERM: unwind as Ctrl-C does, so the server and the sandbox stop too.
    signal.signal(signal.SIGTERM, _interrupt)
    # The served runs' logs go to the UI: they keep Prefect's INFO level whatever this console shows.
    with ExitStack() as stack:
        sandbox_env = stack.enter_context(_local_run(settings, verbose=True))
        if "PREFECT_API_URL" in os.environ:
            _out().print(f"Using the Prefect server at {os.environ['PREFECT_API_URL']}")
        else:
            with _out().status("Starting Prefect's server (the first start builds its database)..."):
                api = stack.enter_context(prefect_server(host="127.0.0.1", port=prefect_port, env=dict(os.environ)))
            stack.enter_context(environment({"PREFECT_API_URL": api}))
            _out().print(f"Prefect UI: [bold]http://127.0.0.1:{prefect_port}[/bold]  (Ctrl-C stops everything)")
        if sandbox_env:
            _out().print(f"Sandbox exchange: {sandbox_env['CRYPTOJ_REST_URL']}")
        _serve(settings)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve(settings: Settings) -> None:
    from datetime import timedelta

    from prefect import serve
    from prefect.deployments.runner import RunnerDeployment

    from flows.backtest import backtest as backtest_flow
    from flows.market_data import market_data
    from flows.reconcile import reconcile
    from flows.risk import risk_check
    from flows.trading import trading_cycle

    def made(deployment: object) -> RunnerDeployment:
        # `to_deployment` is typed for async callers too; called here, it returns the deployment itself.
        if not isinstance(deployment, RunnerDeployment):
            raise TypeError(f"expected a RunnerDeployment, got {type(deployment).__name__}")
        return deployment

    mode = settings.execution.value
    serve(
        made(market_data.to_deployment(name="local", interval=timedelta(minutes=1))),
        made(risk_check.to_deployment(name="local", interval=timedelta(minutes=5))),
        made(trading_cycle.to_deployment(name=mode, interval=timedelta(minutes=5))),
        made(reconcile.to_deployment(name="local", interval=timedelta(minutes=10))),
        made(backtest_flow.to_deployment(name="local")),
    )


def backfill(
    product: Annotated[list[str] | None, typer.Option("--product", "-p", help="Product (repeatable).")] = None,
    days: Annotated[float, typer.Option(help="How far back to pull 1-minute candles.", min=0.001, max=366)] = 1.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's run logs.")] = False,
) -> None:
    """Pull 1-minute candles for the last DAYS into the store (gaps filled; what is stored stays)."""
    settings = load_settings()
    from cryptoj.services.reports import market_rows

    with _out().status(f"Backfilling {days:g} day(s)..."), _local_run(settings, verbose=verbose):
        from flows.market_data import market_data

        states = asyncio.run(market_data(product or None, lookback_minutes=max(1, round(days * 1440)), backfill=True))
    _table("Backfill", market_rows([state.result() for state in states if state.is_completed()]), empty="Nothing.")
    failed = [state.message for state in states if not state.is_completed()]
    if failed:
        raise RunIncomplete("; ".join(str(message) for message in failed))


def backtest(
    product: Annotated[list[str] | None, typer.Option("--product", "-p", help="Product (repeatable).")] = None,
    source: Annotated[str, typer.Option(help="packaged (the real days shipped with CryptoJ) or stored.")] = "packaged",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's run logs.")] = False,
) -> None:
    """Backtest the configured strategy over historical bars: figures, trades, and an equity-curve PNG."""
    if source not in ("packaged", "stored"):
        raise typer.BadParameter("must be packaged or stored", param_hint="--source")
    settings = load_settings()
    with _out().status("Backtesting..."), _local_run(settings, verbose=verbose):
        from flows.backtest import backtest as backtest_flow

        figures = asyncio.run(backtest_flow(product or None, source=source))
    _table("Backtest", [{"figure": k, "value": v} for k, v in figures.items()], empty="")


def positions() -> None:
    """Positions as stored, valued at each product's last stored close."""
    from cryptoj.services.reports import position_rows
    from cryptoj.store import UnitOfWork, open_store

    settings = load_settings()
    engine = open_store(settings)
    try:
        with UnitOfWork(engine, read_only=True) as uow:
            held = uow.positions.all()
            marks = {
                pid: candle.close for pid, candle in uow.candles.latest_per_product("ONE_MINUTE").items() if pid in held
            }
    finally:
        engine.dispose()
    from cryptoj.domain.positions import Portfolio

    rows = position_rows(Portfolio(positions=held), marks)
    _table("Positions (marked at the last stored close)", rows, empty="No positions.")


def orders(
    open_only: Annotated[bool, typer.Option("--open", help="Only orders still working.")] = False,
    limit: Annotated[int, typer.Option(help="How many of the newest to show.", min=1)] = 20,
) -> None:
    """The newest orders as stored: status, fills and why each ended."""
    from datetime import UTC, datetime

    from cryptoj.store import UnitOfWork, open_store

    settings = load_settings()
    engine = open_store(settings)
    try:
        with UnitOfWork(engine, read_only=True) as uow:
            found = (
                uow.orders.open_orders() if open_only else uow.orders.created_since(datetime.min.replace(tzinfo=UTC))
            )
    finally:
        engine.dispose()
    rows = [
        {
            "created": f"{order.created_at:%Y-%m-%d %H:%M:%S}",
            "status": order.status.value,
            "product": order.intent.product_id,
            "side": order.intent.side.value,
            "type": order.intent.order_type.value,
            "size": str(order.intent.base_size or f"{order.intent.quote_size} (quote)"),
            "filled": str(order.filled_size),
            "reason": order.reason or "",
        }
        for order in found[-limit:]
    ]
    _table("Orders", rows, empty="No orders.")


@risk_app.command("status")
def risk_status() -> None:
    """The kill switch and the latest breaches."""
    _print_risk(load_settings())


@risk_app.command("reset")
def risk_reset(
    by: Annotated[str, typer.Option("--by", help="Your name: resetting is an operator's decision, recorded.")],
) -> None:
    """Clear the kill switch so new orders may be placed again."""
    from datetime import UTC, datetime

    from cryptoj.store import UnitOfWork, open_store

    settings = load_settings()
    engine = open_store(settings)
    try:
        with UnitOfWork(engine) as uow:
            uow.risk.reset(by=by, at=datetime.now(UTC))
            uow.commit()
    finally:
        engine.dispose()
    _out().print(f"Kill switch cleared by {by}.")
