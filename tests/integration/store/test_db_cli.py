"""`cryptoj db upgrade` and `cryptoj db current` against the database the settings name."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from cryptoj.store.cli import db_app
from cryptoj.store.migrate import head_revision
from tests.utils.fixtures.store import PgCluster

pytestmark = pytest.mark.integration


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A CryptoJ home folder in tmp_path, with no stray .env or cryptoj.toml read."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRYPTOJ_DATABASE_URL", raising=False)
    monkeypatch.setenv("CRYPTOJ_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_current_reports_a_missing_database_creating_nothing_and_upgrade_makes_it(home: Path) -> None:
    runner = CliRunner()
    before = runner.invoke(db_app, ["current"])
    assert before.exit_code == 1
    assert before.output == f"no database at {home / 'cryptoj.db'}; `cryptoj db upgrade` creates it\n"
    assert not home.exists()  # reading creates nothing: not the folder, not an empty file
    upgraded = runner.invoke(db_app, ["upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"is at revision {head_revision()}" in upgraded.output
    assert (home / "cryptoj.db").is_file()
    after = runner.invoke(db_app, ["current"])
    assert after.exit_code == 0
    assert "(newest)" in after.output


def test_current_creates_no_folder_for_a_database_url_that_names_none(tmp_path: Path, home: Path) -> None:
    # It made /nonexistent-dir/x at the root of the filesystem for sqlite:////nonexistent-dir/x/cryptoj.db.
    missing = tmp_path / "nonexistent-dir" / "x" / "cryptoj.db"
    result = CliRunner().invoke(db_app, ["current"], env={"CRYPTOJ_DATABASE_URL": f"sqlite:///{missing}"})
    assert result.exit_code == 1
    assert result.output == f"no database at {missing}; `cryptoj db upgrade` creates it\n"
    assert not (tmp_path / "nonexistent-dir").exists()


def test_current_on_an_empty_database_file_says_it_is_empty(home: Path) -> None:
    home.mkdir()
    sqlite3.connect(home / "cryptoj.db").close()
    result = CliRunner().invoke(db_app, ["current"])
    assert result.exit_code == 1
    assert "is at revision none (empty)" in result.output
    assert "run `cryptoj db upgrade`" in result.output


def test_current_says_when_the_revision_is_unknown_rather_than_behind(home: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(db_app, ["upgrade"]).exit_code == 0
    with sqlite3.connect(home / "cryptoj.db") as connection:  # as a newer CryptoJ would have left it
        connection.execute("UPDATE alembic_version SET version_num = 'f00dfeed9999'")
    connection.close()
    result = runner.invoke(db_app, ["current"])
    assert result.exit_code == 1
    assert "cryptoj db upgrade" not in result.output
    assert result.output.endswith(
        f"is at revision f00dfeed9999, which this CryptoJ does not know (a newer CryptoJ may have migrated it); "
        f"the newest it knows is {head_revision()}\n"
    )


def test_a_postgresql_url_is_printed_with_its_password_masked(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTOJ_DATABASE_URL", f"postgresql://trader:s3cret@/cryptoj?host={home}&port=1")
    result = CliRunner().invoke(db_app, ["upgrade"])
    assert result.exit_code != 0
    assert "s3cret" not in result.output
    assert "s3cret" not in str(result.exception)


@pytest.mark.postgres
def test_current_and_upgrade_work_on_an_empty_postgresql_database(
    home: Path, monkeypatch: pytest.MonkeyPatch, pg_cluster: PgCluster
) -> None:
    admin = create_engine(pg_cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS cryptoj_cli_empty WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE cryptoj_cli_empty"))
    try:
        monkeypatch.setenv("CRYPTOJ_DATABASE_URL", pg_cluster.url("cryptoj_cli_empty"))
        runner = CliRunner()
        before = runner.invoke(db_app, ["current"])
        assert before.exit_code == 1, before.output
        assert "none (empty)" in before.output
        upgraded = runner.invoke(db_app, ["upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        assert "cryptoj_cli_empty" in upgraded.output
        assert f"is at revision {head_revision()}" in upgraded.output
        again = runner.invoke(db_app, ["upgrade"])  # nothing left to do
        assert again.exit_code == 0, again.output
        after = runner.invoke(db_app, ["current"])
        assert after.exit_code == 0, after.output
        assert "(newest)" in after.output
    finally:
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE IF EXISTS cryptoj_cli_empty WITH (FORCE)"))
        admin.dispose()
