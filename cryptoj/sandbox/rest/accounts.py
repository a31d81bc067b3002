"""Accounts, portfolios, key permissions and the fee summary of the calling key."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cryptoj.sandbox.engine.wire import account_body
from cryptoj.sandbox.rest.http import ApiError, Call, query_cursor, query_int

__all__ = ["get_account", "key_permissions", "list_accounts", "list_portfolios", "transaction_summary"]


async def list_accounts(call: Call) -> dict[str, Any]:
    """GET /accounts: pages of `limit` (default 49, max 250); pass `cursor` back while `has_next`."""
    owner = call.user
    ledger = call.exchange.ledger
    limit = query_int(call, "limit", default=49, low=1, high=250)
    offset = query_cursor(call)
    accounts = ledger.accounts(owner)
    page = accounts[offset : offset + limit]
    has_next = offset + limit < len(accounts)
    portfolio = ledger.portfolio_uuid(owner)
    dialect = call.exchange.forms.dialect
    return {
        "accounts": [
            account_body(a, portfolio_uuid=portfolio, default=a.currency == "USD", dialect=dialect) for a in page
        ],
        "has_next": has_next,
        "cursor": str(offset + limit) if has_next else "",
        "size": len(page),
    }


async def get_account(call: Call) -> dict[str, Any]:
    """GET /accounts/{account_uuid}; an unknown uuid, like an account caught just after a trade, is "not available"."""
    owner = call.user
    exchange = call.exchange
    ledger = exchange.ledger
    wanted = call.path_params["account_uuid"]
    for account in ledger.accounts(owner):
        if account.uuid == wanted and not exchange.account_unavailable(owner, account.currency):
            body = account_body(
                account,
                portfolio_uuid=ledger.portfolio_uuid(owner),
                default=account.currency == "USD",
                dialect=exchange.forms.dialect,
            )
            return {"account": body}
    raise ApiError(400, "INVALID_ARGUMENT", "account is not available")


async def list_portfolios(call: Call) -> dict[str, Any]:
    """GET /portfolios: every key has one default portfolio."""
    kind = call.query.get("portfolio_type")
    portfolio = {
        "name": "Default",
        "uuid": call.exchange.ledger.portfolio_uuid(call.user),
        "type": "DEFAULT",
        "deleted": False,
    }
    return {"portfolios": [portfolio] if kind in (None, "", "DEFAULT", "UNDEFINED") else []}


async def key_permissions(call: Call) -> dict[str, Any]:
    """GET /key_permissions: sandbox keys view and trade, never transfer."""
    return {
        "can_view": True,
        "can_trade": True,
        "can_transfer": False,
        "portfolio_uuid": call.exchange.ledger.portfolio_uuid(call.user),
        "portfolio_type": "DEFAULT",
    }


async def transaction_summary(call: Call) -> dict[str, Any]:
    """GET /transaction_summary: volumes and fees are JSON numbers here, as on Coinbase; rates are strings."""
    exchange = call.exchange
    volume, fees = exchange.engine.total_volume_and_fees(call.user)
    tier = exchange.fee_tier
    return {
        "total_volume": volume,
        "total_fees": fees,
        "fee_tier": {
            "pricing_tier": tier.pricing_tier,
            "usd_from": tier.usd_from,
            "usd_to": tier.usd_to,
            "taker_fee_rate": str(tier.taker_fee_rate),
            "maker_fee_rate": str(tier.maker_fee_rate),
            "aop_from": "",
            "aop_to": "",
        },
        "margin_rate": None,
        "goods_and_services_tax": None,
        "advanced_trade_only_volume": volume,
        "advanced_trade_only_fees": fees,
        "coinbase_pro_volume": Decimal(0),
        "coinbase_pro_fees": Decimal(0),
        "total_balance": "",
        "has_promo_fee": False,
    }
