"""One `Settings` object for the whole system.

Values come, highest priority first, from keyword arguments (tests), `CRYPTOJ_*` environment variables,
a `.env` file, a `cryptoj.toml` file in the working directory, then the defaults below. The defaults trade
nothing real: the local sandbox exchange, paper execution, SQLite under the CryptoJ home folder.

What an operator gets wrong gets one line naming the setting, what is wrong and what is allowed: a
misspelt `CRYPTOJ_*` variable (in the environment, `.env` or `cryptoj.toml`) is refused rather than
ignored, a `.env` shared with other tools is read for its `CRYPTOJ_*` lines only, and `~` in a path
means the user's home even where no shell expanded it.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from cryptoj.errors import ConfigurationError

__all__ = [
    "COINBASE_REST_URL",
    "COINBASE_WS_MARKET_URL",
    "COINBASE_WS_USER_URL",
    "ExchangeName",
    "ExecutionMode",
    "Settings",
    "load_settings",
]

COINBASE_REST_URL = "https://api.coinbase.com"
COINBASE_WS_MARKET_URL = "wss://advanced-trade-ws.coinbase.com"
COINBASE_WS_USER_URL = "wss://advanced-trade-ws-user.coinbase.com"

_PREFIX = "CRYPTOJ_"
# What each JSON-valued setting looks like, for the error that says a value is not JSON.
_JSON_EXAMPLES = {"products": '["BTC-USD","ETH-USD"]'}
# Coinbase's product ids: BTC-USD, 1INCH-USD, BIT-26JUN26-CDE (futures); ASCII only (\w would take other scripts).
_PRODUCT_ID = re.compile(r"[A-Za-z0-9]{1,32}(?:-[A-Za-z0-9]{1,32}){1,3}", re.ASCII)
_CURRENCY = re.compile(r"[A-Za-z0-9]{1,32}", re.ASCII)


class ExchangeName(StrEnum):
    """Which exchange the system talks to."""

    SANDBOX = "sandbox"  # the local exchange in cryptoj.sandbox: the default, risks no money
    COINBASE = "coinbase"  # api.coinbase.com: real markets


class ExecutionMode(StrEnum):
    """Where orders are filled."""

    PAPER = "paper"  # fills are simulated here against the live book; nothing is sent
    LIVE = "live"  # orders are sent to the exchange


class Settings(BaseSettings):
    """Every setting CryptoJ reads, validated once at start-up.

    Parameters are the field names below; each is also read from `CRYPTOJ_<NAME>`.
    """

    model_config = SettingsConfigDict(
        env_prefix=_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        # A .env may serve other tools too (PREFECT_API_URL=...): only its CRYPTOJ_* lines are ours.
        dotenv_filtering="match_prefix",
        toml_file="cryptoj.toml",
        extra="forbid",
        frozen=True,
        # "inf" parses as a float: an infinite timeout or rate is a typo, not a setting.
        allow_inf_nan=False,
    )

    home: Path = Field(default_factory=lambda: Path.home() / ".cryptoj")
    exchange: ExchangeName = ExchangeName.SANDBOX
    execution: ExecutionMode = ExecutionMode.PAPER
    # Live trading on Coinbase needs keys AND this explicit opt-in; without both nothing real is sent.
    live_trading_confirmed: bool = False

    # CDP API key: the name `organizations/{org}/apiKeys/{id}` and its private key (EC PEM or base64 Ed25519),
    # or the JSON key file Coinbase lets users download (`name`, `privateKey`).
    api_key_name: SecretStr | None = None
    api_private_key: SecretStr | None = None
    api_key_file: Path | None = None

    # Endpoints; unset means "the default of the chosen exchange".
    rest_url: str | None = None
    ws_market_url: str | None = None
    ws_user_url: str | None = None

    # The sandbox this process starts when exchange is `sandbox` and no rest_url is given.
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = Field(default=0, ge=0, le=65535)  # 0: any free port
    sandbox_seed: int = 7

    # Unset: SQLite (WAL) at <home>/cryptoj.db. PostgreSQL: postgresql+psycopg://user:pass@host/db.
    database_url: SecretStr | None = None

    products: list[str] = Field(default_factory=lambda: ["BTC-USD", "ETH-USD"], min_length=1)

    # What the trading cycle runs. ma-crossover: hold `strategy_allocation` (quote) of each product while its
    # fast moving average of closes is above the slow one; rebalance: hold `rebalance_weights` of equity.
    strategy: Literal["ma-crossover", "rebalance"] = "ma-crossover"
    strategy_fast: int = Field(default=5, ge=1)
    strategy_slow: int = Field(default=20, ge=2)
    strategy_allocation: Decimal = Field(default=Decimal(1_000), gt=0)
    rebalance_weights: dict[str, Decimal] = Field(default_factory=dict)
    # Market data: how far back the first pull of a product reaches (later pulls start at the last stored candle).
    candle_lookback_minutes: int = Field(default=180, ge=1, le=60 * 24 * 366)

    # Paper execution: the cash a paper account starts with, and its fee tier (unset: the account's own tier,
    # read from the exchange, so paper and live fills pay the same).
    paper_cash: dict[str, Decimal] = Field(default_factory=lambda: {"USD": Decimal(10_000)})
    paper_maker_fee_rate: Decimal | None = Field(default=None, ge=0, lt=1)
    paper_taker_fee_rate: Decimal | None = Field(default=None, ge=0, lt=1)
    # How long an intent whose send never reached the exchange may still be sent; an older one is recorded
    # as never placed rather than sent into a market that has moved on.
    intent_ttl_seconds: float = Field(default=300.0, gt=0)

    # Risk limits in the quote currency (unset switches a limit off). The defaults suit the default paper
    # account; set them to what you can afford before trading live.
    risk_currency: str = "USD"
    risk_max_order_notional: Decimal | None = Field(default=Decimal(2_500), gt=0)
    risk_max_position_notional: Decimal | None = Field(default=Decimal(5_000), gt=0)
    risk_max_gross_exposure: Decimal | None = Field(default=Decimal(10_000), gt=0)
    risk_max_open_orders: int | None = Field(default=20, ge=1)
    risk_max_daily_loss: Decimal | None = Field(default=Decimal(1_000), gt=0)
    risk_max_drawdown: Decimal | None = Field(default=Decimal("0.2"), gt=0, lt=1)
    risk_price_band: Decimal | None = Field(default=Decimal("0.05"), gt=0, lt=1)
    risk_max_orders_per_minute: int | None = Field(default=30, ge=1)

    # Client-side budgets kept under Coinbase's documented limits (public 10/s per IP, private 30/s per user).
    public_requests_per_second: float = Field(default=10.0, gt=0)
    private_requests_per_second: float = Field(default=30.0, gt=0)
    # Scale-out: the Prefect global concurrency limit every worker draws Coinbase's per-user budget from
    # (`prefect gcl create NAME --limit 30 --slot-decay-per-second 30`); unset, each process paces itself alone.
    rate_limit_name: str | None = None
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            _EnvSource(settings_cls),
            _DotEnvSource(settings_cls),
            _TomlSource(settings_cls),
            file_secret_settings,
        )

    @field_validator(
        "risk_max_order_notional",
        "risk_max_position_notional",
        "risk_max_gross_exposure",
        "risk_max_open_orders",
        "risk_max_daily_loss",
        "risk_max_drawdown",
        "risk_price_band",
        "risk_max_orders_per_minute",
        "paper_maker_fee_rate",
        "paper_taker_fee_rate",
        mode="before",
    )
    @classmethod
    def _empty_is_off(cls, value: Any) -> Any:
        # An environment variable can only be set to text: empty, "off" or "none" switches a limit off.
        if isinstance(value, str) and value.strip().lower() in ("", "off", "none"):
            return None
        return value

    @field_validator("products", mode="after")
    @classmethod
    def _product_ids(cls, value: list[str]) -> list[str]:
        # Each goes into URL paths and queries: "../x" or "BTC-USD?x=1" would change the request.
        for index, product_id in enumerate(value):
            if not _PRODUCT_ID.fullmatch(product_id):
                raise ValueError(f"item {index} is not a product id such as BTC-USD (letters and digits joined by -)")
        return value

    @field_validator("rebalance_weights", mode="after")
    @classmethod
    def _weighted_product_ids(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        if not all(_PRODUCT_ID.fullmatch(product_id) for product_id in value):
            raise ValueError("its keys must be product ids such as BTC-USD (letters and digits joined by -)")
        return value

    @field_validator("paper_cash", mode="after")
    @classmethod
    def _paper_balances(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        # A paper account starts with what a real one could hold: no debt, no currency code of another shape.
        for currency, amount in value.items():
            if not _CURRENCY.fullmatch(currency):
                raise ValueError(f"{currency!r} is not a currency code such as USD (letters and digits)")
            if not amount.is_finite() or amount < 0:
                raise ValueError(f"{currency} starts at {amount}: a paper balance is a finite amount of 0 or more")
        return value

    @field_validator("home", "api_key_file", mode="after")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        # `.env` and TOML files do no shell expansion: `~/x` would otherwise be a folder named "~" here.
        return value.expanduser() if value is not None else None

    @field_validator("rest_url", mode="after")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_url(value, schemes=("http", "https"), example="https://api-sandbox.coinbase.com")
        return value

    @field_validator("ws_market_url", "ws_user_url", mode="after")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_url(value, schemes=("ws", "wss"), example=COINBASE_WS_MARKET_URL)
        return value

    @model_validator(mode="after")
    def _keys_come_in_pairs(self) -> Settings:
        if (self.api_key_name is None) != (self.api_private_key is None):
            raise ValueError("api_key_name and api_private_key must be given together")
        if self.api_key_file is not None and self.api_key_name is not None:
            raise ValueError("give either api_key_file or api_key_name/api_private_key, not both")
        return self

    @property
    def has_credentials(self) -> bool:
        """Whether a key is configured (inline or as a key file)."""
        return self.api_key_name is not None or self.api_key_file is not None

    @property
    def sends_real_orders(self) -> bool:
        """True only when every safety gate for real-money trading is open."""
        return (
            self.exchange is ExchangeName.COINBASE
            and self.execution is ExecutionMode.LIVE
            and self.live_trading_confirmed
            and self.has_credentials
        )

    @property
    def sqlite_path(self) -> Path:
        """Where the default SQLite database lives."""
        return self.home / "cryptoj.db"

    def public_dict(self) -> dict[str, Any]:
        """The settings as plain data with every secret masked, safe to print or log."""
        data: dict[str, Any] = json.loads(self.model_dump_json())
        for name in ("api_key_name", "api_private_key", "database_url"):
            if data.get(name) is not None:
                data[name] = "**********"
        return data


def load_settings(**overrides: Any) -> Settings:
    """Build `Settings`, turning a validation failure into a `ConfigurationError` with no secret in it."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors(include_input=False))
    # Raised outside the handler: `from None` would only hide pydantic's error, whose text quotes the values.
    raise _invalid(problems)


