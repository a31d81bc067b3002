"""The CDN in front of Coinbase's public `/market/*` routes: cached copies and the headers that say so.

Real answers of `/market/*` come through Cloudflare (fact 20): `Cache-Control: public, max-age=14400`,
`CF-Cache-Status: HIT|MISS|EXPIRED`, `Age` on a hit, `Expires`, `Last-Modified`. A `product_book?limit=5`
came back as a HIT one second old: a price read there may be a cached copy. The sandbox keeps each answer
for `ttl` seconds (Coinbase documents about one) and serves it again, byte for byte, until then.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate

__all__ = ["CACHE_CONTROL", "CachedAnswer", "CdnCache"]

CACHE_CONTROL = "public, max-age=14400"
_MAX_AGE = 14_400


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """One stored answer: its bytes, type and when the origin made it (epoch seconds)."""

    body: bytes
    media_type: str
    stored_at: float


class CdnCache:
    """Stored `/market/*` answers by URL (path and query), each served for `ttl` seconds.

    Parameters:
        ttl: seconds an answer is served from the cache (0: never; every request reaches the origin).
        clock: epoch seconds (the CDN's wall clock, not the sandbox's simulated one), replaceable in tests.
        max_entries: how many URLs are kept (the least recently stored go first), so queries cannot grow it.
    """

    def __init__(self, *, ttl: float = 1.0, clock: Callable[[], float] = time.time, max_entries: int = 512) -> None:
        if ttl < 0 or max_entries < 1:
            raise ValueError("a CDN cache needs ttl >= 0 and max_entries >= 1")
        self.ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()

    def lookup(self, url: str) -> tuple[str, CachedAnswer | None]:
        """`("HIT", answer)` while a stored answer is fresh; `("EXPIRED", None)` past it; `("MISS", None)` else."""
        entry = self._entries.get(url)
        if entry is None:
            return "MISS", None
        if self._clock() - entry.stored_at < self.ttl:
            return "HIT", entry
        return "EXPIRED", None

    def store(self, url: str, body: bytes, media_type: str) -> CachedAnswer:
        """Keep an origin answer made now."""
        entry = CachedAnswer(body, media_type, self._clock())
        self._entries[url] = entry
        self._entries.move_to_end(url)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return entry

    def headers(self, status: str, entry: CachedAnswer) -> dict[str, str]:
        """What Cloudflare adds to an answer of `entry` served with `status` (HIT, MISS or EXPIRED)."""
        now = self._clock()
        headers = {
            "Cache-Control": CACHE_CONTROL,
            "CF-Cache-Status": status,
            "Expires": formatdate(now + _MAX_AGE, usegmt=True),
            "Last-Modified": formatdate(entry.stored_at, usegmt=True),
        }
        if status == "HIT":
            headers["Age"] = str(max(0, int(now - entry.stored_at)))
        return headers
