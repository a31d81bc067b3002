"""`cryptoj sandbox ...`: run the local exchange and make keys for it."""

import typer

__all__ = ["sandbox_app"]

sandbox_app = typer.Typer(help="Run the local exchange and make keys for it.", no_args_is_help=True)
