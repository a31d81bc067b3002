"""The store tests never touch the database a user's environment names (issue 14)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_exported_database_url_dotenv_and_toml_are_left_untouched(tmp_path: Path) -> None:
    # The user's own database, named three ways: exported, in a .env and in a cryptoj.toml where pytest starts.
    user_db = tmp_path / "user.db"
    with sqlite3.connect(user_db) as connection:
        connection.execute("CREATE TABLE mine (note TEXT)")
        connection.execute("INSERT INTO mine VALUES ('keep me')")
    connection.close()
    before = _digest(user_db)
    start = tmp_path / "start"
    start.mkdir()
    (start / ".env").write_text(f"CRYPTOJ_DATABASE_URL=sqlite:///{tmp_path}/dotenv/cryptoj.db\n")
    (start / "cryptoj.toml").write_text(f'database_url = "sqlite:///{tmp_path}/toml/cryptoj.db"\n')
    env = {**os.environ, "CRYPTOJ_DATABASE_URL": f"sqlite:///{user_db}", "CRYPTOJ_HOME": str(tmp_path / "home")}
    suite = REPO / "tests" / "integration" / "store" / "test_unit_of_work.py"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(suite),
            "-k",
            "sqlite",
            "-q",
            "-n",
            "0",
            "--no-cov",
            "-p",
            "no:cacheprovider",
        ],
        cwd=start,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
    assert _digest(user_db) == before
    # No database (nor WAL file) was made anywhere the user's settings point: not home, not the .env's, not the toml's.
    assert sorted(tmp_path.rglob("*.db*")) == [user_db]
    assert not (tmp_path / "home").exists()
