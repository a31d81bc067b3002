"""A synthetic level-2 book of realistic depth around a price, stable where the price did not move.

Levels sit on an absolute tick grid (every tick near the touch, every 10th further out, every 100th far
away), and a level's size is a hash of its price, so when the price moves only the levels near the touch
and at the edges change: the level2 updates stay small, like real ones. Sizes near the touch also change
with time, so a flat price still produces updates.
"""

from __future__ import annotations

__all__ = ["Ladder", "build_ladder", "mix"]

# (distance in ticks up to which the zone reaches, grid step in ticks, presence per mille)
_ZONES = ((300, 1, 600), (3_000, 10, 800), (300_000, 100, 900))
_HOT = 25  # levels this close to the touch get new sizes every second
# Real books hold absurd far levels (real-traffic fact 4: an offer at 138,991,023.41): fixed ticks here, so
# clients meet them too (with a 0.01 tick: offers at 138,991,023.41 and 1,000,000.00, bids at 1.00 and 0.01).
_FAR_ASKS = (13_899_102_341, 100_000_000)
_FAR_BIDS = (100, 1)

Ladder = dict[int, int]  # price in ticks -> size in base units of 1e-8


def mix(value: int) -> int:
    """A 32-bit integer hash: the same input, the same well-spread output."""
    # A cheap 32-bit integer hash (murmur3 finaliser): fast, deterministic, well spread.
    value &= 0xFFFFFFFF
    value ^= value >> 16
    value = (value * 0x85EBCA6B) & 0xFFFFFFFF
    value ^= value >> 13
    value = (value * 0xC2B2AE35) & 0xFFFFFFFF
    return value ^ (value >> 16)


def build_ladder(*, touch: int, direction: int, seed: int, unit: int, second: int, max_levels: int) -> Ladder:
    """The levels of one side: `direction` -1 for bids (at and below `touch`), +1 for asks (at and above).

    `unit` is the size scale in base units of 1e-8; `second` varies the sizes of the hottest levels.
    """
    levels: Ladder = {}
    salt = seed * 0x9E3779B1 + (1 if direction > 0 else 2)
    distance = 0
    for zone, (reach, step, presence) in enumerate(_ZONES):
        # Start at the first grid point of this zone (absolute grid: price % step == 0).
        price = touch + direction * distance
        if step > 1:
            price = (price // step) * step if direction < 0 else -((-price) // step) * step
            distance = abs(price - touch)
        while distance < reach and len(levels) < max_levels:
            if price <= 0:
                break
            h = mix(price ^ salt)
            if distance == 0 or h % 1000 < presence:
                if distance < _HOT:
                    h = mix(h ^ second)
                # Deeper zones hold bigger levels; by zone, not distance, so a move changes few sizes.
                levels[price] = unit * (1 + h % 997) * (1 + 3 * zone)
            price += direction * step
            distance += step
    for price in _FAR_ASKS if direction > 0 else _FAR_BIDS:
        if (price - touch) * direction > 0 and price not in levels:
            levels[price] = unit * (1 + mix(price ^ salt) % 97)
    return levels
