"""`cryptoj` starts fast: each command loads on use, so `--version` imports no command and no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from cryptoj.cli import COMMANDS, app

# What `cryptoj --version` must not load: the command modules, and through them the database, dataframe, HTTP,
# server, crypto and orchestration libraries (measured: --version 0.15 s of CPU with none of them loaded).
HEAVY = (
    "cryptoj.store",
    "cryptoj.sandbox",
    "cryptoj.coinbase",
    "cryptoj.config",
    "pandas",
    "sqlalchemy",
    "alembic",
    "httpx",
    "uvicorn",
    "websockets",
    "cryptography",
    "jwt",
    "pydantic",
    "prefect",
)


def test_version_loads_no_command_and_no_heavy_library() -> None:
    probe = (
        "import json, sys\n"
        "from cryptoj.cli import main\n"
        "sys.argv = ['cryptoj', '--version']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    version, loaded = done.stdout.splitlines()
    assert version.startswith("cryptoj ")
    assert [name for name in json.loads(loaded) if name.startswith(HEAVY)] == []


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"], prog_name="cryptoj")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f" {name} " in result.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_loads_under_its_name_without_completion_options(name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"], prog_name="cryptoj")
    assert result.exit_code == 0, result.output
    assert f"cryptoj {name}" in result.stdout
    assert "--install-completion" not in result.stdout
