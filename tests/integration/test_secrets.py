"""No secret reaches logs, artifacts, cassettes, the database, the terminal or exception text (issue 19).

The secrets are recognisable fakes: a CDP key (its name and EC private key) and a database password. Each
test sets them as a user would, runs what a user runs (a paper cycle through the real flows and the
`cryptoj` command, the command's error paths, a cassette and a WebSocket recording against the sandbox),
then scans everything the run left for the secrets in their obvious encodings. The key name appears in one
place only: the signed JWTs sent to the exchange, whose header and payload never hold the private key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import vcr
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterStartTime,
    LogFilter,
    LogFilterFlowRunId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)
from prefect.logging.handlers import APILogHandler
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, PREFECT_SERVER_DATABASE_CONNECTION_URL
from typer.testing import CliRunner

from cryptoj.cli import app
from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.client import CoinbaseAdvancedClient
from cryptoj.coinbase.errors import AuthenticationError
from cryptoj.coinbase.websocket import WebSocketHandler
from cryptoj.coinbase.ws_recording import FrameRecorder
from cryptoj.config import load_settings
from cryptoj.errors import CryptojError
from cryptoj.services.runtime import load_key
from cryptoj.stack import free_port
from cryptoj.store import open_store
from tests.utils.fixtures.coinbase import JWT_PATTERN, PEM_PATTERN
from tests.utils.fixtures.sandbox import SandboxHandle

# The flows run on the session's one Prefect harness, on the worker that started it.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("prefect")]

KEY_NAME = "organizations/canary-org-5e1f/apiKeys/canary-key-9b7c"
DB_PASSWORD = "canary-db-pw-Q7x2"
_NAME_LABELS = ("the key name", "the key name, URL-encoded")


@dataclass(frozen=True)
class Secrets:
    """One test's fake secrets, and every form in which a leak of them would show (`needles`)."""

    key: CdpKey
    # The private key as the user holds it: SEC1 PEM, as in Coinbase's key download. Never shown in a failure.
    pem: str = field(repr=False)
    needles: dict[str, bytes] = field(repr=False)

    def key_needles(self) -> dict[str, bytes]:
        """The private key's forms alone (the key name may sit inside a JWT sent to the exchange)."""
        return {label: needle for label, needle in self.needles.items() if label not in _NAME_LABELS}


def _pems(private: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    """The key as SEC1 PEM (Coinbase's key download) and as PKCS#8 PEM (how CryptoJ re-serialises it)."""
    forms = {"SEC1": serialization.PrivateFormat.TraditionalOpenSSL, "PKCS#8": serialization.PrivateFormat.PKCS8}
    return {
        form: private.private_bytes(serialization.Encoding.PEM, shape, serialization.NoEncryption()).decode()
        for form, shape in forms.items()
    }


def _body(pem: str) -> list[str]:
    return [line for line in pem.strip().splitlines() if not line.startswith("-----")]


def make_secrets(name: str = KEY_NAME) -> Secrets:
    """A fresh EC P-256 CDP key called `name`, with the needles of it and of `DB_PASSWORD`."""
    private = ec.generate_private_key(ec.SECP256R1())
    pems = _pems(private)
    scalar = private.private_numbers().private_value
    texts = {
        "the key name": name,
        "the key name, URL-encoded": quote(name, safe=""),
        "the database password": DB_PASSWORD,
        "the private key PEM": pems["SEC1"],
        "the private key PEM, JSON-escaped": json.dumps(pems["SEC1"])[1:-1],
        "the private key PEM, base64": base64.b64encode(pems["SEC1"].encode()).decode(),
        "the private scalar (hex)": format(scalar, "064x"),
        "the private scalar (decimal)": str(scalar),
    }
    needles = {label: text.encode() for label, text in texts.items()}
    needles["the private scalar (bytes)"] = scalar.to_bytes(32, "big")
    # Any 16-character piece of a PEM body line, so a fragment (an error quoting `value[:60]`) shows too;
    # pieces every P-256 key shares (ASN.1 headers, the curve's OID) are no secret and are left out.
    shared = "".join(_pems(ec.generate_private_key(ec.SECP256R1())).values())
    for form, pem in pems.items():
        body = _body(pem)
        needles[f"the {form} PEM body (base64, one line)"] = "".join(body).encode()
        needles[f"the {form} private key (DER)"] = base64.b64decode("".join(body))
        for n, line in enumerate(body):
            for at in range(0, len(line) - 15, 16):
                if line[at : at + 16] not in shared:
                    needles[f"the {form} PEM body (line {n}, characters {at}-{at + 16})"] = line[at : at + 16].encode()
    return Secrets(key=CdpKey.from_strings(name, pems["SEC1"]), pem=pems["SEC1"], needles=needles)


async def _prefect_records(since: datetime) -> dict[str, str]:
    """What the Prefect server holds on the flow runs started since `since`, as JSON lines by kind."""
    await APILogHandler.aflush()  # run logs are sent in batches: wait for the last ones
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since))
        )
        ids = [run.id for run in runs]
        tasks = await client.read_task_runs(task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=ids)))
        logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)))
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=ids))
        )
    return {
        "flow runs": "\n".join(run.model_dump_json() for run in runs),
        "task runs": "\n".join(task.model_dump_json() for task in tasks),
        "run logs": "\n".join(log.message for log in logs),
        "artifacts": "\n".join(artifact.model_dump_json() for artifact in artifacts),
    }


