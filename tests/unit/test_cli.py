"""The `cryptoj` console script as a user runs it."""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cryptoj import __version__
from cryptoj.cli import COMMANDS, CryptojGroup, main
from cryptoj.store.errors import StoreUnavailable


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


def _app_with(command: Callable[[], None]) -> typer.Typer:
    """A root command like cryptoj's, with one more command: how a future command is handled."""
    root = typer.Typer(cls=CryptojGroup, add_completion=False)
    root.command("version")(lambda: typer.echo(__version__))
    root.command("future")(command)
    return root


def test_a_future_commands_library_error_is_one_line_too() -> None:
    def fails() -> None:
        raise StoreUnavailable("cannot open a transaction: OperationalError: the database is locked\nmore detail")

    result = CliRunner().invoke(_app_with(fails), ["future"], prog_name="cryptoj")
    assert result.exit_code == 1
    assert result.stderr == (
        "StoreUnavailable: cannot open a transaction: OperationalError: the database is locked more detail\n"
    )


def test_an_aborted_command_says_so_in_one_line() -> None:
    def aborts() -> None:
        raise typer.Abort

    result = CliRunner().invoke(_app_with(aborts), ["future"], prog_name="cryptoj")
    assert (result.exit_code, result.stderr) == (1, "Aborted.\n")


def test_an_exit_code_a_command_chooses_is_kept() -> None:
    def exits() -> None:
        raise typer.Exit(3)

    assert CliRunner().invoke(_app_with(exits), ["future"]).exit_code == 3


def test_embedded_use_returns_instead_of_exiting() -> None:
    group = typer.main.get_command(_app_with(lambda: None))
    assert group.main(["future"], standalone_mode=False) is None


class _WithKeygen(CryptojGroup):
    """The root command with one more entry, naming a plain function as `cryptoj run` and the like will."""

    on_use = {**COMMANDS, "keygen": "cryptoj.sandbox.cli:keygen"}


def test_a_command_named_by_its_function_runs_under_that_name(tmp_path: Path) -> None:
    root = typer.Typer(cls=_WithKeygen, add_completion=False)
    root.callback()(lambda: None)
    runner = CliRunner()
    listed = runner.invoke(root, ["--help"], prog_name="cryptoj")
    assert " keygen " in listed.stdout
    assert " sandbox " in listed.stdout
    result = runner.invoke(root, ["keygen", str(tmp_path / "key.json")], prog_name="cryptoj")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "key.json").is_file()
    again = runner.invoke(root, ["keygen", str(tmp_path / "key.json")], prog_name="cryptoj")
    assert again.exit_code == 1
    assert again.stderr == f"ConfigurationError: {tmp_path / 'key.json'} exists; refusing to overwrite a key\n"
