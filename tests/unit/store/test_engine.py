"""The database URL from settings: SQLite under the home folder by default, psycopg 3 for PostgreSQL, and a
clear ConfigurationError (never echoing a password) for anything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryptoj.config import load_settings
from cryptoj.errors import ConfigurationError
from cryptoj.store import create_store_engine, database_url, describe_url, open_store


def test_no_url_means_sqlite_under_the_home_folder(tmp_path: Path) -> None:
    url = database_url(load_settings(home=tmp_path))
    assert url.drivername == "sqlite+pysqlite"
    assert url.database == str(tmp_path / "cryptoj.db")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgresql_urls_use_psycopg_3(tmp_path: Path, scheme: str) -> None:
    url = database_url(load_settings(home=tmp_path, database_url=f"{scheme}://trader:s3cret@db.internal:5433/cryptoj"))
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.database, url.password) == ("db.internal", 5433, "cryptoj", "s3cret")
    assert "s3cret" not in describe_url(url)


def test_a_sqlite_url_names_a_file(tmp_path: Path) -> None:
    url = database_url(load_settings(home=tmp_path, database_url=f"sqlite:///{tmp_path}/other.db"))
    assert (url.drivername, url.database) == ("sqlite+pysqlite", f"{tmp_path}/other.db")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not a url at all s3cret", "not a database URL"),
        ("mysql://trader:s3cret@db/cryptoj", "supports postgresql"),
        ("postgresql+asyncpg://trader:s3cret@db/cryptoj", "supports postgresql"),
        ("postgresql://trader:s3cret@db", "names no database"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite://trader:s3cret@/x.db", "names a file, not a user, host or port"),
        ("sqlite://dbhost:5432/x.db", "names a file, not a user, host or port"),
        ("postgresql://trader:s3cret@db:abc/cryptoj", r"port is not a number between 1 and 65535"),
        ("postgresql://trader:s3cret@db:70000/cryptoj", r"port 70000 is not between 1 and 65535"),
        ("postgresql://trader:s3cret@db:0/cryptoj", r"port 0 is not between 1 and 65535"),
    ],
)
def test_a_bad_url_is_a_configuration_error_without_the_password(tmp_path: Path, raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        database_url(load_settings(home=tmp_path, database_url=raw))
    assert "s3cret" not in str(raised.value)


def test_an_unusable_home_folder_is_a_configuration_error_when_the_store_opens(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigurationError, match="cannot create the database folder"):
        open_store(load_settings(home=blocker / "home"))


def test_building_a_sqlite_engine_creates_nothing(tmp_path: Path) -> None:
    engine = create_store_engine(load_settings(home=tmp_path / "home"))
    engine.dispose()
    assert not (tmp_path / "home").exists()


def test_building_a_postgresql_engine_opens_no_connection(tmp_path: Path) -> None:
    engine = create_store_engine(load_settings(home=tmp_path, database_url="postgresql://u:p@127.0.0.1:1/db"))
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.pool.checkedout() == 0
    engine.dispose()
