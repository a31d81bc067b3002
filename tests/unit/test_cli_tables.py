"""The `cryptoj` commands' tables on a narrow terminal: no header, product id or amount cut mid-word."""

from __future__ import annotations

import pytest

from cryptoj.trading_cli import _table

ORDERS = [
    {
        "outcome": "accepted", "product": "BTC-USD", "side": "SELL", "type": "MARKET IOC", "size": "0.14765672",
        "filled": "0.14765672", "average price": "6757.70", "fees": "3.9912811736288", "reason": "",
    },
    {
        "outcome": "denied", "product": "ETH-USD", "side": "BUY", "type": "MARKET IOC", "size": "2.64413886",
        "filled": "0", "average price": "", "fees": "0", "reason": "order notional 2600 USD exceeds the 2500 USD limit",
    },
]  # fmt: skip
WORDS = {word for row in ORDERS for value in row.values() for word in value.split()} | {
    word for name in ORDERS[0] for word in name.split()
}


def _printed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], columns: int) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    _table("Orders this cycle", ORDERS, empty="none")
    return capsys.readouterr().out


@pytest.mark.parametrize("columns", [60, 80, 100, 120, 160])
def test_every_word_of_the_table_is_printed_whole(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], columns: int
) -> None:
    out = _printed(monkeypatch, capsys, columns)
    printed = {word.strip("│┃") for line in out.splitlines() for word in line.split()}
    assert printed >= WORDS, f"cut at {columns} columns: {sorted(WORDS - printed)}"
    assert max(len(line.rstrip()) for line in out.splitlines()) <= columns


def test_a_wide_terminal_gets_the_table_and_a_narrow_one_a_block_per_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wide = _printed(monkeypatch, capsys, 160)
    assert "┃ outcome" in wide
    narrow = _printed(monkeypatch, capsys, 80).splitlines()
    assert "┃ outcome" not in "\n".join(narrow)
    assert [line.split()[1] for line in narrow if line.split()[:1] == ["product"]] == ["BTC-USD", "ETH-USD"]
    # An order's empty fields are left out of its block: the accepted one has no reason line.
    first = narrow[: narrow.index(next(line for line in narrow if "denied" in line))]
    assert not any(line.split()[:1] == ["reason"] for line in first)


def test_no_rows_print_the_empty_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _table("Orders this cycle", [], empty="The strategy wanted no trade this cycle.")
    assert capsys.readouterr().out.strip() == "Orders this cycle: The strategy wanted no trade this cycle."
