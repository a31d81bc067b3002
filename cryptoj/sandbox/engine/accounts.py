"""Balances per key and currency, with holds: placed orders hold funds, fills settle, cancels release."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_UP, Decimal, localcontext

__all__ = ["DEFAULT_FUNDING", "HOLD_QUANTUM", "Account", "Ledger", "LedgerError", "hold_amount"]

ZERO = Decimal(0)
# Holds are kept in whole multiples of this. A hold per unit from a division (a market buy's cost / size) has 28
# significant digits, and sums of such amounts lose their last digits: the key's total hold drifted from its
# orders' holds until a release "exceeded the hold". Multiples of 1e-12 below 1e16 add and subtract exactly.
HOLD_QUANTUM = Decimal("1e-12")
_ROOM = 80  # digits enough to quantize any amount a request can name
# What a new key starts with: enough to trade every default product.
DEFAULT_FUNDING: dict[str, Decimal] = {
    "USD": Decimal("100000"),
    "BTC": Decimal("1"),
    "ETH": Decimal("10"),
    "SOL": Decimal("100"),
}
_NAMESPACE = uuid.UUID("2f0b6a52-8c1e-4d0e-a3b5-1c9f7e6d5a41")


def hold_amount(amount: Decimal) -> Decimal:
    """`amount` as the ledger holds it: rounded up to a whole `HOLD_QUANTUM`, so a hold never falls short."""
    with localcontext(prec=_ROOM):  # an absurd amount (an edit to a price of 1e40) is refused later, not here
        return amount.quantize(HOLD_QUANTUM, rounding=ROUND_UP)


class LedgerError(Exception):
    """A ledger move that would make a balance or hold negative: a bug in the engine, never user input."""


@dataclass(slots=True)
class Account:
    """One currency of one key: `balance` is everything owned, `hold` the part reserved by open orders."""

    uuid: str
    currency: str
    balance: Decimal
    created_at: datetime
    hold: Decimal = ZERO

    @property
    def available(self) -> Decimal:
        """What a new order may use."""
        return self.balance - self.hold


@dataclass(slots=True)
class Ledger:
    """Every key's accounts, created (and funded) on first use, deterministically under the seed.

    Parameters:
        seed: fixes account and portfolio ids.
        funding: what each new key starts with.
        created_at: the accounts' creation time.
    """

    seed: int
    created_at: datetime
    funding: dict[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_FUNDING))
    _accounts: dict[str, dict[str, Account]] = field(default_factory=dict)

    def accounts(self, owner: str) -> list[Account]:
        """A key's accounts, in a stable order."""
        return list(self._for(owner).values())

    def account(self, owner: str, currency: str) -> Account:
        """A key's account in one currency (created empty when the currency is new)."""
        accounts = self._for(owner)
        if currency not in accounts:
            accounts[currency] = Account(self._id(owner, currency), currency, ZERO, self.created_at)
        return accounts[currency]

    def portfolio_uuid(self, owner: str) -> str:
        """The id of a key's one (default) portfolio."""
        return self._id(owner, "portfolio")

    def hold(self, owner: str, currency: str, amount: Decimal) -> bool:
        """Reserve `amount`; False (and nothing held) when the available balance is short."""
        account = self.account(owner, currency)
        if amount > account.available:
            return False
        account.hold += amount
        return True

    def release(self, owner: str, currency: str, amount: Decimal) -> None:
        """Give back held funds."""
        account = self.account(owner, currency)
        if amount > account.hold:
            raise LedgerError(f"release of {amount} {currency} exceeds the hold")
        account.hold -= amount

    def move(self, owner: str, currency: str, amount: Decimal) -> None:
        """Add (positive) or take (negative) `amount` from the balance."""
        account = self.account(owner, currency)
        if account.balance + amount < 0:
            raise LedgerError(f"{currency} balance would go negative")
        account.balance += amount

    def _for(self, owner: str) -> dict[str, Account]:
        if owner not in self._accounts:
            self._accounts[owner] = {
                currency: Account(self._id(owner, currency), currency, amount, self.created_at)
                for currency, amount in self.funding.items()
            }
        return self._accounts[owner]

    def _id(self, owner: str, what: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.seed}:{owner}:{what}"))
