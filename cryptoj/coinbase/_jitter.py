"""The random fraction that spreads retries and reconnects out."""

from __future__ import annotations

import random

__all__ = ["jitter"]

# From a generator of the package's own, not the `random` module's shared one: a retry or a reconnect must not
# move the sequence a user seeded for a simulation or a backtest (nor that of a test's property run).
jitter = random.Random().random  # noqa: S311 - spreads retries out, guards no secret
