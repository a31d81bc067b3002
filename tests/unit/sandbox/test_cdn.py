"""The CDN in front of /market/*: stored answers served again until they age out, with Cloudflare's headers."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest

from cryptoj.sandbox.cdn import CACHE_CONTROL, CdnCache

TYPE = "application/json; charset=utf-8"


class Clock:
    """Epoch seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1_771_737_745.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_fact_20_a_fresh_copy_is_a_hit_with_its_age_then_expired(clock: Clock) -> None:
    cdn = CdnCache(ttl=2, clock=clock)
    assert cdn.lookup("/a?x=1") == ("MISS", None)
    stored = cdn.store("/a?x=1", b"{}", TYPE)
    clock.now += 1.5
    status, hit = cdn.lookup("/a?x=1")
    assert (status, hit) == ("HIT", stored)
    assert hit is not None
    headers = cdn.headers(status, hit)
    assert headers["CF-Cache-Status"] == "HIT"
    assert headers["Age"] == "1"
    assert headers["Cache-Control"] == CACHE_CONTROL == "public, max-age=14400"
    modified = parsedate_to_datetime(headers["Last-Modified"]).timestamp()
    expires = parsedate_to_datetime(headers["Expires"]).timestamp()
    assert modified == int(stored.stored_at)
    assert expires == int(clock.now) + 14_400
    clock.now += 0.5
    assert cdn.lookup("/a?x=1") == ("EXPIRED", None)


def test_only_a_hit_says_its_age(clock: Clock) -> None:
    cdn = CdnCache(clock=clock)
    entry = cdn.store("/a", b"{}", TYPE)
    assert "Age" not in cdn.headers("MISS", entry)
    assert "Age" not in cdn.headers("EXPIRED", entry)


def test_another_query_is_another_copy(clock: Clock) -> None:
    cdn = CdnCache(clock=clock)
    cdn.store("/book?limit=5", b"five", TYPE)
    assert cdn.lookup("/book?limit=6") == ("MISS", None)


def test_a_zero_ttl_never_serves_a_copy(clock: Clock) -> None:
    cdn = CdnCache(ttl=0, clock=clock)
    cdn.store("/a", b"{}", TYPE)
    assert cdn.lookup("/a") == ("EXPIRED", None)


def test_the_cache_keeps_a_bounded_number_of_urls(clock: Clock) -> None:
    cdn = CdnCache(clock=clock, max_entries=2)
    for url in ("/1", "/2", "/3"):
        cdn.store(url, b"{}", TYPE)
    assert cdn.lookup("/1") == ("MISS", None)
    assert cdn.lookup("/3")[0] == "HIT"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="ttl >= 0"):
        CdnCache(ttl=-1)
    with pytest.raises(ValueError, match="max_entries >= 1"):
        CdnCache(max_entries=0)
