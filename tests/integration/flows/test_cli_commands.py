"""The `cryptoj` trading commands as a user runs them, with the session's Prefect harness as the server.

`cryptoj run` on the defaults starts its own sandbox, trades on paper and prints a summary; a breach makes
it say so and exit 1; the store commands read what the runs left.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cryptoj.cli import app

# One Prefect harness per session: the flow tests share the worker that started it.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("prefect")]


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_run_on_the_defaults_trades_on_paper_and_prints_the_summary(cli_home: Path) -> None:
    code, out = _invoke("run")
    assert code == 0, out
    assert "CryptoJ run: paper trading on sandbox" in out
    assert re.search(r"Cycle trading-cycle/adhoc@\d{4}-\d\d-\d\dT", out)
    assert "Orders this cycle" in out or "wanted no trade" in out
    assert "Risk: every limit holds" in out
    assert f"Database: sqlite+pysqlite:///{cli_home}/cryptoj.db" in out
    assert (cli_home / "sandbox-key.json").exists()  # the local sandbox's key, kept for the next run

    code, listed = _invoke("orders")
    assert code == 0
    assert "Orders" in listed or "No orders" in listed
    code, held = _invoke("positions")
    assert code == 0
    assert "Positions" in held or "No positions" in held


def test_a_breach_engages_the_kill_switch_and_run_says_so_and_exits_1(
    cli_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRYPTOJ_RISK_MAX_DAILY_LOSS", "0.000001")
    monkeypatch.setenv("CRYPTOJ_STRATEGY", "rebalance")  # trades on the first run whatever the market did
    monkeypatch.setenv("CRYPTOJ_PAPER_CASH", '{"USD": "10000"}')
    code, out = _invoke("run")
    assert code == 0, out  # no loss yet: nothing to breach on the first run
    # Any fee paid is a loss from the day's first equity: the second run breaches.
    code, out = _invoke("run")
    assert code == 1
    assert "kill switch ENGAGED" in out
    assert "DAILY_LOSS" in out
    assert "risk:" in out  # the failed step is named
    code, status = _invoke("risk", "status")
    assert "ENGAGED" in status
    code, reset = _invoke("risk", "reset", "--by", "test-operator")
    assert code == 0
    assert "cleared by test-operator" in reset
    code, status = _invoke("risk", "status")
    assert "every limit holds" in status


def test_backfill_and_backtest_print_what_they_did(cli_home: Path) -> None:
    code, out = _invoke("backfill", "--product", "BTC-USD", "--days", "0.05")
    assert code == 0, out
    assert "BTC-USD" in out
    assert "Backfill" in out
    code, out = _invoke("backtest", "--product", "BTC-USD")
    assert code == 0, out
    assert "Sharpe (annualised)" in out
    picture = re.search(r"(/\S+\.png)", out.replace("\n", ""))
    assert picture is not None
    assert Path(picture.group(1)).read_bytes().startswith(b"\x89PNG")


def test_backtest_refuses_an_unknown_source_in_one_line(cli_home: Path) -> None:
    code, out = _invoke("backtest", "--source", "yesterday")
    assert code == 2
    assert "must be packaged or stored" in out
    assert "Traceback" not in out
