"""The `cryptoj` console script as a user runs it."""

import subprocess
import sys
from pathlib import Path

import pytest

from cryptoj import __version__
from cryptoj.cli import main


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


def _run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """Run the console script's entry point in this process (so coverage sees it) and return its exit code."""
    monkeypatch.setattr(sys, "argv", ["cryptoj", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    return code if isinstance(code, int) else 1


def test_library_errors_print_as_type_and_message_with_exit_code_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = "s3cret-pw"  # a secret inside a malformed URL must not be echoed
    monkeypatch.setenv("CRYPTOJ_HOME", str(tmp_path))
    monkeypatch.setenv("CRYPTOJ_DATABASE_URL", f"mysql://trader:{password}@db/cryptoj")
    assert _run_main(monkeypatch, "db", "upgrade") == 1
    err = capsys.readouterr().err
    assert err.startswith("ConfigurationError: ")
    assert password not in err


def test_version_in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_main(monkeypatch, "--version") == 0
    assert capsys.readouterr().out.strip() == f"cryptoj {__version__}"
