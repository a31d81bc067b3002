"""Risk limits, the pre-trade check, the portfolio check and the kill switch.

A *denied* order never leaves the process: `pre_trade_check` returns every reason at once so an operator
sees the whole picture. A portfolio breach engages the `KillSwitch`, which denies every new order until
an operator resets it explicitly. Every check needs the switch (`RiskContext.kill_switch` is required):
a caller cannot forget it. It blocks new intents and never cancels: working orders stay as they are
until an operator decides (a cancel sent in a hurry can lose a hedge as surely as a bad order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from cryptoj.domain.errors import DomainError
from cryptoj.domain.money import ZERO
from cryptoj.domain.orders import OrderIntent
from cryptoj.domain.positions import MissingMark, Portfolio
from cryptoj.domain.products import split_product_id
from cryptoj.domain.side import Side

__all__ = [
    "Decision",
    "EquityWatermark",
    "KillSwitch",
    "KillSwitchState",
    "Reason",
    "RiskContext",
    "RiskError",
    "RiskLimits",
    "RiskRule",
    "portfolio_check",
    "pre_trade_check",
]

_MINUTE = timedelta(minutes=1)


class RiskError(DomainError):
    """A limit that makes no sense, or a kill switch used the wrong way (no reason, no operator)."""


class RiskRule(StrEnum):
    """The risk rules a new order or the portfolio can break."""

    KILL_SWITCH = "KILL_SWITCH"  # the kill switch is engaged: no new order at all
    NO_PRICE = "NO_PRICE"  # a price is missing, so the order or the portfolio cannot be valued
    ORDER_NOTIONAL = "ORDER_NOTIONAL"  # one order is worth too much
    POSITION_NOTIONAL = "POSITION_NOTIONAL"  # a product's position would be worth too much
    GROSS_EXPOSURE = "GROSS_EXPOSURE"  # all positions together would be worth too much
    OPEN_ORDERS = "OPEN_ORDERS"  # too many orders are working already
    DAILY_LOSS = "DAILY_LOSS"  # realized + unrealized loss since the day began is too large
    DRAWDOWN = "DRAWDOWN"  # equity fell too far below its peak
    PRICE_BAND = "PRICE_BAND"  # the limit price is too far from mid (a fat finger)
    ORDER_RATE = "ORDER_RATE"  # too many orders in the last minute


@dataclass(frozen=True, slots=True)
class Reason:
    """One broken rule, with a sentence giving the figures."""

    rule: RiskRule
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a pre-trade check: allowed, or denied with every reason."""

    reasons: tuple[Reason, ...] = ()

    @property
    def allowed(self) -> bool:
        """Whether the order may be sent."""
        return not self.reasons

    @property
    def rules(self) -> frozenset[RiskRule]:
        """The names of the broken rules."""
        return frozenset(reason.rule for reason in self.reasons)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The limits CryptoJ trades within; None switches a limit off.

    Parameters:
        max_order_notional: quote value of one order.
        max_position_notional: quote value of one product's position after the order.
        position_limits: per-product overrides of max_position_notional.
        max_gross_exposure: quote value of all positions after the order.
        max_open_orders: working orders, counting the new one.
        max_daily_loss: a positive amount of quote; the day's realized + unrealized loss (fees included) may
            not reach it. It is measured as equity against the day's first equity, so a deposit or
            withdrawal must be recorded with `EquityWatermark.transfer`.
        max_drawdown: a fraction (0.2 = 20%) of the equity peak.
        price_band: a fraction of mid a limit price may stray from it (0.05 = 5%).
        max_orders_per_minute: new orders in any sliding minute, counting the new one.
    """

    max_order_notional: Decimal | None = None
    max_position_notional: Decimal | None = None
    position_limits: Mapping[str, Decimal] = field(default_factory=dict)
    max_gross_exposure: Decimal | None = None
    max_open_orders: int | None = None
    max_daily_loss: Decimal | None = None
    max_drawdown: Decimal | None = None
    price_band: Decimal | None = None
    max_orders_per_minute: int | None = None

    def __post_init__(self) -> None:
        amounts = {
            "max_order_notional": self.max_order_notional,
            "max_position_notional": self.max_position_notional,
            "max_gross_exposure": self.max_gross_exposure,
            "max_daily_loss": self.max_daily_loss,
            **{f"position_limits[{pid}]": value for pid, value in self.position_limits.items()},
        }
        for name, amount in amounts.items():
            if amount is not None and (not amount.is_finite() or amount <= 0):
                raise RiskError(f"risk limit {name} must be positive, got {amount}")
        for name, fraction in (("max_drawdown", self.max_drawdown), ("price_band", self.price_band)):
            if fraction is not None and (not fraction.is_finite() or not ZERO < fraction < 1):
                raise RiskError(f"risk limit {name} must be a fraction between 0 and 1, got {fraction}")
        for name, count in (
            ("max_open_orders", self.max_open_orders),
            ("max_orders_per_minute", self.max_orders_per_minute),
        ):
            if count is not None and count < 1:
                raise RiskError(f"risk limit {name} must be at least 1, got {count}")

    def position_limit(self, product_id: str) -> Decimal | None:
        """The position notional limit of one product."""
        return self.position_limits.get(product_id, self.max_position_notional)


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    """Why and when the kill switch was engaged."""

    reason: str
    engaged_at: datetime


@dataclass(eq=False)
class KillSwitch:
    """Stops every new order once engaged; only an explicit `reset` clears it.

    Engaging an engaged switch keeps the first reason: that is the cause an operator must look at. It
    never cancels a working order: it only denies new intents.
    """

    state: KillSwitchState | None = None
    history: list[tuple[str, datetime, str]] = field(default_factory=list)  # (event, at, reason or operator)

    @property
    def engaged(self) -> bool:
        """Whether new orders are stopped."""
        return self.state is not None

    @property
    def reason(self) -> str | None:
        """Why it was engaged (None when clear)."""
        return self.state.reason if self.state else None

    @property
    def engaged_at(self) -> datetime | None:
        """When it was engaged (None when clear)."""
        return self.state.engaged_at if self.state else None

    def engage(self, reason: str, *, at: datetime) -> bool:
        """Stop new orders; False when it was engaged already (the first reason stays)."""
        if not reason:
            raise RiskError("the kill switch needs a reason to engage")
        if self.state is not None:
            return False
        self.state = KillSwitchState(reason, at)
        self.history.append(("engaged", at, reason))
        return True

    def trip_on(self, breaches: Sequence[Reason], *, at: datetime) -> bool:
        """Engage when there is any breach; True when this call engaged it."""
        if not breaches:
            return False
        return self.engage("; ".join(b.message for b in breaches), at=at)

    def reset(self, *, by: str, at: datetime) -> None:
        """Clear the switch: an operator's explicit decision, recorded with their name."""
        if not by:
            raise RiskError("resetting the kill switch needs the operator's name")
        if self.state is None:
            raise RiskError("the kill switch is not engaged")
        self.state = None
        self.history.append(("reset", at, by))


