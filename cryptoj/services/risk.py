"""RiskService: the risk rules applied to the stored portfolio, the stored kill switch and breaches.

The rules themselves are the domain's (`cryptoj.domain.risk`); this service gathers what they look at
from the store (open and recent orders, the equity watermark, the kill switch) and stores what they
decide (breaches, equity points, the switch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from cryptoj.config import Settings
from cryptoj.domain.money import ZERO
from cryptoj.domain.orders import OrderIntent
from cryptoj.domain.positions import MissingMark, Portfolio
from cryptoj.domain.risk import (
    Decision,
    EquityWatermark,
    KillSwitch,
    Reason,
    RiskContext,
    RiskLimits,
    portfolio_check,
    pre_trade_check,
)
from cryptoj.store import UnitOfWork

__all__ = ["RiskReport", "RiskService", "limits_from"]


def limits_from(settings: Settings) -> RiskLimits:
    """The risk limits the settings name."""
    return RiskLimits(
        max_order_notional=settings.risk_max_order_notional,
        max_position_notional=settings.risk_max_position_notional,
        max_gross_exposure=settings.risk_max_gross_exposure,
        max_open_orders=settings.risk_max_open_orders,
        max_daily_loss=settings.risk_max_daily_loss,
        max_drawdown=settings.risk_max_drawdown,
        price_band=settings.risk_price_band,
        max_orders_per_minute=settings.risk_max_orders_per_minute,
    )


@dataclass(frozen=True, slots=True)
class RiskReport:
    """The portfolio marked to market and judged against the limits.

    Parameters:
        at: when it was judged.
        equity, exposure: in `currency` (None when a held product has no price).
        day_start_equity, equity_peak: the watermark the loss rules compare with.
        breaches: every broken rule.
        kill_switch: the switch after the check; `tripped` says whether this check engaged it.
    """

    at: datetime
    currency: str
    equity: Decimal | None
    exposure: Decimal | None
    day_start_equity: Decimal | None
    equity_peak: Decimal | None
    breaches: tuple[Reason, ...]
    kill_switch: KillSwitch
    tripped: bool

    @property
    def daily_pnl(self) -> Decimal | None:
        """Equity now against the day's first equity."""
        if self.equity is None or self.day_start_equity is None:
            return None
        return self.equity - self.day_start_equity

    @property
    def drawdown(self) -> Decimal | None:
        """How far equity is below its peak, as a fraction of the peak."""
        if self.equity is None or not self.equity_peak:
            return None
        return max(ZERO, (self.equity_peak - self.equity) / self.equity_peak)


class RiskService:
    """Applies the risk limits to the stored portfolio and keeps the kill switch.

    Parameters:
        engine: the store.
        limits: the limits to apply.
        currency: the quote currency limits and equity are counted in.
        clock: the time now (aware, UTC).
    """

    def __init__(
        self,
        engine: Engine,
        limits: RiskLimits,
        *,
        currency: str = "USD",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self.limits = limits
        self.currency = currency
        self._clock = clock

    def context(
        self, portfolio: Portfolio, marks: Mapping[str, Decimal], *, now: datetime | None = None
    ) -> RiskContext:
        """What the rules look at now: the portfolio, marks, and from the store orders, watermark and switch."""
        now = now or self._clock()
        with UnitOfWork(self._engine, read_only=True) as uow:
            open_orders = uow.orders.count_open()
            recent = uow.orders.creation_times_since(now - timedelta(minutes=1))
            watermark = _watermark(uow, self.currency)
            switch = uow.risk.kill_switch()
        return RiskContext(
            portfolio=portfolio,
            mids=marks,
            now=now,
            open_orders=open_orders,
            recent_orders=recent,
            day_start_equity=watermark.day_start,
            equity_peak=watermark.peak,
            kill_switch=switch,
            currency=self.currency,
        )

    def pre_trade(self, intent: OrderIntent, portfolio: Portfolio, marks: Mapping[str, Decimal]) -> Decision:
        """Allow or deny one new order, with every reason (the kill switch first among them)."""
        return pre_trade_check(intent, self.context(portfolio, marks), self.limits)

    def assess(self, portfolio: Portfolio, marks: Mapping[str, Decimal], *, cycle_key: str | None = None) -> RiskReport:
        """Mark to market, judge the portfolio, store the equity point and breaches, trip the switch on a breach."""
        now = self._clock()
        try:
            equity: Decimal | None = portfolio.equity(marks, currency=self.currency)
            exposure: Decimal | None = portfolio.exposure(marks)
        except MissingMark:
            equity = exposure = None
        with UnitOfWork(self._engine) as uow:
            if equity is not None:
                uow.snapshots.record_equity(equity, at=now, currency=self.currency)
            watermark = _watermark(uow, self.currency)
            context = RiskContext(
                portfolio=portfolio,
                mids=marks,
                now=now,
                day_start_equity=watermark.day_start,
                equity_peak=watermark.peak,
                kill_switch=uow.risk.kill_switch(),
                currency=self.currency,
            )
            breaches = portfolio_check(context, self.limits)
            uow.risk.record(breaches, at=now, cycle_key=cycle_key)
            tripped = bool(breaches) and uow.risk.engage("; ".join(b.message for b in breaches), at=now)
            switch = uow.risk.kill_switch()
            uow.commit()
        return RiskReport(
            at=now,
            currency=self.currency,
            equity=equity,
            exposure=exposure,
            day_start_equity=watermark.day_start,
            equity_peak=watermark.peak,
            breaches=breaches,
            kill_switch=switch,
            tripped=tripped,
        )

    def kill_switch(self) -> KillSwitch:
        """The stored kill switch."""
        with UnitOfWork(self._engine, read_only=True) as uow:
            return uow.risk.kill_switch()

    def engage(self, reason: str) -> bool:
        """Engage the kill switch by hand; False when it was engaged already."""
        with UnitOfWork(self._engine) as uow:
            engaged = uow.risk.engage(reason, at=self._clock())
            uow.commit()
        return engaged

    def reset(self, *, by: str) -> None:
        """Clear the kill switch: an operator's decision, recorded with their name."""
        with UnitOfWork(self._engine) as uow:
            uow.risk.reset(by=by, at=self._clock())
            uow.commit()


def _watermark(uow: UnitOfWork, currency: str) -> EquityWatermark:
    """The equity peak and the UTC day's first equity, from the stored equity curve."""
    watermark = EquityWatermark()
    for point in uow.snapshots.equity_curve(currency=currency):
        watermark.update(point.equity, at=point.at)
    return watermark
