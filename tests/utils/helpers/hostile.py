"""Hostile JSON for fuzz tests: values no honest answer holds, and one-part mutations of a documented body."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

__all__ = ["FUZZ", "HOSTILE_NUMBERS", "HOSTILE_TEXT", "Raw", "dumps", "json_values", "mutated", "paths"]

# Bounded and repeatable: the whole default suite runs close to its time budget.
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Raw(str):
    """JSON text put into a body as it is: numbers no Python value prints (`1e999999`, 400 digits)."""


HOSTILE_NUMBERS = [Raw("1e999999"), Raw("-1e9999999999"), Raw("1e-999999999"), Raw(str(10**400)), Raw("-0")]
HOSTILE_NUMBERS += [Raw("1" * 5000), Raw("1E+5"), Raw("0.1"), Raw("9223372036854775808"), Raw("-9223372036854775809")]
HOSTILE_TEXT = [
    "", " ", "\x00", "a\x00b", "\u202e\u200f", "\ufeff", "../../../etc/passwd", "'; DROP TABLE orders; --",
    '"', "\\", "x" * 10_000, "1e999999", "1e9999999999", "NaN", "nan", "Infinity", "-Infinity", "sNaN", "-0",
    str(10**400), "9" * 5000, "<string>", "UNKNOWN_ENUM_VALUE", "BUYSELL", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+00:01", "2024-02-30T00:00:00Z", "2024-06-18T19:59:10.1234567890Z",
    "\ud800", "null", "true", "{}", "[]",
]  # fmt: skip

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**450), max_value=10**450),
    st.sampled_from(HOSTILE_NUMBERS),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=20),
    st.decimals(allow_nan=False, allow_infinity=False, places=8).map(lambda value: Raw(format(value, "f"))),
)
json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
"""Any JSON value, hostile scalars favoured."""


def dumps(value: Any) -> str:
    """JSON text of `value`, `Raw` parts written as they are."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(key)}:{dumps(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    return json.dumps(value)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON tree, the root first."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def _replace(tree: Any, path: tuple[Any, ...], replacement: Any, *, delete: bool) -> Any:
    if not path:
        return replacement
    head, rest = path[0], path[1:]
    copy: Any = dict(tree) if isinstance(tree, dict) else list(tree)
    if delete and not rest:
        del copy[head]
    else:
        copy[head] = _replace(tree[head], rest, replacement, delete=delete)
    return copy


def mutated(data: st.DataObject, body: Any, *, keep: frozenset[tuple[Any, ...]] = frozenset()) -> Any:
    """`body` with one to three parts deleted or replaced by any JSON value; the places in `keep` left alone."""
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="mutations")):
        places = [path for path in paths(body) if path not in keep]
        path = data.draw(st.sampled_from(places), label="path")
        delete = bool(path) and data.draw(st.booleans(), label="delete")
        replacement = None if delete else data.draw(json_values, label="replacement")
        body = _replace(body, path, replacement, delete=delete)
    return body