@dataclass(eq=False)
class EquityWatermark:
    """Tracks the equity peak and the equity at the start of the UTC day, for drawdown and daily loss."""

    peak: Decimal | None = None
    day_start: Decimal | None = None
    day: str | None = None

    def update(self, equity: Decimal, *, at: datetime) -> None:
        """Record the equity seen at `at` (timezone-aware)."""
        if at.tzinfo is None:
            raise RiskError("equity times must be timezone-aware")
        day = at.astimezone(UTC).date().isoformat()
        if self.day != day:
            self.day, self.day_start = day, equity
        if self.peak is None or equity > self.peak:
            self.peak = equity

    def transfer(self, amount: Decimal) -> None:
        """Shift both marks by a deposit (positive) or withdrawal (negative): moving money is no gain or loss."""
        if self.peak is not None:
            self.peak += amount
        if self.day_start is not None:
            self.day_start += amount


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What the checks look at.

    Parameters:
        portfolio: cash and positions now.
        mids: mid prices by product (book mid, or last price).
        open_orders: working orders now.
        recent_orders: when recent orders were placed (only the last minute matters).
        now: the time of the check.
        kill_switch: the switch to honour (required: the stored one, so a check can never skip it).
        day_start_equity, equity_peak: from an `EquityWatermark`; None skips the daily loss / drawdown rules.
        currency: the quote currency equity is counted in.
    """

    portfolio: Portfolio
    mids: Mapping[str, Decimal]
    now: datetime
    kill_switch: KillSwitch
    open_orders: int = 0
    recent_orders: Sequence[datetime] = ()
    day_start_equity: Decimal | None = None
    equity_peak: Decimal | None = None
    currency: str = "USD"

    def __post_init__(self) -> None:
        # The type says so, but a None from an untyped caller must not become "no switch, no check".
        if not isinstance(self.kill_switch, KillSwitch):
            raise RiskError(f"a risk check needs the kill switch, got {type(self.kill_switch).__name__}")


def _loss_reasons(context: RiskContext, limits: RiskLimits, equity: Decimal) -> Iterable[Reason]:
    if limits.max_daily_loss is not None and context.day_start_equity is not None:
        loss = context.day_start_equity - equity
        if loss >= limits.max_daily_loss:
            yield Reason(RiskRule.DAILY_LOSS, f"daily loss {loss} reached the limit {limits.max_daily_loss}")
    if limits.max_drawdown is not None and context.equity_peak is not None and context.equity_peak > 0:
        drawdown = (context.equity_peak - equity) / context.equity_peak
        if drawdown >= limits.max_drawdown:
            yield Reason(
                RiskRule.DRAWDOWN,
                f"drawdown {drawdown:.2%} from peak {context.equity_peak} reached {limits.max_drawdown:.2%}",
            )


def _foreign_holdings(context: RiskContext) -> Reason | None:
    # Limits are amounts of `currency`; a position quoted in another one has no value in it here, and
    # summing its quote value into the exposure would compare BTC with USD.
    foreign = sorted(
        pid
        for pid, position in context.portfolio.positions.items()
        if not position.is_flat and split_product_id(pid)[1] != context.currency
    )
    if not foreign:
        return None
    return Reason(RiskRule.NO_PRICE, f"cannot value {', '.join(foreign)} in {context.currency}")


def portfolio_check(context: RiskContext, limits: RiskLimits) -> tuple[Reason, ...]:
    """Every limit the portfolio breaks as it stands (feed the result to `KillSwitch.trip_on`).

    A held product without a price is itself a breach: a portfolio that cannot be valued cannot be
    shown to be within its limits.
    """
    portfolio, marks = context.portfolio, context.mids
    try:
        portfolio.equity(marks, currency=context.currency)
    except MissingMark as exc:
        return (Reason(RiskRule.NO_PRICE, str(exc)),)
    foreign = _foreign_holdings(context)
    if foreign is not None:
        return (foreign,)
    breaches = list(_loss_reasons(context, limits, portfolio.equity(marks, currency=context.currency)))
    for product_id in sorted(portfolio.positions):
        limit = limits.position_limit(product_id)
        value = portfolio.exposure(marks, product_id=product_id)
        if limit is not None and value > limit:
            breaches.append(Reason(RiskRule.POSITION_NOTIONAL, f"{product_id} position {value} is over {limit}"))
    gross = portfolio.exposure(marks)
    if limits.max_gross_exposure is not None and gross > limits.max_gross_exposure:
        breaches.append(Reason(RiskRule.GROSS_EXPOSURE, f"gross exposure {gross} is over {limits.max_gross_exposure}"))
    return tuple(breaches)


def pre_trade_check(intent: OrderIntent, context: RiskContext, limits: RiskLimits) -> Decision:
    """Allow or deny one new order, giving every reason it is denied."""
    reasons: list[Reason] = []
    if context.kill_switch.engaged:
        reasons.append(Reason(RiskRule.KILL_SWITCH, f"kill switch engaged: {context.kill_switch.reason}"))
    if limits.max_open_orders is not None and context.open_orders + 1 > limits.max_open_orders:
        reasons.append(
            Reason(RiskRule.OPEN_ORDERS, f"{context.open_orders} orders open, the limit is {limits.max_open_orders}")
        )
    if limits.max_orders_per_minute is not None:
        recent = sum(1 for t in context.recent_orders if context.now - _MINUTE < t <= context.now)
        if recent + 1 > limits.max_orders_per_minute:
            reasons.append(
                Reason(RiskRule.ORDER_RATE, f"{recent} orders in the last minute, limit {limits.max_orders_per_minute}")
            )
    mid = context.mids.get(intent.product_id)
    if mid is None or mid <= 0:
        reasons.append(Reason(RiskRule.NO_PRICE, f"no mid price for {intent.product_id}: cannot value the order"))
        return Decision(tuple(reasons))
    quote = split_product_id(intent.product_id)[1]
    if quote != context.currency:
        reasons.append(
            Reason(RiskRule.NO_PRICE, f"{intent.product_id} is quoted in {quote}; the limits are in {context.currency}")
        )
        return Decision(tuple(reasons))
    foreign = _foreign_holdings(context)
    if foreign is not None:
        reasons.append(foreign)
        return Decision(tuple(reasons))
    try:
        reasons.extend(_priced_reasons(intent, context, limits, mid))
    except MissingMark as exc:  # another held product has no price: exposure and equity are unknown
        reasons.append(Reason(RiskRule.NO_PRICE, str(exc)))
    return Decision(tuple(reasons))


def _priced_reasons(intent: OrderIntent, context: RiskContext, limits: RiskLimits, mid: Decimal) -> Iterable[Reason]:
    notional = intent.notional(mid)
    if limits.max_order_notional is not None and notional > limits.max_order_notional:
        yield Reason(RiskRule.ORDER_NOTIONAL, f"order notional {notional} is over {limits.max_order_notional}")
    if limits.price_band is not None and intent.limit_price is not None:
        distance = abs(intent.limit_price - mid) / mid
        if distance > limits.price_band:
            yield Reason(
                RiskRule.PRICE_BAND,
                f"limit price {intent.limit_price} is {distance:.4%} from mid {mid}, band {limits.price_band:.4%}",
            )
    portfolio = context.portfolio
    if intent.side is Side.BUY:
        # Only buys add exposure on spot; a sell always reduces it and stays allowed by these two rules.
        position_after = portfolio.exposure(context.mids, product_id=intent.product_id) + notional
        limit = limits.position_limit(intent.product_id)
        if limit is not None and position_after > limit:
            yield Reason(
                RiskRule.POSITION_NOTIONAL, f"{intent.product_id} position would be {position_after}, limit {limit}"
            )
        gross_after = portfolio.exposure(context.mids) + notional
        if limits.max_gross_exposure is not None and gross_after > limits.max_gross_exposure:
            yield Reason(
                RiskRule.GROSS_EXPOSURE, f"gross exposure would be {gross_after}, limit {limits.max_gross_exposure}"
            )
    yield from _loss_reasons(context, limits, portfolio.equity(context.mids, currency=context.currency))
