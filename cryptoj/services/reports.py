"""What runs report, as plain rows and text: the artifacts an operator reads and the summaries the CLI prints.

Pure functions of domain objects and service results; Decimal figures are rendered as their exact text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from cryptoj.domain.orders import Fill, TimeInForce
from cryptoj.domain.positions import Portfolio
from cryptoj.services.backtest import BacktestResult
from cryptoj.services.executor import Placement, RefreshReport
from cryptoj.services.market_data import ProductSnapshot
from cryptoj.services.risk import RiskReport

__all__ = [
    "backtest_rows",
    "fill_rows",
    "market_rows",
    "placement_rows",
    "position_rows",
    "refresh_markdown",
    "risk_markdown",
]

Row = dict[str, str]
_TIF = {
    TimeInForce.GOOD_UNTIL_CANCELLED: "GTC",
    TimeInForce.GOOD_UNTIL_DATE_TIME: "GTD",
    TimeInForce.IMMEDIATE_OR_CANCEL: "IOC",
    TimeInForce.FILL_OR_KILL: "FOK",
}


def _text(value: Decimal | None, *, places: int | None = None) -> str:
    if value is None:
        return ""
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    return format(value.normalize() if places is None else value, "f")


def placement_rows(placements: Sequence[Placement]) -> list[Row]:
    """One row per order a cycle placed, denied or met again: what, how it ended, and why."""
    rows = []
    for placement in placements:
        order, intent = placement.order, placement.order.intent
        rows.append(
            {
                "outcome": placement.outcome.value,
                "status": order.status.value,
                "product": intent.product_id,
                "side": intent.side.value,
                "type": f"{intent.order_type.value} {_TIF[intent.time_in_force]}",
                "size": _text(intent.base_size) or f"{_text(intent.quote_size)} (quote)",
                "limit": _text(intent.limit_price),
                "filled": _text(order.filled_size),
                "average price": _text(order.average_fill_price, places=2),
                "fees": _text(order.fees),
                "reason": order.reason or "",
                "client_order_id": order.client_order_id,
                "sent now": "yes" if placement.sent else "no",
            }
        )
    return rows


def position_rows(portfolio: Portfolio, marks: Mapping[str, Decimal]) -> list[Row]:
    """Each held product's position at the marks, then cash."""
    rows = []
    for product_id, position in sorted(portfolio.positions.items()):
        mark = marks.get(product_id)
        rows.append(
            {
                "product": product_id,
                "size": _text(position.size),
                "average cost": _text(position.average_cost, places=2),
                "mark": _text(mark),
                "value": _text(position.market_value(mark), places=2) if mark is not None else "",
                "unrealized PnL": _text(position.unrealized_pnl(mark), places=2) if mark is not None else "",
                "realized PnL": _text(position.realized_pnl, places=2),
                "fees": _text(position.fees, places=2),
            }
        )
    for currency, amount in sorted(portfolio.cash.items()):
        rows.append({"product": f"cash {currency}", "size": _text(amount, places=2)})
    return rows


def market_rows(snapshots: Sequence[ProductSnapshot]) -> list[Row]:
    """One row per product pulled: candles stored and the top of book."""
    return [
        {
            "product": snap.product_id,
            "candles stored": str(snap.candles_stored),
            "pulled from": f"{snap.first_pulled:%Y-%m-%d %H:%M}",
            "newest candle": f"{snap.last_candle:%Y-%m-%d %H:%M}" if snap.last_candle else "",
            "last price": _text(snap.last_price),
            "bid": _text(snap.bid),
            "ask": _text(snap.ask),
        }
        for snap in snapshots
    ]


def risk_markdown(report: RiskReport) -> str:
    """The risk report: figures, each breach, and the kill switch."""
    switch = report.kill_switch
    lines = [
        f"# Risk report {report.at:%Y-%m-%d %H:%M:%S} UTC",
        "",
        "| figure | value |",
        "|---|---|",
        f"| equity ({report.currency}) | {_text(report.equity, places=2) or 'unknown (a held product has no price)'} |",
        f"| gross exposure | {_text(report.exposure, places=2)} |",
        f"| PnL today | {_text(report.daily_pnl, places=2)} |",
        f"| drawdown from peak | {_text((report.drawdown or Decimal(0)) * 100, places=2)} % |",
        f"| kill switch | {'ENGAGED: ' + (switch.reason or '') if switch.engaged else 'clear'} |",
        "",
    ]
    if report.breaches:
        lines += ["## Breaches", "", *(f"- **{b.rule.value}**: {b.message}" for b in report.breaches)]
    else:
        lines.append("Every limit holds.")
    return "\n".join(lines)


def refresh_markdown(report: RefreshReport) -> str:
    """What a reconciliation found."""
    lines = [
        "# Reconciliation",
        "",
        f"- orders checked: {report.checked}",
        f"- orders updated: {report.updated}",
        f"- fills recorded: {report.fills}",
        f"- orders placed outside CryptoJ, recorded: {report.external}",
        f"- outcomes still unknown: {report.unresolved}",
        f"- orders the exchange is still settling (queued, pending): {report.settling}",
        f"- store/exchange differences: {len(report.mismatches)}",
        *(f"  - {m}" for m in report.mismatches),
    ]
    return "\n".join(lines)


def fill_rows(fills: Sequence[Fill]) -> list[Row]:
    """One row per fill (a backtest's trades)."""
    return [
        {
            "time": f"{fill.time:%Y-%m-%d %H:%M}",
            "product": fill.product_id,
            "side": fill.side.value,
            "price": _text(fill.price),
            "size": _text(fill.size),
            "fee": _text(fill.fee, places=6),
            "liquidity": fill.liquidity.value,
        }
        for fill in fills
    ]


def backtest_rows(result: BacktestResult) -> list[Row]:
    """The backtest's figures, one per row."""
    sharpe = result.sharpe
    return [
        {"figure": "bars", "value": str(result.bars)},
        {"figure": "trades", "value": str(len(result.fills))},
        {"figure": f"starting equity ({result.currency})", "value": _text(result.starting_equity, places=2)},
        {"figure": f"final equity ({result.currency})", "value": _text(result.final_equity, places=2)},
        {"figure": "PnL (after fees)", "value": _text(result.pnl, places=2)},
        {"figure": "fees", "value": _text(result.fees, places=2)},
        {"figure": "max drawdown", "value": f"{_text(result.max_drawdown * 100, places=2)} %"},
        {"figure": "average exposure", "value": f"{_text(result.exposure * 100, places=2)} %"},
        {"figure": "Sharpe (annualised)", "value": _text(sharpe, places=2) if sharpe is not None else "n/a"},
        {"figure": "denied or rejected intents", "value": str(len(result.denied))},
        {"figure": "kill switch", "value": result.kill_switch or "never engaged"},
    ]