def _invalid(problem: str) -> ConfigurationError:
    return ConfigurationError(f"invalid settings: {problem}")


def _variable(name: str) -> str:
    return f"{_PREFIX}{name.upper()}"


def _problem(error: ErrorDetails) -> str:
    """One error as `name (CRYPTOJ_NAME): what is wrong`, never with the value (it may be a secret)."""
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:
        return message  # a rule across fields (keys come in pairs)
    field = str(error["loc"][0])
    where = f"{'.'.join(str(part) for part in error['loc'])} ({_variable(field)})"
    if error["type"] != "extra_forbidden":
        return f"{where}: {message}"
    close = difflib.get_close_matches(field, Settings.model_fields, n=1)
    hint = f"; did you mean {close[0]} ({_variable(close[0])})?" if close else ""
    return f"{where}: not a setting{hint}"


def _check_url(value: str, *, schemes: tuple[str, ...], example: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"give {schemes[0]}(s)://host[:port], such as {example}")
    try:
        _ = parts.port  # a port out of range or not a number: ValueError
        httpx.URL(value)  # what the clients parse it with: a host it cannot read (IDNA, control characters)
    except (ValueError, httpx.InvalidURL):
        unusable = True
    else:
        unusable = any(char.isspace() for char in parts.hostname)
    if unusable:
        raise ValueError(f"the host or port cannot be read; give {schemes[0]}(s)://host[:port], such as {example}")


