"""Portfolios: `GET /portfolios` and `GET /portfolios/{uuid}` (breakdown)."""

from __future__ import annotations

from pydantic import Field

from cryptoj.coinbase.models.common import Amount, OptDecimal, WireList, WireModel

__all__ = [
    "ListPortfoliosResponse",
    "Portfolio",
    "PortfolioBalances",
    "PortfolioBreakdown",
    "PortfolioBreakdownResponse",
    "SpotPosition",
]


class Portfolio(WireModel):
    """A portfolio (DEFAULT, CONSUMER, INTX)."""

    name: str
    uuid: str
    type: str | None = None
    deleted: bool | None = None


class ListPortfoliosResponse(WireModel):
    """`GET /portfolios`."""

    portfolios: WireList[Portfolio] = Field(default_factory=list)


class PortfolioBalances(WireModel):
    """Totals of a portfolio, in the requested currency."""

    total_balance: Amount | None = None
    total_futures_balance: Amount | None = None
    total_cash_equivalent_balance: Amount | None = None
    total_crypto_balance: Amount | None = None
    futures_unrealized_pnl: Amount | None = None
    perp_unrealized_pnl: Amount | None = None


class SpotPosition(WireModel):
    """One asset held; the fiat and crypto totals are JSON numbers on the wire, read as Decimal."""

    asset: str
    account_uuid: str | None = None
    total_balance_fiat: OptDecimal = None
    total_balance_crypto: OptDecimal = None
    available_to_trade_fiat: OptDecimal = None
    available_to_trade_crypto: OptDecimal = None
    allocation: OptDecimal = None
    cost_basis: Amount | None = None
    is_cash: bool | None = None


class PortfolioBreakdown(WireModel):
    """The portfolio, its totals and its positions (futures and perps kept raw: spot only here)."""

    portfolio: Portfolio
    portfolio_balances: PortfolioBalances | None = None
    spot_positions: WireList[SpotPosition] = Field(default_factory=list)


class PortfolioBreakdownResponse(WireModel):
    """`GET /portfolios/{portfolio_uuid}`."""

    breakdown: PortfolioBreakdown
