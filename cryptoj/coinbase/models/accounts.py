"""Accounts: `GET /accounts` and `GET /accounts/{account_uuid}`."""

from __future__ import annotations

from pydantic import Field

from cryptoj.coinbase.models.common import Amount, OptTime, WireInt, WireList, WireModel

__all__ = ["Account", "GetAccountResponse", "KeyPermissions", "ListAccountsResponse"]


class Account(WireModel):
    """One wallet: its available balance and what is on hold for open orders."""

    uuid: str
    name: str
    currency: str
    available_balance: Amount
    default: bool = False
    active: bool = True
    created_at: OptTime = None
    updated_at: OptTime = None
    deleted_at: OptTime = None  # set in the docs example even for live accounts: not a deletion flag
    type: str | None = None  # ACCOUNT_TYPE_CRYPTO, ACCOUNT_TYPE_FIAT, ... (docs example says "FIAT")
    ready: bool | None = None
    hold: Amount | None = None
    retail_portfolio_id: str | None = None
    platform: str | None = None


class ListAccountsResponse(WireModel):
    """A page of accounts; pass `cursor` back while `has_next`."""

    accounts: WireList[Account] = Field(default_factory=list)
    has_next: bool = False
    cursor: str | None = None
    size: WireInt | None = None


class GetAccountResponse(WireModel):
    """One account under `account`."""

    account: Account


class KeyPermissions(WireModel):
    """`GET /key_permissions`: what the API key in use may do."""

    can_view: bool
    can_trade: bool
    can_transfer: bool
    portfolio_uuid: str | None = None
    portfolio_type: str | None = None
