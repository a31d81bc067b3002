"""Fault plans fire at their configured rates, the same way under a seed; rate limits count per window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cryptoj.sandbox.clock import SimClock
from cryptoj.sandbox.faults import FAULT_KINDS, FaultConfig, FaultConfigError, FaultPlan
from cryptoj.sandbox.ratelimit import RateLimiter

DRAWS = 4000


def pattern(plan: FaultPlan, kind: str, draws: int = DRAWS) -> list[bool]:
    return [plan.fires(kind) for _ in range(draws)]


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("rate", [0.05, 0.3])
def test_each_fault_fires_at_its_configured_rate(kind: str, rate: float) -> None:
    plan = FaultPlan(FaultConfig(seed=11, **{f"{kind}_rate": rate}))  # type: ignore[arg-type]
    fired = sum(pattern(plan, kind))
    # Binomial: four standard deviations either side.
    sd = (DRAWS * rate * (1 - rate)) ** 0.5
    assert abs(fired - DRAWS * rate) < 4 * sd


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_the_same_seed_gives_the_same_faults(kind: str) -> None:
    config = FaultConfig(seed=3, **{f"{kind}_rate": 0.2})  # type: ignore[arg-type]
    assert pattern(FaultPlan(config), kind, 200) == pattern(FaultPlan(config), kind, 200)
    other = FaultConfig(seed=4, **{f"{kind}_rate": 0.2})  # type: ignore[arg-type]
    assert pattern(FaultPlan(config), kind, 200) != pattern(FaultPlan(other), kind, 200)


def test_one_kinds_rate_does_not_shift_anothers_pattern() -> None:
    alone = FaultPlan(FaultConfig(seed=5, error_5xx_rate=0.2))
    mixed = FaultPlan(FaultConfig(seed=5, error_5xx_rate=0.2, error_429_rate=0.5))
    expected = pattern(alone, "error_5xx", 100)
    got = []
    for _ in range(100):
        mixed.fires("error_429")
        got.append(mixed.fires("error_5xx"))
    assert got == expected


def test_rate_zero_never_fires_and_rate_one_always_does() -> None:
    plan = FaultPlan(FaultConfig(reset_rate=1.0))
    assert all(pattern(plan, "reset", 50))
    assert not any(pattern(plan, "error_5xx", 50))


def test_reconfiguring_restarts_the_streams_from_the_seed() -> None:
    plan = FaultPlan(FaultConfig(seed=9, latency_rate=0.5))
    first = pattern(plan, "latency", 50)
    plan.configure(FaultConfig(seed=9, latency_rate=0.5))
    assert pattern(plan, "latency", 50) == first


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"error_5xx_rate": 1.5}, "from 0 to 1"),
        ({"error_5xx_rate": "often"}, "from 0 to 1"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"explode_rate": 0.1}, "unknown fault settings: explode_rate"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_fault_configurations_get_a_clear_error(data: object, message: str) -> None:
    with pytest.raises(FaultConfigError, match=message):
        FaultConfig.from_dict(data)


def test_fault_configuration_round_trips_through_json_data() -> None:
    config = FaultConfig(seed=2, latency_ms=30, latency_rate=0.1, html_errors=True)
    assert FaultConfig.from_dict(config.to_dict()) == config


class FakeTime:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_requests_over_the_budget_are_refused_until_the_window_ends() -> None:
    clock = FakeTime(1000.2)
    limiter = RateLimiter(private_per_second=3, public_per_second=2, clock=clock)
    decisions = [limiter.check("key", public=False) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    refused = decisions[-1]
    assert refused.headers() == {
        "x-ratelimit-limit": "3",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": "1001",
        "Retry-After": "1",
    }
    assert limiter.check("other-key", public=False).allowed  # budgets are per key
    assert limiter.check("key", public=True).allowed  # and per kind
    clock.now = 1001.0
    assert limiter.check("key", public=False).allowed


def test_allowed_requests_carry_no_retry_after() -> None:
    decision = RateLimiter(clock=FakeTime(5.0)).check("1.2.3.4", public=True)
    assert decision.allowed
    assert "Retry-After" not in decision.headers()
    assert decision.limit == 10


def test_a_frozen_clock_moves_only_when_advanced() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = SimClock(start=start, speed=0)
    assert clock.now() == start
    clock.advance(90)
    assert clock.seconds() == 90
    assert (clock.now() - start).total_seconds() == 90


def test_a_fast_clock_runs_speed_times_real_time() -> None:
    real = FakeTime(100.0)
    clock = SimClock(start=datetime(2026, 1, 1, tzinfo=UTC), speed=60, monotonic=real)
    real.now = 102.0
    assert clock.seconds() == 120
    assert clock.speed == 60
    assert clock.start.year == 2026


@pytest.mark.parametrize(
    "make",
    [
        lambda: SimClock(speed=-1),
        lambda: SimClock(start=datetime(2026, 1, 1)),  # noqa: DTZ001 - the naive time under test
        lambda: SimClock().advance(-1),
    ],
)
def test_clock_misuse_is_refused(make: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - three different messages
        make()  # type: ignore[operator]
