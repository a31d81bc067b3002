"""Settings: sources and their priority, key pairing, masked secrets, the real-money gates, typed errors."""

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from cryptoj.config import ExchangeName, ExecutionMode, Settings, load_settings
from cryptoj.errors import ConfigurationError

SECRET_NAME = "organizations/org-secret-7/apiKeys/key-secret-9"
SECRET_KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIOnly-a-test-value\n-----END EC PRIVATE KEY-----\n"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run every test in an empty folder with no CRYPTOJ_* variables, so no real setting leaks in."""
    for name in list(os.environ):
        if name.startswith("CRYPTOJ_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _live(**overrides: object) -> Settings:
    fields: dict[str, object] = {
        "exchange": "coinbase",
        "execution": "live",
        "live_trading_confirmed": True,
        "api_key_name": SECRET_NAME,
        "api_private_key": SECRET_KEY,
    }
    fields.update(overrides)
    return load_settings(**fields)


def test_defaults_trade_nothing_real(isolated: Path) -> None:
    settings = load_settings()
    assert settings.exchange is ExchangeName.SANDBOX
    assert settings.execution is ExecutionMode.PAPER
    assert not settings.live_trading_confirmed
    assert not settings.has_credentials
    assert not settings.sends_real_orders
    assert settings.products == ["BTC-USD", "ETH-USD"]


def test_env_variables_with_the_prefix_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTOJ_EXCHANGE", "coinbase")
    monkeypatch.setenv("CRYPTOJ_PRODUCTS", '["SOL-USD"]')
    monkeypatch.setenv("EXCHANGE", "sandbox")  # unprefixed: ignored
    settings = load_settings()
    assert settings.exchange is ExchangeName.COINBASE
    assert settings.products == ["SOL-USD"]


def test_toml_file_in_the_working_folder_is_read(isolated: Path) -> None:
    (isolated / "cryptoj.toml").write_text('execution = "live"\nsandbox_port = 8443\nproducts = ["ETH-USD"]\n')
    settings = load_settings()
    assert settings.execution is ExecutionMode.LIVE
    assert settings.sandbox_port == 8443
    assert settings.products == ["ETH-USD"]


def test_priority_is_keyword_then_env_then_dotenv_then_toml(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (isolated / "cryptoj.toml").write_text("sandbox_port = 1001\nsandbox_seed = 1\nmax_retries = 1\n")
    (isolated / ".env").write_text("CRYPTOJ_SANDBOX_PORT=1002\nCRYPTOJ_SANDBOX_SEED=2\n")
    monkeypatch.setenv("CRYPTOJ_SANDBOX_PORT", "1003")
    settings = load_settings(sandbox_port=1004)
    assert settings.sandbox_port == 1004
    assert load_settings().sandbox_port == 1003
    assert settings.sandbox_seed == 2
    assert settings.max_retries == 1


def test_keyword_overrides_win_for_tests() -> None:
    assert load_settings(execution="live").execution is ExecutionMode.LIVE


def test_api_keys_must_come_in_pairs() -> None:
    with pytest.raises(ConfigurationError, match="must be given together"):
        load_settings(api_key_name=SECRET_NAME)
    with pytest.raises(ConfigurationError, match="must be given together"):
        load_settings(api_private_key=SECRET_KEY)


def test_a_key_file_and_inline_keys_are_exclusive(isolated: Path) -> None:
    with pytest.raises(ConfigurationError, match="either api_key_file or"):
        load_settings(api_key_name=SECRET_NAME, api_private_key=SECRET_KEY, api_key_file=isolated / "key.json")
    assert load_settings(api_key_file=isolated / "key.json").has_credentials


def test_secrets_are_masked_in_repr_str_and_public_dict() -> None:
    settings = _live(database_url="postgresql+psycopg://trader:pw-secret-1@db/cryptoj")
    for text in (repr(settings), str(settings), str(settings.public_dict())):
        assert SECRET_NAME not in text
        assert "MHcCAQEEIOnly" not in text
        assert "pw-secret-1" not in text
    public = settings.public_dict()
    assert public["api_key_name"] == public["api_private_key"] == public["database_url"] == "**********"
    assert public["exchange"] == "coinbase"
    assert settings.api_key_name is not None
    assert settings.api_key_name.get_secret_value() == SECRET_NAME


def test_public_dict_leaves_unset_secrets_as_none() -> None:
    public = load_settings().public_dict()
    assert public["api_key_name"] is None
    assert public["database_url"] is None


def test_real_orders_need_every_gate_open() -> None:
    assert _live().sends_real_orders
    assert _live(api_key_name=None, api_private_key=None, api_key_file="key.json").sends_real_orders


@pytest.mark.parametrize(
    "closed_gate",
    [
        {"exchange": "sandbox"},
        {"execution": "paper"},
        {"live_trading_confirmed": False},
        {"api_key_name": None, "api_private_key": None},
    ],
)
def test_any_closed_gate_means_no_real_orders(closed_gate: dict[str, object]) -> None:
    assert not _live(**closed_gate).sends_real_orders


def test_bad_values_become_configuration_errors_without_echoing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTOJ_SANDBOX_PORT", "99999")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(api_key_name=SECRET_NAME, api_private_key=SECRET_KEY, exchange="kraken")
    message = str(caught.value)
    assert "sandbox_port" in message
    assert "exchange" in message
    assert SECRET_NAME not in message
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None  # not even a hidden link to pydantic's error, which quotes values


def test_a_misspelt_secret_is_refused_by_name_with_no_link_to_its_value() -> None:
    with pytest.raises(ConfigurationError, match="did you mean database_url") as caught:
        load_settings(databse_url="postgresql://u:pw-secret-1@db/x")
    assert "pw-secret-1" not in str(caught.value)
    assert caught.value.__context__ is None  # pydantic's error quotes the value (a short one whole)


def test_a_malformed_secret_value_is_not_echoed() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(api_key_name=["not", SECRET_NAME], api_private_key=SECRET_KEY)
    assert "api_key_name" in str(caught.value)
    assert SECRET_NAME not in str(caught.value)


@pytest.mark.parametrize(
    ("field", "bad", "secret"),
    [
        ("api_private_key", ["x", SECRET_KEY], "MHcCAQEEIOnly"),
        ("api_private_key", {"pem": SECRET_KEY}, "MHcCAQEEIOnly"),
        ("database_url", ["postgresql+psycopg://trader:pw-secret-1@db/cryptoj"], "pw-secret-1"),
    ],
)
def test_no_malformed_secret_field_is_echoed(field: str, bad: object, secret: str) -> None:
    pair = {"api_key_name": SECRET_NAME} if field == "api_private_key" else {}
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**pair, **{field: bad})
    assert field in str(caught.value)
    assert secret not in str(caught.value)
    assert SECRET_NAME not in str(caught.value)


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="no_such_setting"):
        load_settings(no_such_setting=1)


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.exchange = ExchangeName.COINBASE  # type: ignore[misc]


