"""A local exchange that speaks Coinbase Advanced Trade's REST and WebSocket protocol.

Build a `SandboxExchange`, serve it with `cryptoj.sandbox.server.SandboxServer` (kept out of this
module so importing the exchange core never loads uvicorn), or run `cryptoj sandbox serve`.
"""

from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.exchange import SandboxExchange
from cryptoj.sandbox.faults import FaultConfig, FaultPlan
from cryptoj.sandbox.keys import KeyRing, generate_key, write_key_file

__all__ = ["FaultConfig", "FaultPlan", "KeyRing", "SandboxExchange", "SimClock", "generate_key", "write_key_file"]
