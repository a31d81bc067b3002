"""`cryptoj db ...`: database maintenance."""

import typer

__all__ = ["db_app"]

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