def test_sqlite_path_sits_under_home(isolated: Path) -> None:
    assert load_settings(home=isolated).sqlite_path == isolated / "cryptoj.db"


def test_rates_and_timeouts_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="public_requests_per_second"):
        load_settings(public_requests_per_second=0)
    with pytest.raises(ConfigurationError, match="products"):
        load_settings(products=[])


# Settings an operator commonly gets wrong: each is one clear ConfigurationError (issue 15) --------------------


def test_a_dotenv_shared_with_other_tools_is_read_for_its_cryptoj_lines_only(isolated: Path) -> None:
    (isolated / ".env").write_text(
        "PREFECT_API_URL=http://127.0.0.1:4200/api\nDATABASE_URL=postgresql://elsewhere/db\nCRYPTOJ_SANDBOX_SEED=11\n"
    )
    settings = load_settings()
    assert settings.sandbox_seed == 11
    assert settings.database_url is None


@pytest.mark.parametrize("where", ["environment", "dotenv"])
def test_a_misspelt_cryptoj_variable_is_refused_with_the_likely_name(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    # Ignoring it would run on the default: here, on SQLite instead of the database the operator meant.
    if where == "environment":
        monkeypatch.setenv("CRYPTOJ_DATABASE_ULR", "postgresql://trader:pw-secret-1@db/cryptoj")
    else:
        (isolated / ".env").write_text("CRYPTOJ_DATABASE_ULR=postgresql://trader:pw-secret-1@db/cryptoj\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert "CRYPTOJ_DATABASE_ULR" in message
    assert (
        "database_ulr (CRYPTOJ_DATABASE_ULR): not a setting; did you mean database_url (CRYPTOJ_DATABASE_URL)?"
        in message
    )
    assert "pw-secret-1" not in message


def test_an_unknown_key_in_cryptoj_toml_is_refused_by_name(isolated: Path) -> None:
    (isolated / "cryptoj.toml").write_text('exchnage = "coinbase"\n')
    with pytest.raises(
        ConfigurationError, match=r"exchnage \(CRYPTOJ_EXCHNAGE\): not a setting; did you mean exchange"
    ):
        load_settings()


@pytest.mark.parametrize("where", ["environment", "dotenv"])
def test_products_that_are_not_json_say_what_is_expected(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "environment":
        monkeypatch.setenv("CRYPTOJ_PRODUCTS", "BTC-USD,ETH-USD")
    else:
        (isolated / ".env").write_text("CRYPTOJ_PRODUCTS=BTC-USD,ETH-USD\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert str(caught.value) == (
        'invalid settings: products (CRYPTOJ_PRODUCTS): not JSON; give JSON such as ["BTC-USD","ETH-USD"]'
    )


def test_a_malformed_cryptoj_toml_names_the_file_and_the_place(isolated: Path) -> None:
    (isolated / "cryptoj.toml").write_text('exchange = "sandbox"\nexecution = live\n')
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("invalid settings: cryptoj.toml is not valid TOML: ")
    assert "line 2" in message
    assert "\n" not in message


def test_a_home_or_key_file_written_with_a_tilde_means_the_users_home(monkeypatch: pytest.MonkeyPatch) -> None:
    # .env files and TOML do no shell expansion: `~/x` would otherwise be a folder named "~" here.
    monkeypatch.setenv("CRYPTOJ_HOME", "~/cryptoj-home")
    monkeypatch.setenv("CRYPTOJ_API_KEY_FILE", "~/keys/cdp.json")
    settings = load_settings()
    assert settings.home == Path.home() / "cryptoj-home"
    assert settings.api_key_file == Path.home() / "keys" / "cdp.json"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("rest_url", "api.coinbase.com", "rest_url (CRYPTOJ_REST_URL): give http(s)://host[:port]"),
        ("rest_url", "ftp://api.coinbase.com", "rest_url (CRYPTOJ_REST_URL): give http(s)://host[:port]"),
        ("ws_market_url", "https://advanced-trade-ws.coinbase.com", "ws_market_url (CRYPTOJ_WS_MARKET_URL): give ws"),
        ("ws_user_url", "advanced-trade-ws-user.coinbase.com", "ws_user_url (CRYPTOJ_WS_USER_URL): give ws"),
    ],
)
def test_endpoints_must_be_urls_of_their_kind(
    monkeypatch: pytest.MonkeyPatch, field: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(f"CRYPTOJ_{field.upper()}", value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert expected in str(caught.value)


def test_well_formed_endpoints_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTOJ_REST_URL", "https://api-sandbox.coinbase.com")
    monkeypatch.setenv("CRYPTOJ_WS_MARKET_URL", "ws://127.0.0.1:8765")
    settings = load_settings()
    assert settings.rest_url == "https://api-sandbox.coinbase.com"
    assert settings.ws_market_url == "ws://127.0.0.1:8765"


def test_each_problem_names_the_variable_that_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTOJ_SANDBOX_PORT", "99999")
    monkeypatch.setenv("CRYPTOJ_EXECUTION", "Live")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert "execution (CRYPTOJ_EXECUTION): Input should be 'paper' or 'live'" in message
    assert "sandbox_port (CRYPTOJ_SANDBOX_PORT): Input should be less than or equal to 65535" in message


@pytest.mark.parametrize("text", ["", "off", "None"])
def test_an_empty_or_off_risk_limit_switches_it_off(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("CRYPTOJ_RISK_MAX_ORDER_NOTIONAL", text)
    monkeypatch.setenv("CRYPTOJ_RISK_PRICE_BAND", text)
    settings = load_settings()
    assert settings.risk_max_order_notional is None
    assert settings.risk_price_band is None
    assert settings.risk_max_gross_exposure == Decimal(10_000)  # the others keep their defaults


# Hostile values (issue 19): each is one ConfigurationError naming the variable, never another exception -------


@pytest.mark.parametrize("name", ["PRODUCTS", "REBALANCE_WEIGHTS", "PAPER_CASH"])
def test_json_nested_thousands_deep_is_not_json_not_a_recursion_error(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(f"CRYPTOJ_{name}", "[" * 100_000)
    with pytest.raises(ConfigurationError, match=rf"{name.lower()} \(CRYPTOJ_{name}\): not JSON"):
        load_settings()


@pytest.mark.parametrize(
    "product_id",
    ["", " ", "../accounts", "BTC/USD", "BTC-USD?limit=1", "BTC-USD#x", "BTC%2FUSD", "BTC-USD\x00", "\u202eBTC-USD",
     "BTC USD", "BTC", "BTC--USD", "-BTC-USD", "BTC-USD\n", "'; DROP TABLE orders; --", "x" * 10_000],
)  # fmt: skip
def test_a_product_id_that_could_change_a_request_is_refused(monkeypatch: pytest.MonkeyPatch, product_id: str) -> None:
    monkeypatch.setenv("CRYPTOJ_PRODUCTS", json.dumps(["ETH-USD", product_id]))
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert str(caught.value) == (
        "invalid settings: products (CRYPTOJ_PRODUCTS): item 1 is not a product id such as BTC-USD "
        "(letters and digits joined by -)"
    )


@pytest.mark.parametrize("product_id", ["BTC-USD", "1INCH-USD", "BIT-26JUN26-CDE", "BTC-PERP-INTX", "eth-usdc"])
def test_real_product_ids_are_kept(monkeypatch: pytest.MonkeyPatch, product_id: str) -> None:
    monkeypatch.setenv("CRYPTOJ_PRODUCTS", json.dumps([product_id]))
    monkeypatch.setenv("CRYPTOJ_REBALANCE_WEIGHTS", json.dumps({product_id: "0.5"}))
    settings = load_settings()
    assert settings.products == [product_id]
    assert settings.rebalance_weights == {product_id: Decimal("0.5")}


def test_a_weight_for_something_that_is_no_product_id_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTOJ_REBALANCE_WEIGHTS", json.dumps({"../x": "0.5"}))
    with pytest.raises(ConfigurationError, match=r"rebalance_weights \(CRYPTOJ_REBALANCE_WEIGHTS\): its keys must"):
        load_settings()


@pytest.mark.parametrize(
    "name",
    ["REQUEST_TIMEOUT_SECONDS", "INTENT_TTL_SECONDS", "PUBLIC_REQUESTS_PER_SECOND", "PRIVATE_REQUESTS_PER_SECOND"],
)
@pytest.mark.parametrize("text", ["inf", "Infinity", "1e999"])
def test_an_infinite_timeout_or_rate_is_refused(monkeypatch: pytest.MonkeyPatch, name: str, text: str) -> None:
    # float("inf") parses, and an infinite timeout waits forever.
    monkeypatch.setenv(f"CRYPTOJ_{name}", text)
    with pytest.raises(
        ConfigurationError, match=rf"{name.lower()} \(CRYPTOJ_{name}\): Input should be a finite number"
    ):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REST_URL", "http://127.0.0.1:99999"),
        ("REST_URL", "https://api.coinbase.com:port"),
        ("REST_URL", "http://api coinbase.com"),
        ("REST_URL", "http://\u202eapi.coinbase.com"),
        ("WS_MARKET_URL", "ws://127.0.0.1:70000"),
        ("WS_USER_URL", "wss://host\x7f.example"),
    ],
)
def test_an_endpoint_whose_host_or_port_cannot_be_read_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    # Each passed before and failed later: the client's httpx.URL raised InvalidURL, or the socket OverflowError.
    monkeypatch.setenv(f"CRYPTOJ_{name}", value)
    with pytest.raises(
        ConfigurationError, match=rf"{name.lower()} \(CRYPTOJ_{name}\): the host or port cannot be read"
    ):
        load_settings()


@pytest.mark.parametrize(
    ("cash", "problem"),
    [
        ('{"USD": "-5"}', "paper_cash (CRYPTOJ_PAPER_CASH): USD starts at -5: a paper balance is a finite amount of 0 "
         "or more"),
        ('{"USD": "Infinity"}', "paper_cash.USD (CRYPTOJ_PAPER_CASH): Input should be a finite number"),
        ('{"US D": "5"}', "paper_cash (CRYPTOJ_PAPER_CASH): 'US D' is not a currency code such as USD (letters and "
         "digits)"),
    ],
)  # fmt: skip
def test_a_paper_balance_no_account_could_hold_is_refused(
    monkeypatch: pytest.MonkeyPatch, cash: str, problem: str
) -> None:
    monkeypatch.setenv("CRYPTOJ_PAPER_CASH", cash)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert str(caught.value) == f"invalid settings: {problem}"


def test_paper_balances_of_zero_and_of_several_currencies_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTOJ_PAPER_CASH", '{"USD": "0", "USDC": "250.5", "EUR": "10"}')
    assert load_settings().paper_cash == {"USD": Decimal(0), "USDC": Decimal("250.5"), "EUR": Decimal(10)}
