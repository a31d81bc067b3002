"""Fault injection: which requests and connections fail, at configured rates, the same way under a seed."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from cryptoj.errors import CryptojError

__all__ = ["FAULT_KINDS", "FaultConfig", "FaultConfigError", "FaultPlan"]

# Each kind draws from its own seeded stream, so changing one rate never shifts another's pattern.
FAULT_KINDS = (
    "latency",
    "error_5xx",
    "error_429",
    "drop_after_accept",
    "reset",
    "order_failed",
    "order_queued",
    "ws_drop",
    "ws_sequence_gap",
    "account_unavailable",
)


class FaultConfigError(CryptojError):
    """A fault configuration the sandbox cannot use (unknown field, rate outside 0..1)."""


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """How often each fault fires (0 = never, 1 = always).

    Parameters:
        seed: fixes which requests fail.
        latency_ms: delay added when a `latency` fault fires.
        latency_rate .. ws_sequence_gap_rate: probability per request (REST) or per frame/check (WebSocket).
        drop_after_accept_rate: POST /orders is executed, then the connection drops with no answer.
        reset_rate: the connection drops before the request is handled.
        order_failed_rate: an accepted order fails right after acceptance (status FAILED, holds released).
        order_queued_rate: an accepted order stays QUEUED until the next market step, then works.
        html_errors: in the documented forms, 429 and 5xx answers are HTML pages (the real forms always are).
    """

    seed: int = 0
    latency_ms: int = 0
    latency_rate: float = 0.0
    error_5xx_rate: float = 0.0
    error_429_rate: float = 0.0
    drop_after_accept_rate: float = 0.0
    reset_rate: float = 0.0
    order_failed_rate: float = 0.0
    order_queued_rate: float = 0.0
    ws_drop_rate: float = 0.0
    ws_sequence_gap_rate: float = 0.0
    account_unavailable_rate: float = 0.0
    html_errors: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_rate") and not (isinstance(value, int | float) and 0 <= value <= 1):
                raise FaultConfigError(f"{f.name} must be a number from 0 to 1, got {value!r}")
        if not isinstance(self.latency_ms, int) or self.latency_ms < 0:
            raise FaultConfigError(f"latency_ms must be a non-negative integer, got {self.latency_ms!r}")

    @classmethod
    def from_file(cls, path: Path) -> FaultConfig:
        """Read a JSON file of settings (the same fields as the admin endpoint takes)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FaultConfigError(f"cannot read fault settings from {path}: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> FaultConfig:
        """Build from the admin endpoint's JSON; unknown fields are refused."""
        if not isinstance(data, dict):
            raise FaultConfigError("the fault configuration must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultConfigError(f"unknown fault settings: {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:  # pragma: no cover - every field has a default
            raise FaultConfigError(str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        """The configuration as JSON-ready data."""
        return asdict(self)


class FaultPlan:
    """Decides, draw by draw, whether a fault fires."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.configure(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        """The active configuration."""
        return self._config

    def configure(self, config: FaultConfig) -> None:
        """Replace the configuration and restart every stream from the seed."""
        self._config = config
        self.fired: Counter[str] = Counter()  # faults fired by kind since this configuration took effect
        self._streams = {
            kind: random.Random(f"{config.seed}:{kind}")  # noqa: S311 - reproducible faults, not secrets
            for kind in FAULT_KINDS
        }

    def fires(self, kind: str) -> bool:
        """Whether a fault of `kind` fires now (draws only when its rate is above zero)."""
        rate: float = getattr(self._config, f"{kind}_rate")
        if rate <= 0:
            return False
        fired = self._streams[kind].random() < rate
        if fired:
            self.fired[kind] += 1
        return fired
