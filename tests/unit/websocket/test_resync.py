"""SnapshotWatch: a level2 snapshot asked for has a deadline; missed once it is asked again, missed twice, given up."""

from __future__ import annotations

import pytest

from cryptoj.coinbase.ws_resync import SnapshotWatch
from cryptoj.errors import ConfigurationError


def test_a_snapshot_missed_once_is_asked_again_and_missed_twice_is_given_up() -> None:
    watch = SnapshotWatch(timeout=5.0)
    watch.asked(["BTC-USD", "ETH-USD"], now=0.0)
    assert watch.next_due() == 5.0
    assert watch.overdue(4.9) == ([], [])
    assert watch.overdue(5.0) == (["BTC-USD", "ETH-USD"], [])
    assert not watch  # both left the watch until asked again
    watch.asked(["BTC-USD", "ETH-USD"], now=5.0)
    watch.answered("ETH-USD")
    assert watch.overdue(10.0) == ([], ["BTC-USD"])
    assert watch.next_due() is None


def test_an_answer_resets_the_count_of_tries() -> None:
    watch = SnapshotWatch(timeout=1.0)
    watch.asked(["BTC-USD"], now=0.0)
    watch.answered("BTC-USD")
    watch.asked(["BTC-USD"], now=10.0)  # a later resync starts afresh
    assert watch.overdue(11.0) == (["BTC-USD"], [])


def test_forgotten_and_cleared_products_are_not_waited_for() -> None:
    watch = SnapshotWatch(timeout=1.0)
    watch.asked(["BTC-USD", "ETH-USD"], now=0.0)
    watch.forget(["BTC-USD"])
    watch.answered("SOL-USD")  # never asked: nothing happens
    assert watch.overdue(2.0) == (["ETH-USD"], [])
    watch.asked(["ETH-USD"], now=2.0)
    watch.clear()
    assert watch.overdue(100.0) == ([], [])


def test_a_timeout_that_would_never_wait_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="snapshot_timeout"):
        SnapshotWatch(timeout=0.0)
