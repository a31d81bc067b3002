"""Expected errors print one clear line, never a traceback (issue 15).

Each case runs the real `cryptoj` command: in-process through typer's runner (the error handling sits in the
root command, so the runner shows what a user sees) and, where only a separate process shows it faithfully,
as the console script. Every case asserts one line on stderr naming what was wrong, and the exit code.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner, Result

from cryptoj.cli import app
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.keys import generate_key, write_key_file
from cryptoj.sandbox.server import SandboxServer, SandboxStartError

pytestmark = pytest.mark.integration

CRYPTOJ = Path(sys.executable).with_name("cryptoj")


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env, prog_name="cryptoj")


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def _failed(result: Result, code: int = 1) -> str:
    """The one line a failed command printed on stderr; no exception escaped it."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return _one_line(result.stderr)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """A CDP key file the sandbox trusts, so `serve` makes none of its own."""
    path = tmp_path / "key.json"
    write_key_file(generate_key(), path)
    return path


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another socket listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A certificate, its key, another certificate's key, and the key encrypted with a pass phrase."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert, other = ca.issue_cert("127.0.0.1"), ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    other.private_key_pem.write_to_path(str(folder / "other-key.pem"))
    private = serialization.load_pem_private_key(cert.private_key_pem.bytes(), password=None)
    encrypted = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass phrase"),
    )
    (folder / "encrypted-key.pem").write_bytes(encrypted)
    return {path.stem: path for path in folder.iterdir()}


# The sandbox server ---------------------------------------------------------------------------------------


def test_a_port_in_use(key_file: Path, busy_port: int) -> None:
    line = _failed(_run("sandbox", "serve", "--port", str(busy_port), "--keys", str(key_file)))
    assert line == (
        f"SandboxStartError: cannot listen on 127.0.0.1:{busy_port}: the address is in use; "
        "give another port, or 0 for any free port"
    )


def test_a_port_out_of_range_is_a_usage_error_before_anything_is_made(tmp_path: Path) -> None:
    line = _failed(_run("sandbox", "serve", "--port", "70000"), code=2)
    assert line == (
        "Error: Invalid value for '--port': Input should be less than or equal to 65535 "
        "(see 'cryptoj sandbox serve --help')"
    )
    assert list(tmp_path.iterdir()) == []  # no sandbox-key.json made for a server that never ran


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("no.such.host.invalid", "cannot listen on 'no.such.host.invalid': no such address"),
        ("192.0.2.1", "cannot listen on 192.0.2.1:0: 192.0.2.1 is not an address of this machine"),
    ],
)
def test_a_bad_host(key_file: Path, host: str, expected: str) -> None:
    line = _failed(_run("sandbox", "serve", "--host", host, "--port", "0", "--keys", str(key_file)))
    assert line.startswith(f"SandboxStartError: {expected}")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("other-key.pem", "the TLS key {folder}/other-key.pem is not the key of the certificate {folder}/cert.pem"),
        (
            "encrypted-key.pem",
            "the TLS key {folder}/encrypted-key.pem is encrypted; the sandbox needs an unencrypted key",
        ),
        ("missing", "cannot read the TLS key file {folder}/missing: No such file or directory"),
        ("", "cannot read the TLS key file {folder}: Is a directory"),  # a path that cannot be read as a file
    ],
)
def test_a_tls_key_that_cannot_serve(key_file: Path, tls_files: dict[str, Path], key: str, expected: str) -> None:
    folder = tls_files["cert"].parent
    keyfile = folder / key if key else folder
    result = _run(
        "sandbox", "serve", "--port", "0", "--keys", str(key_file),
        "--certfile", str(tls_files["cert"]), "--keyfile", str(keyfile),
    )  # fmt: skip
    assert _failed(result) == f"SandboxStartError: {expected.format(folder=folder)}"
    assert result.stdout == ""  # nothing announced


def test_a_tls_certificate_that_is_not_pem(key_file: Path, tls_files: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate\n")
    result = _run(
        "sandbox", "serve", "--keys", str(key_file),
        "--certfile", str(tmp_path / "cert.pem"), "--keyfile", str(tls_files["key"]),
    )  # fmt: skip
    line = _failed(result)
    assert line.startswith(f"SandboxStartError: cannot load TLS from {tmp_path}/cert.pem and {tls_files['key']} (")
    assert line.endswith("): give PEM files")


def test_a_server_built_in_code_refuses_a_port_out_of_range_too() -> None:
    with pytest.raises(SandboxStartError, match=r"^port 70000 is not between 0 and 65535 \(0: any free port\)$"):
        SandboxServer(SandboxExchange(seed=1), port=70000).start()


def test_a_missing_tls_certificate(key_file: Path, tls_files: dict[str, Path], tmp_path: Path) -> None:
    result = _run(
        "sandbox", "serve", "--keys", str(key_file),
        "--certfile", str(tmp_path / "cert.pem"), "--keyfile", str(tls_files["key"]),
    )  # fmt: skip
    assert _failed(result) == (
        f"SandboxStartError: cannot read the TLS certificate file {tmp_path}/cert.pem: No such file or directory"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read key file {path}: No such file or directory"),
        (b"\x30\x82\x01\x0a\xf3\x00binary DER", "key file {path} is not JSON"),
        (b'{"name": "organizations/o/apiKeys/k"}', "key file {path} needs string fields"),
    ],
)
def test_a_cdp_key_file_that_cannot_be_used(tmp_path: Path, content: bytes | None, expected: str) -> None:
    path = tmp_path / "cdp_api_key.json"
    if content is not None:
        path.write_bytes(content)
    line = _failed(_run("sandbox", "serve", "--port", "0", "--keys", str(path)))
    assert line.startswith(f"InvalidKeyError: {expected.format(path=path)}")


def test_a_cdp_key_path_that_is_a_folder(tmp_path: Path) -> None:
    line = _failed(_run("sandbox", "serve", "--port", "0", "--keys", str(tmp_path)))
    assert line == f"InvalidKeyError: cannot read key file {tmp_path}: Is a directory"


# Settings ------------------------------------------------------------------------------------------------


def test_products_that_are_not_json() -> None:
    line = _failed(_run("db", "current", env={"CRYPTOJ_PRODUCTS": "BTC-USD"}))
    assert line == (
        "ConfigurationError: invalid settings: products (CRYPTOJ_PRODUCTS): not JSON; give JSON such as "
        '["BTC-USD","ETH-USD"]'
    )


def test_a_malformed_cryptoj_toml(tmp_path: Path) -> None:
    (tmp_path / "cryptoj.toml").write_text('exchange = "sandbox"\nexecution = live\n')
    line = _failed(_run("db", "current"))
    assert line.startswith("ConfigurationError: invalid settings: cryptoj.toml is not valid TOML: Invalid value")
    assert "line 2" in line


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://trader:pw-s3cret@db:abc/cryptoj", "its port is not a number between 1 and 65535"),
        ("postgresql://trader:pw-s3cret@db:70000/cryptoj", "port 70000 is not between 1 and 65535"),
        ("sqlite://trader:pw-s3cret@/cryptoj.db", "a SQLite URL names a file, not a user, host or port"),
    ],
)
def test_a_database_url_with_a_bad_port_or_form(url: str, expected: str) -> None:
    line = _failed(_run("db", "upgrade", env={"CRYPTOJ_DATABASE_URL": url}))
    assert line.startswith(f"ConfigurationError: database_url: {expected}")
    assert "pw-s3cret" not in line


def test_a_misspelt_setting_is_named_with_the_likely_one() -> None:
    line = _failed(_run("db", "current", env={"CRYPTOJ_EXECUTON": "live"}))
    assert line == (
        "ConfigurationError: invalid settings: executon (CRYPTOJ_EXECUTON): not a setting; "
        "did you mean execution (CRYPTOJ_EXECUTION)?"
    )


def test_a_value_out_of_range_says_what_is_allowed() -> None:
    line = _failed(_run("db", "current", env={"CRYPTOJ_SANDBOX_PORT": "70000", "CRYPTOJ_EXECUTION": "Live"}))
    assert "execution (CRYPTOJ_EXECUTION): Input should be 'paper' or 'live'" in line
    assert "sandbox_port (CRYPTOJ_SANDBOX_PORT): Input should be less than or equal to 65535" in line


def test_a_dotenv_shared_with_other_tools_does_not_break_settings(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"PREFECT_API_URL=http://127.0.0.1:4200/api\nCRYPTOJ_HOME={tmp_path / 'home'}\n")
    result = _run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home" / "cryptoj.db").is_file()


# Usage errors and the console script ---------------------------------------------------------------------


def test_no_command_prints_the_help() -> None:
    result = _run()
    assert result.exit_code == 2
    assert "Usage: cryptoj [OPTIONS] COMMAND [ARGS]..." in result.output
    assert "Traceback" not in result.output


def test_an_unknown_command() -> None:
    assert (
        _failed(_run("no-such-command"), code=2) == "Error: No such command 'no-such-command'. (see 'cryptoj --help')"
    )


def test_an_unknown_option() -> None:
    line = _failed(_run("db", "current", "--bogus"), code=2)
    assert line == "Error: No such option: --bogus (see 'cryptoj db current --help')"


def _console(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CRYPTOJ), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_console_script_prints_one_unwrapped_line_on_stderr(tmp_path: Path) -> None:
    # Long messages were wrapped at 80 columns by rich; the installed script is what an operator runs.
    (tmp_path / ".env").write_text("CRYPTOJ_DATABASE_ULR=postgresql://trader:pw-s3cret@db/cryptoj\n")
    done = _console("db", "current", env={"COLUMNS": "40"})
    assert done.returncode == 1
    assert done.stdout == ""
    line = _one_line(done.stderr)
    assert line.startswith("ConfigurationError: invalid settings: database_ulr (CRYPTOJ_DATABASE_ULR): not a setting")
    assert "pw-s3cret" not in done.stderr


def test_the_console_script_reports_a_busy_port_in_one_line(key_file: Path, busy_port: int) -> None:
    done = _console("sandbox", "serve", "--port", str(busy_port), "--keys", str(key_file))
    assert done.returncode == 1
    assert _one_line(done.stderr).startswith(f"SandboxStartError: cannot listen on 127.0.0.1:{busy_port}")
    assert json.loads(key_file.read_text())["name"]  # the key given is left as it was
