"""`cryptoj db ...`: database maintenance."""

from __future__ import annotations

import typer

__all__ = ["db_app"]

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True, add_completion=False)


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Bring the database named by the settings to the newest schema revision."""
    from cryptoj.config import load_settings
    from cryptoj.store.engine import create_store_engine, database_url, describe_url
    from cryptoj.store.migrate import upgrade

    settings = load_settings()
    engine = create_store_engine(settings)
    try:
        revision = upgrade(engine)
    finally:
        engine.dispose()
    typer.echo(f"{describe_url(database_url(settings))} is at revision {revision}")


@db_app.command("current")
def current_command() -> None:
    """Print the database's schema revision and whether it is the newest; exit 1 when it is not. Creates nothing."""
    from cryptoj.config import load_settings
    from cryptoj.store.engine import create_store_engine, database_url, describe_url
    from cryptoj.store.migrate import current_revision, database_exists, head_revision, is_known_revision

    settings = load_settings()
    engine = create_store_engine(settings)
    try:
        if not database_exists(engine):
            typer.echo(f"no database at {engine.url.database}; `cryptoj db upgrade` creates it")
            raise typer.Exit(1)
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    where = describe_url(database_url(settings))
    if current == head:
        typer.echo(f"{where} is at revision {current} (newest)")
        return
    if current is not None and not is_known_revision(current):
        typer.echo(
            f"{where} is at revision {current}, which this CryptoJ does not know (a newer CryptoJ may have "
            f"migrated it); the newest it knows is {head}"
        )
        raise typer.Exit(1)
    typer.echo(f"{where} is at revision {current or 'none (empty)'}; newest is {head}: run `cryptoj db upgrade`")
    raise typer.Exit(1)
