"""The `cryptoj` command: parse options, build `Settings`, call the library, print the outcome."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from cryptoj import __version__, trading_cli
from cryptoj.errors import CryptojError
from cryptoj.sandbox.cli import sandbox_app
from cryptoj.store.cli import db_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="cryptoj",
    help="CryptoJ Trader: spot trading on Coinbase Advanced Trade, scheduled by Prefect.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"cryptoj {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """CryptoJ Trader: spot trading on Coinbase Advanced Trade, scheduled by Prefect."""


# Each command group lives beside the code it drives.
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(db_app, name="db")
for command in (
    trading_cli.run,
    trading_cli.up,
    trading_cli.backfill,
    trading_cli.backtest,
    trading_cli.positions,
    trading_cli.orders,
):
    app.command()(command)
app.add_typer(trading_cli.risk_app, name="risk")


def main() -> None:
    """Entry point of the console script: the library's base error is printed once, as `Type: message`."""
    try:
        app()  # standalone: click prints usage errors itself and exits 2
    except CryptojError as exc:
        err_console.print(f"[red]{type(exc).__name__}[/red]: {exc}", markup=True, highlight=False)
        sys.exit(1)
