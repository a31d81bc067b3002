"""The sandbox's forms: which dialect it speaks, the seeded variations of the real one, and its time texts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from cryptoj.sandbox.forms import (
    VARIATIONS,
    Dialect,
    FormsError,
    WireForms,
    fixed_time,
    go_time_nano,
    go_time_string,
    proto_time,
)

MOMENT = datetime(2026, 9, 14, 5, 36, 33, 102220, tzinfo=UTC)
DRAWS = 400


def test_proto_time_writes_as_few_of_0_3_6_or_9_fraction_digits_as_the_value_needs() -> None:
    # Fact 25: created_time with six digits or none, fill trade_time with nine.
    assert proto_time(MOMENT.replace(microsecond=0)) == "2026-09-14T05:36:33Z"
    assert proto_time(MOMENT.replace(microsecond=120000)) == "2026-09-14T05:36:33.120Z"
    assert proto_time(MOMENT) == "2026-09-14T05:36:33.102220Z"
    assert proto_time(MOMENT, nanos=957) == "2026-09-14T05:36:33.102220957Z"
    assert proto_time(MOMENT.replace(microsecond=0), nanos=5) == "2026-09-14T05:36:33.000000005Z"


def test_go_rfc3339nano_drops_trailing_zeros_so_frames_carry_6_to_9_digits() -> None:
    # Fact 23: the frame timestamp has 6 to 9 digits, trade and level times often 6.
    assert go_time_nano(MOMENT, nanos=957) == "2026-09-14T05:36:33.102220957Z"
    assert go_time_nano(MOMENT, nanos=950) == "2026-09-14T05:36:33.10222095Z"
    assert go_time_nano(MOMENT) == "2026-09-14T05:36:33.10222Z"
    assert go_time_nano(MOMENT.replace(microsecond=0)) == "2026-09-14T05:36:33Z"


def test_go_time_string_is_the_heartbeat_current_time_text() -> None:
    text = go_time_string(MOMENT, uptime=425.79, nanos=769)
    assert text == "2026-09-14 05:36:33.102220769 +0000 UTC m=+425.790000000"
    assert go_time_string(MOMENT.replace(microsecond=0), uptime=1).startswith("2026-09-14 05:36:33 +0000 UTC m=+1.")


def test_times_are_written_in_utc_whatever_zone_they_come_in() -> None:
    from datetime import timedelta, timezone

    east = MOMENT.astimezone(timezone(timedelta(hours=5)))
    assert proto_time(east) == proto_time(MOMENT)
    assert go_time_nano(east) == go_time_nano(MOMENT)
    assert fixed_time(east) == "2026-09-14T05:36:33.102220Z"


def test_nanos_outside_a_microsecond_are_refused() -> None:
    with pytest.raises(ValueError, match="0-999"):
        proto_time(MOMENT, nanos=1000)


def draws(forms: WireForms, draw: Callable[[WireForms], bool]) -> list[bool]:
    return [draw(forms) for _ in range(DRAWS)]


DRAW_FUNCTIONS: dict[str, Callable[[WireForms], bool]] = {
    "spaced": WireForms.spaced,
    "not_found_json": WireForms.not_found_json,
    "client_id": WireForms.client_id,
    "best_prices_empty": WireForms.best_prices_empty,
    "whole_second": WireForms.whole_second,
}


@pytest.mark.parametrize("name", DRAW_FUNCTIONS)
def test_the_real_forms_meet_each_variation_both_ways_and_the_same_seed_repeats_them(name: str) -> None:
    draw = DRAW_FUNCTIONS[name]
    first = draws(WireForms(Dialect.REAL, seed=4), draw)
    assert set(first) == {True, False}
    assert draws(WireForms(Dialect.REAL, seed=4), draw) == first
    assert draws(WireForms(Dialect.REAL, seed=5), draw) != first


def test_the_documented_forms_never_vary() -> None:
    forms = WireForms(Dialect.DOCUMENTED, seed=4)
    for name, draw in DRAW_FUNCTIONS.items():
        expected = name == "client_id"  # the docs' frames always carry client_id ""
        assert set(draws(forms, draw)) == {expected}, name


def test_client_id_is_mostly_absent_from_real_frames() -> None:
    present = sum(draws(WireForms(Dialect.REAL, seed=1), WireForms.client_id))
    assert 0 < present < DRAWS / 2  # fact 2: no 2026 frame had it; the docs' always did


def test_one_variations_draws_never_shift_anothers() -> None:
    alone = WireForms(Dialect.REAL, seed=2)
    mixed = WireForms(Dialect.REAL, seed=2)
    expected = draws(alone, WireForms.client_id)
    seen = []
    for _ in range(DRAWS):
        mixed.spaced()
        mixed.trace_id()
        seen.append(mixed.client_id())
    assert seen == expected


def test_trace_ids_are_decimal_in_the_real_forms_and_hex_in_the_documented() -> None:
    real = [WireForms(Dialect.REAL, seed=3).trace_id() for _ in range(3)]
    assert all(t.isdigit() and int(t) < 2**63 for t in real)
    documented = WireForms(Dialect.DOCUMENTED).trace_id()
    assert len(documented) == 32
    int(documented, 16)


def test_frame_nanos_and_ray_ids_have_their_shapes() -> None:
    forms = WireForms(Dialect.REAL)
    assert all(0 <= forms.frame_nanos() < 1000 for _ in range(100))
    ray = forms.cdn_ray()
    assert len(ray) == 20
    assert ray.endswith("-EWR")
    int(ray[:16], 16)


def test_configure_switches_the_dialect_by_name_and_restarts_the_variations() -> None:
    forms = WireForms(seed=6)
    forms.configure("real")
    assert forms.real
    assert forms.dialect is Dialect.REAL
    first = draws(forms, WireForms.spaced)
    forms.configure(Dialect.REAL)
    assert draws(forms, WireForms.spaced) == first
    forms.configure("documented")
    assert not forms.real


def test_an_unknown_dialect_is_a_clear_error_and_changes_nothing() -> None:
    forms = WireForms(Dialect.REAL)
    with pytest.raises(FormsError, match="unknown dialect 'tidy': use one of real, documented"):
        forms.configure("tidy")
    assert forms.real


def test_every_variation_has_its_own_stream() -> None:
    assert len(set(VARIATIONS)) == len(VARIATIONS)


def test_the_sandbox_answers_in_the_real_forms_unless_asked_otherwise() -> None:
    from cryptoj.sandbox.exchange import SandboxExchange

    assert WireForms().dialect is Dialect.REAL
    assert SandboxExchange(seed=1).forms.real


def test_the_documented_forms_write_an_unset_rest_time_as_coinbases_zero_time() -> None:
    from cryptoj.sandbox.engine.wire import ZERO_TIME, rfc3339

    assert rfc3339(None) == ZERO_TIME == "0001-01-01T00:00:00Z"
    assert rfc3339(MOMENT) == "2026-09-14T05:36:33.102220Z"
