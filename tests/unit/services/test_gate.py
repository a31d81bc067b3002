"""The live-trading gate: no order-writing request reaches api.coinbase.com unless all four settings hold.

Every combination of exchange, execution, live_trading_confirmed and a key builds a run over a transport
that records what would be sent; the test then tries every order-writing call, through the executor the
run chose and through the raw client beneath it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptoj.coinbase.auth import CdpKey
from cryptoj.coinbase.errors import CoinbaseError
from cryptoj.coinbase.models import (
    BatchCancelRequest,
    ClosePositionRequest,
    CreateOrderRequest,
    EditOrderRequest,
    OrderConfiguration,
)
from cryptoj.coinbase.models.configurations import MarketConfig
from cryptoj.config import load_settings
from cryptoj.errors import ConfigurationError
from cryptoj.sandbox.keys import write_key_file
from cryptoj.services.executor import OrderKey
from cryptoj.services.gate import (
    LiveTradingRefused,
    endpoints_for,
    is_order_writing,
    is_real_coinbase_host,
    order_writing_refusal,
)
from cryptoj.services.live import LiveExecutor
from cryptoj.services.orders import OrderWriter
from cryptoj.services.paper_executor import PaperExecutor
from cryptoj.services.runtime import Runtime, open_runtime
from tests.utils.fixtures.services import market

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "coinbase" / "examples"
CAPTURED = EXAMPLES.parent / "captured"


@dataclass(frozen=True)
class Combo:
    """One combination of the four settings the gate reads."""

    exchange: str
    execution: str
    confirmed: bool
    with_key: bool

    def __str__(self) -> str:
        return f"{self.exchange}-{self.execution}-{'confirmed' if self.confirmed else 'unconfirmed'}-" + (
            "key" if self.with_key else "nokey"
        )

    @property
    def all_four(self) -> bool:
        return self.exchange == "coinbase" and self.execution == "live" and self.confirmed and self.with_key

    @property
    def refused(self) -> bool:
        """Live was asked for and the gate must say no (on the sandbox, live needs nothing more)."""
        return self.execution == "live" and self.exchange == "coinbase" and not self.all_four


COMBINATIONS = [
    Combo(*values)
    for values in itertools.product(("sandbox", "coinbase"), ("paper", "live"), (False, True), (False, True))
]


class RecordingTransport(httpx.AsyncBaseTransport):
    """Answers with documented bodies and remembers every request that reached it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.endswith("/best_bid_ask"):
            # The documented body holds placeholders: serve the real captured BTC-USD book as a one-book answer.
            captured = json.loads((CAPTURED / "market_product_book_btc_usd.json").read_text())
            book = json.loads(captured["response"]["body_text"])["pricebook"]
            return httpx.Response(200, json={"pricebooks": [book]})
        if request.method == "POST":
            return _json("create_order_success.json")
        return httpx.Response(404, text="404 page not found")

    def writes_to(self, host: str) -> list[str]:
        return [
            f"{r.method} {r.url.path}"
            for r in self.requests
            if r.url.host == host and is_order_writing(r.method, r.url.path)
        ]


def _json(name: str) -> httpx.Response:
    return httpx.Response(200, json=json.loads((EXAMPLES / name).read_text()))


def _settings(tmp_path: Path, key_file: Path, combo: Combo) -> Any:
    return load_settings(
        home=tmp_path,
        exchange=combo.exchange,
        execution=combo.execution,
        live_trading_confirmed=combo.confirmed,
        api_key_file=key_file if combo.with_key else None,
        # A sandbox somewhere else: no local one starts, and the recording transport answers for it.
        rest_url="http://127.0.0.1:9" if combo.exchange == "sandbox" else None,
        paper_maker_fee_rate=Decimal("0.004"),
        paper_taker_fee_rate=Decimal("0.006"),
    )


async def _try_every_write(rt: Runtime) -> None:
    """Every order-writing call, through the executor and straight through the client."""
    config = OrderConfiguration(market_market_ioc=MarketConfig(base_size=Decimal("0.001")))
    calls = [
        rt.client.create_order(
            CreateOrderRequest(client_order_id="gate-1", product_id="BTC-USD", side="BUY", order_configuration=config)
        ),
        rt.client.cancel_orders(BatchCancelRequest(order_ids=["x"]).order_ids),
        rt.client.edit_order(EditOrderRequest(order_id="x", price=Decimal(1), size=Decimal(1))),
        rt.client.close_position(ClosePositionRequest(client_order_id="gate-2", product_id="BTC-USD")),
        rt.executor.cancel_open(reason="gate test"),
    ]
    for call in calls:
        with contextlib.suppress(CoinbaseError, LiveTradingRefused, ValueError):
            await call


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory, ec_key: CdpKey) -> Path:
    path = tmp_path_factory.mktemp("gate-key") / "key.json"
    write_key_file(ec_key, path)
    return path


