"""A local exchange that speaks Coinbase Advanced Trade's REST and WebSocket protocol.

Build a `SandboxExchange` (in the real forms of Coinbase's traffic by default; `Dialect.DOCUMENTED` for the
tidier documented ones), serve it with `cryptoj.sandbox.server.SandboxServer` (kept out of this
module so importing the exchange core never loads uvicorn), or run `cryptoj sandbox serve`.

Limits, by design:
- Resting orders are matched at each market step (four a second when served) against the book of that
  moment; stops fire on any trade printed since the last step. With a clock much faster than real time a
  limit price the market passed between two steps can go unfilled.
- User fills take liquidity from the synthetic book without depleting it: the simulated market refills
  at once, so one user cannot move the price.
- `/time` answers the simulated clock, which order times, GTD end times and candles use; JWT `nbf`/`exp`
  are checked against the wall clock, as Coinbase checks them. After `--speed` or an admin advance the
  two differ: a client must not derive its JWT times from the sandbox's `/time`.
- In the real forms, `/market/*` answers come through a CDN cache (a second by default, as on Coinbase):
  anything that decides a trade reads the authenticated routes or the WebSocket.
"""

from __future__ import annotations

from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.faults import FaultConfig, FaultPlan
from cryptoj.sandbox.forms import Dialect, WireForms
from cryptoj.sandbox.keys import KeyRing, generate_key, write_key_file

__all__ = [
    "Dialect",
    "FaultConfig",
    "FaultPlan",
    "KeyRing",
    "SandboxExchange",
    "SimClock",
    "WireForms",
    "generate_key",
    "write_key_file",
]
