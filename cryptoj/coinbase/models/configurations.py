"""Order configurations: exactly one order type per order, with its sizes and prices.

When reading, unknown order types and fields are kept (Coinbase adds them: `scaled_limit_gtc`);
`only_documented` refuses them in what we send (Coinbase answers 400 `unknown field`).
"""

from __future__ import annotations

from typing import Literal

from cryptoj.coinbase.models.common import OptDecimal, OptTime, WireModel

__all__ = [
    "LimitConfig",
    "MarketConfig",
    "OrderConfiguration",
    "OrderSide",
    "StopLimitConfig",
    "TriggerBracketConfig",
    "TwapConfig",
    "only_documented",
]

OrderSide = Literal["BUY", "SELL"]


class MarketConfig(WireModel):
    """`market_market_ioc` / `market_market_fok`: exactly one of quote_size (buy) or base_size."""

    quote_size: OptDecimal = None
    base_size: OptDecimal = None
    rfq_disabled: bool | None = None


class LimitConfig(WireModel):
    """`limit_limit_gtc`, `limit_limit_gtd` (needs end_time), `limit_limit_fok`, `sor_limit_ioc`."""

    base_size: OptDecimal = None
    quote_size: OptDecimal = None
    limit_price: OptDecimal = None
    end_time: OptTime = None
    post_only: bool | None = None
    rfq_disabled: bool | None = None


class StopLimitConfig(WireModel):
    """`stop_limit_stop_limit_gtc` / `_gtd`; `stop_direction` is STOP_DIRECTION_STOP_UP or _DOWN."""

    base_size: OptDecimal = None
    limit_price: OptDecimal = None
    stop_price: OptDecimal = None
    stop_direction: str | None = None
    end_time: OptTime = None


class TriggerBracketConfig(WireModel):
    """`trigger_bracket_gtc` / `_gtd`: take-profit limit_price and stop-loss stop_trigger_price."""

    base_size: OptDecimal = None
    limit_price: OptDecimal = None
    stop_trigger_price: OptDecimal = None
    end_time: OptTime = None


class TwapConfig(WireModel):
    """`twap_limit_gtd`: a limit order sliced into buckets between start_time and end_time."""

    quote_size: OptDecimal = None
    base_size: OptDecimal = None
    start_time: OptTime = None
    end_time: OptTime = None
    limit_price: OptDecimal = None
    number_buckets: str | None = None
    bucket_size: OptDecimal = None
    bucket_duration: str | None = None  # protobuf duration text, e.g. "300s"


class OrderConfiguration(WireModel):
    """Exactly one key names the order type; its value holds the sizes and prices.

    Unknown keys (newer order types such as `scaled_limit_gtc`) are kept when reading.
    """

    market_market_ioc: MarketConfig | None = None
    market_market_fok: MarketConfig | None = None
    sor_limit_ioc: LimitConfig | None = None  # a limit IOC order: real traffic echoes this key
    limit_limit_gtc: LimitConfig | None = None
    limit_limit_gtd: LimitConfig | None = None
    limit_limit_fok: LimitConfig | None = None
    stop_limit_stop_limit_gtc: StopLimitConfig | None = None
    stop_limit_stop_limit_gtd: StopLimitConfig | None = None
    trigger_bracket_gtc: TriggerBracketConfig | None = None
    trigger_bracket_gtd: TriggerBracketConfig | None = None
    twap_limit_gtd: TwapConfig | None = None

    def kind(self) -> str:
        """The order type key that is set (the first one, for a malformed echo with several)."""
        for name in type(self).model_fields:
            if getattr(self, name) is not None:
                return name
        extra = list(self.model_extra or {})
        return extra[0] if extra else ""


def only_documented(config: OrderConfiguration) -> OrderConfiguration:
    """Refuse a configuration we would send with undocumented keys or fields, or not exactly one type."""
    if config.model_extra:
        raise ValueError(f"unknown order configuration {sorted(config.model_extra)}")
    chosen = [name for name in type(config).model_fields if getattr(config, name) is not None]
    if len(chosen) != 1:
        raise ValueError(f"order_configuration needs exactly one order type, got {chosen or 'none'}")
    inner = getattr(config, chosen[0])
    if inner.model_extra:
        raise ValueError(f"unknown field(s) {sorted(inner.model_extra)} in {chosen[0]}")
    return config
