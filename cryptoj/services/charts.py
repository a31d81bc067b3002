"""The backtest's picture: equity curve and drawdown as a PNG, drawn headless (matplotlib's Agg backend).

Drawing is the one place figures become floats: pixels need no exactness, and the numbers the report
states come from the Decimal results, never from the picture.
"""

from __future__ import annotations

import io

from cryptoj.services.backtest import BacktestResult

__all__ = ["equity_chart_png"]


def equity_chart_png(result: BacktestResult, *, title: str) -> bytes:
    """A PNG of the equity curve (top) and the drawdown from its peak (bottom)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: servers, CI, Prefect workers
    from matplotlib import pyplot as plt
    from matplotlib.figure import Figure

    times = [point.at for point in result.equity]
    equity = [float(point.equity) for point in result.equity]
    peak = 0.0
    drawdown = []
    for value in equity:
        peak = max(peak, value)
        drawdown.append(-(peak - value) / peak * 100 if peak else 0.0)
    figure: Figure = plt.figure(figsize=(10, 6), dpi=100)
    try:
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
        top.plot(times, equity, color="#1f6feb", linewidth=1.2)
        top.axhline(equity[0] if equity else 0, color="#8b949e", linewidth=0.8, linestyle="--")
        top.set_title(title)
        top.set_ylabel(f"equity ({result.currency})")
        top.grid(alpha=0.3)
        bottom.fill_between(times, drawdown, 0, color="#d1242f", alpha=0.35)
        bottom.set_ylabel("drawdown %")
        bottom.grid(alpha=0.3)
        figure.autofmt_xdate()
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    return buffer.getvalue()
