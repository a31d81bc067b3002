"""The `cryptoj` console script as a user runs it."""

import subprocess
import sys

from cryptoj import __version__


def _cryptoj(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from cryptoj.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_version_prints_the_package_version() -> None:
    result = _cryptoj("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"cryptoj {__version__}"


def test_help_lists_the_command_groups() -> None:
    result = _cryptoj("--help")
    assert result.returncode == 0
    assert "sandbox" in result.stdout
    assert "db" in result.stdout


def test_unknown_command_fails_with_a_usage_error() -> None:
    result = _cryptoj("no-such-command")
    assert result.returncode == 2
    assert "No such command" in result.stderr
