"""Fees: `GET /transaction_summary`."""

from __future__ import annotations

from cryptoj.coinbase.models.common import OptDecimal, WireModel

__all__ = ["FeeTier", "TransactionSummary"]


class FeeTier(WireModel):
    """The user's pricing tier; rates are fractions ("0.006" is 0.6 %)."""

    pricing_tier: str | None = None
    usd_from: OptDecimal = None
    usd_to: OptDecimal = None
    taker_fee_rate: OptDecimal = None
    maker_fee_rate: OptDecimal = None
    aop_from: OptDecimal = None
    aop_to: OptDecimal = None


class TransactionSummary(WireModel):
    """Volume, fees paid and the fee tier. Volumes and fees are JSON numbers here, read as Decimal."""

    total_volume: OptDecimal = None
    total_fees: OptDecimal = None
    fee_tier: FeeTier
    advanced_trade_only_volume: OptDecimal = None
    advanced_trade_only_fees: OptDecimal = None
    coinbase_pro_volume: OptDecimal = None
    coinbase_pro_fees: OptDecimal = None
    total_balance: OptDecimal = None
    has_promo_fee: bool | None = None