def _not_json(field_name: str) -> ConfigurationError:
    example = _JSON_EXAMPLES.get(field_name)
    allowed = f"give JSON such as {example}" if example else "give JSON"
    return _invalid(f"{field_name} ({_variable(field_name)}): not JSON; {allowed}")


class _EnvSource(EnvSettingsSource):
    """`CRYPTOJ_*` environment variables. An unknown one is refused: ignored, a misspelt setting runs the default."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        prefix = self._apply_case_sensitive(self.env_prefix)
        for name, value in self.env_vars.items():
            field = name[len(prefix) :]
            if name.startswith(prefix) and field not in self.settings_cls.model_fields:
                data.setdefault(field, value)  # refused as an extra input, by name
        return data

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            return super().decode_complex_value(field_name, field, value)
        except (ValueError, RecursionError):  # json.loads raises RecursionError for "[[[[..." thousands deep
            raise _not_json(field_name) from None


class _DotEnvSource(DotEnvSettingsSource):
    """`CRYPTOJ_*` lines of `.env` (the filtering is `dotenv_filtering`); JSON errors said plainly."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            return super().decode_complex_value(field_name, field, value)
        except (ValueError, RecursionError):
            raise _not_json(field_name) from None


class _TomlSource(TomlConfigSettingsSource):
    """`cryptoj.toml`; a malformed or unreadable file is a `ConfigurationError` naming it and the place."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            return super()._read_file(file_path)
        except tomllib.TOMLDecodeError as exc:
            raise _invalid(f"{file_path} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise _invalid(f"cannot read {file_path}: {exc.strerror}") from None
