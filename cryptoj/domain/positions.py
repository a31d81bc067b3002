"""Positions and the portfolio: fills in, average cost, realized and unrealized PnL, exposure.

Spot only: a position is never short, and selling more than is held is refused. Fees are paid in quote
currency and kept apart from PnL, so ``cash + size * mark == start cash + realized + unrealized - fees``
holds exactly at every step (see `Position.apply`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from cryptoj.domain.errors import DomainError
from cryptoj.domain.money import ZERO
from cryptoj.domain.orders import Fill
from cryptoj.domain.products import split_product_id
from cryptoj.domain.side import Side

__all__ = [
    "InsufficientFunds",
    "MissingMark",
    "Portfolio",
    "Position",
    "PositionError",
    "ShortSellRefused",
]


# Cost released by a partial sell is cut to 18 decimal places: far below any currency's smallest unit, and
# short enough that sums of amounts under 10**9 stay exact in Decimal's default 28-digit context.
_COST_QUANTUM = Decimal("1e-18")


class PositionError(DomainError):
    """A fill the position or portfolio cannot take; nothing was changed."""


class ShortSellRefused(PositionError):
    """A sell of more than the position holds: spot trading cannot go short."""


class InsufficientFunds(PositionError):
    """A buy that costs more quote cash (notional plus fee) than the portfolio holds."""


class MissingMark(PositionError):
    """A valuation needs a price for a product that holds a position, and none was given."""


@dataclass(eq=False)
class Position:
    """The holding of one product, valued at average cost. Identity is the product_id.

    Parameters:
        product_id: e.g. ``BTC-USD``.
        size: base units held (never negative).
        cost_basis: quote paid for what is held, before fees.
        realized_pnl: gains and losses of sells against average cost, before fees.
        fees: quote fees paid on every fill.
    """

    product_id: str
    size: Decimal = ZERO
    cost_basis: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    trade_ids: set[str] = field(default_factory=set)

    @property
    def average_cost(self) -> Decimal | None:
        """Quote paid per base unit held; None when flat."""
        return self.cost_basis / self.size if self.size else None

    @property
    def is_flat(self) -> bool:
        """Whether nothing is held."""
        return not self.size

    def market_value(self, mark: Decimal) -> Decimal:
        """What the position is worth at `mark`."""
        return self.size * mark

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """Gain or loss of the held size at `mark` against its cost basis."""
        return self.size * mark - self.cost_basis

    def net_pnl(self, mark: Decimal) -> Decimal:
        """Realized plus unrealized PnL less every fee paid."""
        return self.realized_pnl + self.unrealized_pnl(mark) - self.fees

    def check(self, fill: Fill) -> None:
        """Raise when `fill` cannot be applied (wrong product, a sell beyond the holding)."""
        if fill.product_id != self.product_id:
            raise PositionError(f"fill {fill.trade_id} is for {fill.product_id}, not {self.product_id}")
        if fill.side is Side.SELL and fill.size > self.size and fill.trade_id not in self.trade_ids:
            raise ShortSellRefused(
                f"cannot sell {fill.size} {self.product_id}: only {self.size} held (spot cannot go short)"
            )

    def apply(self, fill: Fill) -> bool:
        """Take a fill in; False when this trade was already applied (fills can arrive twice)."""
        self.check(fill)
        if fill.trade_id in self.trade_ids:
            return False
        if fill.side is Side.BUY:
            self.cost_basis += fill.notional
            self.size += fill.size
        else:
            # The same released cost leaves the basis and enters realized PnL, and it is cut to a fixed
            # exponent, so every later sum stays exact and the conservation identity holds to the last digit.
            if fill.size == self.size:
                released = self.cost_basis
            else:
                # Wide enough that quantizing a basis of any realistic size to 18 places cannot overflow.
                with localcontext() as ctx:
                    ctx.prec = 60
                    released = (self.cost_basis * fill.size / self.size).quantize(_COST_QUANTUM)
            self.cost_basis -= released
            self.realized_pnl += fill.notional - released
            self.size -= fill.size
        self.fees += fill.fee
        self.trade_ids.add(fill.trade_id)
        return True


@dataclass(eq=False)
class Portfolio:
    """Cash per currency and a position per product.

    Parameters:
        cash: balances by currency code (``USD``); a fill moves its product's quote currency.
    """

    cash: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)

    def cash_in(self, currency: str) -> Decimal:
        """The cash balance of one currency (zero when none)."""
        return self.cash.get(currency, ZERO)

    def position(self, product_id: str) -> Position:
        """The position in a product (a flat one if never traded; not stored until a fill)."""
        return self.positions.get(product_id) or Position(product_id)

    def size(self, product_id: str) -> Decimal:
        """Base units held of a product."""
        return self.position(product_id).size

    def apply(self, fill: Fill) -> bool:
        """Take a fill into its position and cash; refuses, changing nothing, when it cannot be paid or delivered."""
        _, quote = split_product_id(fill.product_id)
        position = self.position(fill.product_id)
        position.check(fill)
        if fill.trade_id in position.trade_ids:
            return False
        if fill.side is Side.BUY:
            delta = -(fill.notional + fill.fee)
            if self.cash_in(quote) + delta < 0:
                raise InsufficientFunds(
                    f"buying {fill.size} {fill.product_id} costs {-delta} {quote}, "
                    f"only {self.cash_in(quote)} {quote} held"
                )
        else:
            delta = fill.notional - fill.fee
        position.apply(fill)
        self.positions[fill.product_id] = position
        self.cash[quote] = self.cash_in(quote) + delta
        return True

    def _marks_for(self, marks: Mapping[str, Decimal]) -> dict[str, Decimal]:
        missing = [pid for pid, pos in self.positions.items() if not pos.is_flat and pid not in marks]
        if missing:
            raise MissingMark(f"no price given for {', '.join(sorted(missing))}")
        return {pid: marks[pid] for pid, pos in self.positions.items() if not pos.is_flat}

    def exposure(self, marks: Mapping[str, Decimal], *, product_id: str | None = None) -> Decimal:
        """Gross market value of the positions at `marks` (one product's when `product_id` is given)."""
        if product_id is not None:
            position = self.position(product_id)
            if position.is_flat:
                return ZERO
            if product_id not in marks:
                raise MissingMark(f"no price given for {product_id}")
            return position.market_value(marks[product_id])
        return sum(
            (self.positions[pid].market_value(mark) for pid, mark in self._marks_for(marks).items()),
            ZERO,
        )

    def equity(self, marks: Mapping[str, Decimal], *, currency: str = "USD") -> Decimal:
        """Cash in `currency` plus the value of the positions quoted in it."""
        value = self.cash_in(currency)
        for pid, mark in self._marks_for(marks).items():
            if split_product_id(pid)[1] == currency:
                value += self.positions[pid].market_value(mark)
        return value

    def realized_pnl(self) -> Decimal:
        """Realized PnL of every position, before fees."""
        return sum((p.realized_pnl for p in self.positions.values()), ZERO)

    def unrealized_pnl(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Unrealized PnL of every held position at `marks`."""
        return sum(
            (self.positions[pid].unrealized_pnl(mark) for pid, mark in self._marks_for(marks).items()),
            ZERO,
        )

    def fees(self) -> Decimal:
        """Every fee paid."""
        return sum((p.fees for p in self.positions.values()), ZERO)