@dataclass
class Scan:
    """Collects every place a secret was found; `assert_clean` fails naming each place and form.

    Parameters:
        secrets: what to look for.
        caplog, capfd: the test's log records and output, read by `captured`.
    """

    secrets: Secrets
    caplog: pytest.LogCaptureFixture
    capfd: pytest.CaptureFixture[str]
    found: list[str] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)

    def raw(self, where: str, data: bytes, *, needles: dict[str, bytes] | None = None) -> None:
        """Look for every needle in raw bytes (database files, recordings)."""
        self.scanned.append(where)
        chosen = self.secrets.needles if needles is None else needles
        self.found += [f"{where}: {label}" for label, needle in chosen.items() if needle in data]

    def text(self, where: str, text: str) -> None:
        """Look for every needle, and for any JWT or PEM block at all, in text a person or a tool reads."""
        self.raw(where, text.encode("utf-8", "replace"))
        self.found += [
            f"{where}: {what}" for what, p in (("a JWT", JWT_PATTERN), ("a PEM block", PEM_PATTERN)) if p.search(text)
        ]

    def exception(self, where: str, exc: BaseException) -> None:
        """An exception's formatted traceback, and the str, repr and attributes of it and every exception it
        links to: a context `raise ... from None` hides from the traceback is still there for any tool to show.
        """
        self.text(f"{where} (traceback)", "".join(traceback.format_exception(exc)))
        linked: BaseException | None = exc
        while linked is not None:
            name = f"{where} ({type(linked).__name__})"
            public = {k: v for k, v in getattr(linked, "__dict__", {}).items() if not k.startswith("_")}
            self.text(name, f"{linked}\n{linked!r}\n{public}")
            linked = linked.__cause__ or linked.__context__

    def files(self, where: str, folder: Path) -> None:
        """Every file under `folder`, as bytes."""
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            self.raw(f"{where}/{path.relative_to(folder)}", path.read_bytes())

    def captured(self) -> None:
        """The test's log records, at every level, and what reached stdout and stderr."""
        self.text("captured logs", self.caplog.text)
        self.text("stdout and stderr", "".join(self.capfd.readouterr()))

    def prefect(self, since: datetime) -> dict[str, str]:
        """The Prefect server's records of the flow runs started since `since`, and all it stored.

        Returns the records by kind (flow runs, task runs, run logs, artifacts) for the caller's own checks.
        """
        records = asyncio.run(_prefect_records(since))
        for kind, text in records.items():
            self.text(f"Prefect's {kind}", text)
        # Whatever else the server stored (states, events, parameters): its SQLite file and write-ahead log.
        database = Path(PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split(":///", 1)[1])
        for path in (database, database.with_name(f"{database.name}-wal")):
            if path.exists():
                self.raw(f"Prefect's database ({path.name})", path.read_bytes())
        storage = Path(PREFECT_LOCAL_STORAGE_PATH.value())
        if storage.exists():
            self.files("Prefect's result storage", storage)
        return records

    def assert_clean(self) -> None:
        """Fail naming every place a secret showed (only where and what, never the secret)."""
        assert self.scanned, "nothing was scanned"
        if self.found:
            pytest.fail("secrets leaked:\n" + "\n".join(self.found), pytrace=False)


@pytest.fixture
def secrets() -> Secrets:
    """A fresh CDP key named `KEY_NAME`, and its needles."""
    return make_secrets()


