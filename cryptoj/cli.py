"""The `cryptoj` command: parse options, build `Settings`, call the library, print the outcome.

Each command is a function (or a group of them, a `typer.Typer`) living beside the code it drives; `COMMANDS`
names it as `module:attribute`, and it is imported only when it runs, so `cryptoj --version` loads none.
Errors are handled once, in `CryptojGroup.main`, for every command present and future: an error of the
library (`CryptojError`) prints as one line `Type: message` and exits 1, a usage error as one line
`Error: ...` and exits 2; nothing an operator can fix prints a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, NoReturn

import typer
from typer import _click  # typer vendors click: its Context and Command types live here
from typer.core import TyperGroup

from cryptoj import __version__
from cryptoj.errors import CryptojError

__all__ = ["COMMANDS", "CryptojGroup", "app", "main"]

# Command name -> what implements it, as "module:attribute": a function typer can run (`cryptoj NAME`), or a
# `typer.Typer(add_completion=False)` of several (`cryptoj NAME COMMAND`). To add a command, write it beside
# the code it drives and name it here.
COMMANDS: dict[str, str] = {
    "run": "cryptoj.trading_cli:run",
    "up": "cryptoj.trading_cli:up",
    "backfill": "cryptoj.trading_cli:backfill",
    "backtest": "cryptoj.trading_cli:backtest",
    "positions": "cryptoj.trading_cli:positions",
    "orders": "cryptoj.trading_cli:orders",
    "risk": "cryptoj.trading_cli:risk_app",
    "db": "cryptoj.store.cli:db_app",
    "sandbox": "cryptoj.sandbox.cli:sandbox_app",
}


class CryptojGroup(TyperGroup):
    """The root command: loads each of `on_use` (`COMMANDS`) when it runs and turns expected errors into one line."""

    on_use: Mapping[str, str] = COMMANDS

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.on_use})

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        target = self.on_use.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = target.partition(":")
        implementation = getattr(importlib.import_module(module), attribute)
        if not isinstance(implementation, typer.Typer):  # a function: the one command of that name
            single = typer.Typer(add_completion=False)
            single.command(name=cmd_name)(implementation)
            implementation = single
        command = typer.main.get_command(implementation)
        command.name = cmd_name
        return command

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; standalone (the console script, typer's test runner), exit with its outcome."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            # Not standalone, so errors come back here instead of being printed by typer (over several lines).
            outcome = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:  # click's errors: usage, bad parameter, no such command
            if type(exc).__name__ == "NoArgsIsHelpError":  # the help is the message (or printed already, by rich)
                if exc.format_message():
                    typer.echo(exc.format_message(), err=True)
                sys.exit(exc.exit_code)
            command = getattr(exc, "ctx", None)
            where = f" (see '{command.command_path} --help')" if command is not None else ""
            _fail(f"Error: {exc.format_message()}{where}", exc.exit_code)
        except typer.Abort:
            _fail("Aborted.", 1)
        except CryptojError as exc:
            _fail(f"{type(exc).__name__}: {exc}", 1)
        # typer.Exit(code) comes back as its code; a command that returns normally exits 0.
        sys.exit(outcome if isinstance(outcome, int) else 0)


def _fail(line: str, code: int) -> NoReturn:
    typer.echo(" ".join(line.splitlines()), err=True)  # one line, never wrapped
    sys.exit(code)


app = typer.Typer(
    name="cryptoj",
    cls=CryptojGroup,
    help="CryptoJ Trader: spot trading on Coinbase Advanced Trade, scheduled by Prefect.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


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


def main() -> None:
    """Entry point of the console script."""
    app(prog_name="cryptoj")