@pytest.mark.parametrize("combo", COMBINATIONS, ids=str)
async def test_no_order_reaches_coinbase_unless_all_four_settings_hold(
    tmp_path: Path, key_file: Path, combo: Combo
) -> None:
    settings = _settings(tmp_path, key_file, combo)
    transport = RecordingTransport()
    if combo.refused:
        with pytest.raises(LiveTradingRefused) as refused:
            async with open_runtime(settings, transport=transport):
                pass
        # The refusal names what is missing, and nothing was sent.
        assert transport.requests == []
        assert ("LIVE_TRADING_CONFIRMED" in str(refused.value)) == (not combo.confirmed)
        assert ("API key" in str(refused.value)) == (not combo.with_key)
        return
    async with open_runtime(settings, transport=transport) as rt:
        assert isinstance(rt.executor, LiveExecutor if combo.execution == "live" else PaperExecutor)
        await _try_every_write(rt)
    coinbase_writes = transport.writes_to("api.coinbase.com")
    if combo.all_four:
        assert "POST /api/v3/brokerage/orders" in coinbase_writes
    else:
        assert coinbase_writes == []
    if combo.execution == "paper":
        assert transport.writes_to("127.0.0.1") == []  # paper writes to no exchange at all


async def test_paper_on_coinbase_still_reads_market_data(tmp_path: Path, key_file: Path) -> None:
    transport = RecordingTransport()
    settings = _settings(tmp_path, key_file, Combo("coinbase", "paper", confirmed=False, with_key=True))
    async with open_runtime(settings, transport=transport) as rt:
        quotes = await rt.exchange.best_bid_ask(["BTC-USD"])
    assert quotes["BTC-USD"].bid is not None
    # The client reads Coinbase's clock (GET /time) before its first signed request.
    assert [(r.url.host, r.url.path.rsplit("/", 1)[-1]) for r in transport.requests] == [
        ("api.coinbase.com", "time"),
        ("api.coinbase.com", "best_bid_ask"),
    ]


async def test_a_paper_executor_holds_no_order_writer(tmp_path: Path, key_file: Path) -> None:
    settings = _settings(tmp_path, key_file, Combo("coinbase", "paper", confirmed=True, with_key=True))
    async with open_runtime(settings, transport=RecordingTransport()) as rt:
        held = [value for value in vars(rt.executor).values() if isinstance(value, OrderWriter)]
    assert held == []


async def test_a_refused_write_names_the_missing_settings_and_sends_nothing(tmp_path: Path, key_file: Path) -> None:
    transport = RecordingTransport()
    settings = _settings(tmp_path, key_file, Combo("coinbase", "paper", confirmed=False, with_key=True))
    async with open_runtime(settings, transport=transport) as rt:
        intent = market()
        with pytest.raises(LiveTradingRefused, match=r"CRYPTOJ_EXECUTION is paper.*LIVE_TRADING_CONFIRMED"):
            await rt.client.create_order(
                CreateOrderRequest(
                    client_order_id=OrderKey("c", "s", 0).client_order_id("BTC-USD"),
                    product_id=intent.product_id,
                    side="BUY",
                    order_configuration=OrderConfiguration(market_market_ioc=MarketConfig(base_size=Decimal(1))),
                )
            )
    # Only the client's clock check (GET /time, read before the first signed request) left the process.
    assert [f"{r.method} {r.url.path}" for r in transport.requests] == ["GET /api/v3/brokerage/time"]


def test_an_order_writer_only_comes_from_the_gate() -> None:
    with pytest.raises(TypeError, match=r"OrderWriter\.open"):
        OrderWriter(None)  # type: ignore[arg-type]


def test_the_refusal_lists_every_missing_setting(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, exchange="coinbase")
    refusal = order_writing_refusal(settings)
    assert refusal is not None
    for missing in ("CRYPTOJ_EXECUTION is paper", "LIVE_TRADING_CONFIRMED", "no API key"):
        assert missing in refusal


def test_a_sandbox_pointed_at_coinbase_is_refused(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, exchange="sandbox", rest_url="https://api.coinbase.com")
    with pytest.raises(ConfigurationError, match="CRYPTOJ_EXCHANGE=coinbase"):
        endpoints_for(settings)


def test_coinbases_static_sandbox_is_not_the_real_exchange() -> None:
    assert is_real_coinbase_host("api.coinbase.com")
    assert is_real_coinbase_host("API.Coinbase.com.")
    assert is_real_coinbase_host("advanced-trade-ws.coinbase.com")
    assert not is_real_coinbase_host("api-sandbox.coinbase.com")
    assert not is_real_coinbase_host("coinbase.com.example.org")


@pytest.mark.parametrize(
    ("method", "path", "writes"),
    [
        ("GET", "/api/v3/brokerage/orders/historical/batch", False),
        ("POST", "/api/v3/brokerage/orders/preview", False),
        ("POST", "/api/v3/brokerage/orders", True),
        ("POST", "/api/v3/brokerage/orders/batch_cancel", True),
        ("POST", "/api/v3/brokerage/convert/trade/x", True),
        ("DELETE", "/api/v3/brokerage/portfolios/x", True),
    ],
)
def test_what_counts_as_writing(method: str, path: str, writes: bool) -> None:
    assert is_order_writing(method, path) is writes
