"""The random fraction that spreads retries and reconnects out."""

from __future__ import annotations

import random

__all__ = ["jitter"]

# From the operating system's generator, not the `random` module's shared one: a retry or a reconnect must not
# move the sequence a user seeded for a simulation or a backtest (nor that of a test's property run). Not a
# `random.Random()` of our own either: forked workers would inherit its state and retry in step, the herd
# jitter is there to break up (the `random` module reseeds only its shared generator after a fork).
jitter = random.SystemRandom().random