@pytest.fixture
def scan(secrets: Secrets, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Scan:
    """A scan of `secrets`; the test's logs are captured at every level (a user may run with DEBUG)."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="prefect")  # which also sends DEBUG run logs to the server
    return Scan(secrets, caplog, capfd)


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output + result.stderr


def _raised(call: Any) -> BaseException:
    try:
        call()
    except CryptojError as exc:
        return exc
    raise AssertionError(f"{call} raised nothing")


def test_a_paper_cycle_from_the_cli_leaves_no_secret_anywhere(
    cli_home: Path,
    secrets: Secrets,
    scan: Scan,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The key given inline, as `export CRYPTOJ_API_PRIVATE_KEY="$(cat key.pem)"` does; the local sandbox trusts it.
    monkeypatch.setenv("CRYPTOJ_API_KEY_NAME", KEY_NAME)
    monkeypatch.setenv("CRYPTOJ_API_PRIVATE_KEY", secrets.pem)
    monkeypatch.setenv("CRYPTOJ_STRATEGY", "rebalance")  # places orders on the first cycle
    started = datetime.now(UTC)
    code, out = _invoke("run")
    assert code == 0, out
    assert "Orders this cycle" in out

    records = scan.prefect(started)
    assert {"market-data", "orders-placed", "positions", "risk-report", "reconciliation"} <= {
        artifact["key"] for artifact in map(json.loads, records["artifacts"].splitlines())
    }
    assert "intent(s)" in records["run logs"]  # the scan read the run's own logs
    scan.text("cryptoj run's output", out)
    scan.captured()
    database = cli_home / "cryptoj.db"
    assert b"orders" in database.read_bytes()
    scan.files("the run's folder", cli_home.parent)  # the store (and its WAL), reports, Prefect's home
    scan.text("the key's repr", repr(secrets.key))
    scan.assert_clean()


def test_the_cli_error_paths_say_what_is_wrong_without_the_secret(
    cli_home: Path,
    sandbox: SandboxHandle,
    secrets: Secrets,
    scan: Scan,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = cli_home.parent / "user"  # the user's own files: they hold the secrets on purpose, so are not scanned
    user.mkdir()
    started = datetime.now(UTC)

    def fails(command: tuple[str, ...], says: str) -> None:
        code, out = _invoke(*command)
        assert code == 1, out
        assert says in out, out
        scan.text(f"cryptoj {' '.join(command)} saying {says!r}", out)

    # Misspelt secrets in .env are refused by name, never echoed.
    dotenv = cli_home.parent / ".env"
    url = f"postgresql://u:{DB_PASSWORD}@db/x"  # short enough for pydantic to quote whole, as it does a key id
    dotenv.write_text(f"CRYPTOJ_API_PRIVATE_KY={json.dumps(secrets.pem)}\nCRYPTOJ_DATABSE_URL={url}\n")
    fails(("orders",), "did you mean api_private_key")
    scan.exception("a misspelt secret's error", _raised(load_settings))
    dotenv.unlink()

    # A key name without its private key.
    monkeypatch.setenv("CRYPTOJ_API_KEY_NAME", KEY_NAME)
    fails(("orders",), "must be given together")
    scan.exception("a lone key name's error", _raised(load_settings))
    monkeypatch.delenv("CRYPTOJ_API_KEY_NAME")

    # Bad key files: a damaged private key, and the PEM itself where the JSON key file belongs.
    damaged = user / "damaged.json"
    body = secrets.pem.splitlines()
    damaged.write_text(json.dumps({"name": KEY_NAME, "privateKey": "\n".join([*body[:2], *body[3:]])}))
    (user / "key.pem").write_text(secrets.pem)
    for path, says in ((damaged, "not a readable unencrypted PEM key"), (user / "key.pem", "is not JSON")):
        monkeypatch.setenv("CRYPTOJ_API_KEY_FILE", str(path))
        fails(("run",), says)
        scan.exception(f"{path.name}'s error", _raised(lambda: load_key(load_settings())))
    monkeypatch.delenv("CRYPTOJ_API_KEY_FILE")

    # A PostgreSQL URL with a password, to a server that is not there.
    monkeypatch.setenv("CRYPTOJ_DATABASE_URL", f"postgresql+psycopg://cryptoj:{DB_PASSWORD}@127.0.0.1:{free_port()}/db")
    fails(("orders",), "Connection refused")
    scan.exception("an unreachable database's error", _raised(lambda: open_store(load_settings())))
    settings = load_settings(api_key_name=KEY_NAME, api_private_key=secrets.pem)
    scan.text("the settings' repr", repr(settings))
    scan.text("the settings shown", json.dumps(settings.public_dict()))
    monkeypatch.delenv("CRYPTOJ_DATABASE_URL")

    # A key the exchange does not trust: 401 on the first signed request of a backfill.
    monkeypatch.setenv("CRYPTOJ_REST_URL", sandbox.base_url)
    monkeypatch.setenv("CRYPTOJ_API_KEY_NAME", KEY_NAME)
    monkeypatch.setenv("CRYPTOJ_API_PRIVATE_KEY", secrets.pem)
    fails(("backfill", "-p", "BTC-USD", "--days", "0.01"), "AuthenticationError")

    # A live run on exchange=coinbase without the explicit opt-in: the order is refused before it is sent.
    # Every URL points at the loopback sandbox (now trusting the key): nothing can reach Coinbase.
    sandbox.exchange.trust(secrets.key)
    monkeypatch.setenv("CRYPTOJ_WS_MARKET_URL", sandbox.ws_url)
    monkeypatch.setenv("CRYPTOJ_WS_USER_URL", sandbox.ws_url)
    monkeypatch.setenv("CRYPTOJ_EXCHANGE", "coinbase")
    monkeypatch.setenv("CRYPTOJ_EXECUTION", "live")
    monkeypatch.setenv("CRYPTOJ_STRATEGY", "rebalance")
    monkeypatch.setenv("CRYPTOJ_PRODUCTS", '["BTC-USD"]')
    for limit in ("ORDER_NOTIONAL", "POSITION_NOTIONAL", "GROSS_EXPOSURE"):  # the sandbox account is rich
        monkeypatch.setenv(f"CRYPTOJ_RISK_MAX_{limit}", "off")
    fails(("run",), "CRYPTOJ_LIVE_TRADING_CONFIRMED is not true")

    records = scan.prefect(started)
    assert "AuthenticationError" in records["task runs"]  # the scan read the failed runs
    scan.captured()
    scan.files("CRYPTOJ_HOME", cli_home)
    scan.files("PREFECT_HOME", cli_home.parent / "prefect")
    scan.assert_clean()


async def test_a_recorded_cassette_and_websocket_session_hold_no_secret(
    sandbox: SandboxHandle,
    secrets: Secrets,
    scan: Scan,
    vcr_config: dict[str, Any],
    tmp_path: Path,
) -> None:
    sandbox.exchange.trust(secrets.key)
    impostor = make_secrets()  # the same key name with another private key: the exchange answers 401
    sent: list[str] = []

    class Network(httpx.AsyncBaseTransport):
        """httpx's own transport (which vcrpy records), noting the Authorization header each request carried."""

        def __init__(self) -> None:
            self._inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request.headers.get("authorization", ""))
            return await self._inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self._inner.aclose()

    cassette = tmp_path / "recorded.yaml"
    # The project's recording settings, but recording loopback: the sandbox stands in for api.coinbase.com.
    recorder = vcr.VCR(**{**vcr_config, "ignore_localhost": False})
    with recorder.use_cassette(str(cassette), record_mode="all"):
        async with CoinbaseAdvancedClient(
            base_url=sandbox.base_url, key=secrets.key, transport=Network(), max_retries=0
        ) as client:
            await client.list_accounts()
            await client.get_transaction_summary()
        async with CoinbaseAdvancedClient(
            base_url=sandbox.base_url, key=impostor.key, transport=Network(), max_retries=0
        ) as client:
            with pytest.raises(AuthenticationError) as refused:
                await client.list_accounts()
    scan.exception("the 401's error", refused.value)

    tokens = [header.removeprefix("Bearer ") for header in sent if header.startswith("Bearer ")]
    assert len(tokens) >= 3, sent  # real Authorization headers went out
    recorded = cassette.read_text(encoding="utf-8")
    interactions = yaml.safe_load(recorded)["interactions"]
    assert len(interactions) >= 3
    for number, interaction in enumerate(interactions):
        if "authorization" in {name.lower() for name in interaction["request"]["headers"]}:
            scan.found.append(f"the cassette: an Authorization header in interaction {number}")
    scan.text("the cassette", recorded)
    scan.raw("the cassette (the impostor's key)", recorded.encode(), needles=impostor.key_needles())
    scan.raw(
        "the cassette (the JWTs sent)",
        recorded.encode(),
        needles={f"JWT {n} sent": t.encode() for n, t in enumerate(tokens)},
    )
    for token in tokens:
        header, payload = (json.loads(base64.urlsafe_b64decode(part + "==")) for part in token.split(".")[:2])
        assert header["kid"] == payload["sub"] == KEY_NAME  # the name is what a JWT is for
        decoded = json.dumps([header, payload]).encode()
        scan.raw("a JWT's header and payload", decoded, needles=secrets.key_needles() | impostor.key_needles())

    # The user channel needs a JWT in every subscribe; a recording keeps only what the exchange sent.
    frames = tmp_path / "session.jsonl"
    with FrameRecorder(frames) as sink:
        async with WebSocketHandler(url=sandbox.ws_url, key=secrets.key, recorder=sink) as ws:
            await ws.subscribe("user")
    assert sink.count >= 1
    scan.text("the WebSocket recording", frames.read_text(encoding="utf-8"))
    scan.captured()
    scan.assert_clean()
