"""The sandbox over TLS, and `cryptoj sandbox serve` / `keygen` as users run them."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from cryptoj.coinbase.auth import CdpKey, build_rest_jwt
from cryptoj.sandbox.cli import build_exchange, configure_forms
from cryptoj.sandbox.market import packaged_bars
from tests.utils.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration
PREFIX = "/api/v3/brokerage"
TICK = Decimal("0.01")


def test_tls_sandbox_serves_signed_https_requests_verified_by_its_ca(sandbox_tls: SandboxHandle) -> None:
    assert sandbox_tls.base_url.startswith("https://")
    assert sandbox_tls.ca_file is not None
    path = PREFIX + "/accounts"
    with httpx.Client(
        base_url=sandbox_tls.base_url, verify=ssl.create_default_context(cafile=sandbox_tls.ca_file)
    ) as c:
        response = c.get(path, headers=sandbox_tls.auth_headers("GET", path))
        assert response.status_code == 200
        assert response.json()["accounts"]
        assert c.get(path).status_code == 401


def test_tls_sandbox_refuses_clients_that_do_not_trust_its_certificate(sandbox_tls: SandboxHandle) -> None:
    with httpx.Client(base_url=sandbox_tls.base_url) as c, pytest.raises(httpx.ConnectError):
        c.get(PREFIX + "/time")


def test_plain_http_to_the_tls_port_gets_no_answer(sandbox_tls: SandboxHandle) -> None:
    with httpx.Client(base_url=sandbox_tls.base_url.replace("https", "http")) as c, pytest.raises(httpx.TransportError):
        c.get(PREFIX + "/time")


def _cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "cryptoj"), "sandbox", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, CdpKey]]:
    """`cryptoj sandbox serve --port 0` with no --data and no --keys, in a subprocess."""
    process = _cli("serve", "--port", "0", "--seed", "3", cwd=tmp_path)
    assert process.stdout is not None
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            found = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
            if found:
                break
        else:
            pytest.fail("the sandbox did not start: " + "".join(lines))
        assert "sandbox-key.json" in "".join(lines)
        yield found.group(1), CdpKey.from_file(tmp_path / "sandbox-key.json")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            process.kill()


def test_serve_without_data_replays_the_real_btc_and_eth_bars(served: tuple[str, CdpKey]) -> None:
    base_url, key = served
    host = base_url.removeprefix("http://")
    with httpx.Client(base_url=base_url) as c:
        for product, file_bars in (("BTC-USD", 2880), ("ETH-USD", 1440)):
            bars = packaged_bars(product, TICK)
            assert len(bars) == file_bars
            # A finished minute of the simulated day is the recorded bar of the same minute of day.
            end = int(time.time()) // 60 * 60 - 120
            start = end - 60
            path = f"{PREFIX}/products/{product}/candles"
            token = build_rest_jwt(key, method="GET", host=host, path=path)
            body = c.get(
                path,
                params={"start": start, "end": end, "granularity": "ONE_MINUTE"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            (candle,) = body["candles"]
            recorded = bars[(start // 60) % len(bars)]
            assert Decimal(candle["open"]) == recorded.open * TICK
            assert Decimal(candle["close"]) == recorded.close * TICK
            assert candle["volume"] == format(recorded.volume.normalize(), "f")
        products = c.get(f"{PREFIX}/market/products").json()["products"]
        assert {p["product_id"] for p in products} >= {"BTC-USD", "ETH-USD"}


def test_keygen_writes_a_key_the_sandbox_can_trust(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cryptoj.sandbox.cli import sandbox_app

    runner = CliRunner()
    result = runner.invoke(sandbox_app, ["keygen", str(tmp_path / "k.json"), "--ed25519"])
    assert result.exit_code == 0, result.output
    assert "EdDSA" in result.output
    assert set(json.loads((tmp_path / "k.json").read_text())) == {"name", "privateKey"}
    assert CdpKey.from_file(tmp_path / "k.json").algorithm == "EdDSA"
    again = runner.invoke(sandbox_app, ["keygen", str(tmp_path / "k.json")])
    assert again.exit_code != 0  # never overwrites a key


def test_data_option_takes_file_or_product_equals_file(tmp_path: Path) -> None:
    from cryptoj.errors import ConfigurationError
    from cryptoj.sandbox.cli import parse_data_options

    path = tmp_path / "bars.csv"
    path.write_text("start,open,high,low,close,volume\n60,1.00,1.00,1.00,1.00,1\n")
    assert parse_data_options([str(path), f"eth-usd={path}"]) == {"BTC-USD": path, "ETH-USD": path}
    with pytest.raises(ConfigurationError, match="not found"):
        parse_data_options([str(tmp_path / "absent.csv")])


ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", ["sandbox-key.json", "key.json"])
def test_the_key_files_the_cli_writes_in_the_project_root_are_ignored_by_git(name: str) -> None:
    # Issue 17: `serve` and the README's `keygen key.json` left private keys untracked in the root.
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to ignore keys from")
    done = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, check=False)
    assert done.returncode == 0, f"git would offer {name} for commit"


def test_keygen_and_serve_say_where_the_key_went_as_a_full_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cryptoj.sandbox.cli import SANDBOX_KEY_FILE, sandbox_app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(sandbox_app, ["keygen", "key.json"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(str(tmp_path / "key.json"))
    _, note = build_exchange(keys=[], seed=1, data=[], speed=1.0, home=Path("."))
    assert note.endswith(str(tmp_path / SANDBOX_KEY_FILE))


def test_serve_forms_option_switches_the_dialect_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    from cryptoj.errors import ConfigurationError

    exchange, _ = build_exchange(keys=[], seed=1, data=[], speed=1.0, home=tmp_path)
    configure_forms(exchange, "documented")
    assert exchange.forms.dialect.value == "documented"
    with pytest.raises(ConfigurationError, match="--forms: unknown dialect 'tidy'"):
        configure_forms(exchange, "tidy")
