"""Compare a sandbox answer with a reference body: keys, JSON types and value formats, at every depth.

A reference is a documented or recorded body (tests/data/coinbase/examples, .../captured), or, where the
docs give a field list but no example, that list written as a body (`API_MD_BODIES` in the tests). The
comparison reports, as readable paths:
- a key the reference has and the answer lacks, or the reverse (unless excused with a reason);
- a value of another JSON type (string, number, boolean, object, array, null);
- a string in another format: a decimal where the reference has a decimal, an RFC3339 time where it has a
  time, an ENUM_NAME where it has one. Placeholders (`"<string>"`, `""`) and free text accept any string.
Every element of a served list is compared with the reference's first element.

Exceptions are data (`Excuses`), each with the real-traffic fact or recording that justifies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Excuses", "differences", "string_format"]

DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z")
ENUM = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{2,}")
# order_configuration's variants: the variant sent decides the fields inside (the docs show several at once).
CONFIGURATION_KEYS = frozenset(
    {
        "market_market_ioc",
        "market_market_fok",
        "sor_limit_ioc",
        "limit_limit_gtc",
        "limit_limit_gtd",
        "limit_limit_fok",
        "stop_limit_stop_limit_gtc",
        "stop_limit_stop_limit_gtd",
        "trigger_bracket_gtc",
        "trigger_bracket_gtd",
        "twap_limit_gtd",
    }
)


def string_format(text: str) -> str:
    """The format class of a reference string: decimal, time, enum, or any (free text and placeholders)."""
    if DECIMAL.fullmatch(text):
        return "decimal"
    if TIME.fullmatch(text):
        return "time"
    if ENUM.fullmatch(text):
        return "enum"
    return "any"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass(frozen=True)
class Excuses:
    """What an answer may do beyond its reference, by key name, each for a stated reason.

    Parameters:
        extra: keys the answer may have that the reference lacks.
        absent: keys of the reference the answer may leave out.
        null: keys whose value may be null where the reference has a value.
        empty: keys whose value may be "" where the reference has a decimal, time or enum.
        types: keys whose value may have this other JSON type (`{"heartbeat_counter": "number"}`).
        any_string: keys whose string may have any format (the reference's example is not the real one).
    """

    extra: dict[str, str] = field(default_factory=dict)
    absent: dict[str, str] = field(default_factory=dict)
    null: dict[str, str] = field(default_factory=dict)
    empty: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    any_string: dict[str, str] = field(default_factory=dict)

    def __or__(self, other: Excuses) -> Excuses:
        return Excuses(
            extra=self.extra | other.extra,
            absent=self.absent | other.absent,
            null=self.null | other.null,
            empty=self.empty | other.empty,
            types=self.types | other.types,
            any_string=self.any_string | other.any_string,
        )


NONE = Excuses()


def differences(reference: Any, served: Any, excuses: Excuses = NONE, path: str = "$") -> list[str]:
    """Every way `served` departs from `reference`, as `path: what` lines (empty when it conforms)."""
    key = path.rsplit(".", 1)[-1].split("[", 1)[0]
    ref_kind, kind = _kind(reference), _kind(served)
    if ref_kind != kind:
        if kind == "null" and key in excuses.null:
            return []
        if excuses.types.get(key) == kind:
            return []
        return [f"{path}: {kind} where the reference has {ref_kind}"]
    if isinstance(reference, dict):
        return _object(reference, served, excuses, path)
    if isinstance(reference, list):
        if not reference:
            return []
        if not served:
            # An empty list compares nothing: the test must arrange for elements to be served.
            return [f"{path}: served empty"] if isinstance(reference[0], dict | list) else []
        found: list[str] = []
        for i, element in enumerate(served):
            found += differences(reference[0], element, excuses, f"{path}[{i}]")
        return found
    if isinstance(reference, str):
        wanted = string_format(reference)
        if wanted == "any" or key in excuses.any_string:
            return []
        if served == "" and key in excuses.empty:
            return []
        if string_format(served) != wanted:
            return [f"{path}: {served!r} is not a {wanted} like the reference's {reference!r}"]
    return []


def _object(reference: dict[str, Any], served: dict[str, Any], excuses: Excuses, path: str) -> list[str]:
    if path.endswith((".order_configuration", ".attached_order_configuration")):
        return _configuration(reference, served, path)
    found = [f"{path}.{k}: missing" for k in reference if k not in served and k not in excuses.absent]
    found += [f"{path}.{k}: not in the reference" for k in served if k not in reference and k not in excuses.extra]
    for k in reference.keys() & served.keys():
        found += differences(reference[k], served[k], excuses, f"{path}.{k}")
    return found


def _configuration(reference: dict[str, Any], served: dict[str, Any], path: str) -> list[str]:
    """One known variant, its sizes and prices decimal strings, its flags booleans."""
    if len(served) != 1 or not set(served) <= CONFIGURATION_KEYS:
        return [f"{path}: {sorted(served)} is not one order configuration"]
    ((variant, fields),) = served.items()
    found = []
    for name, value in fields.items():
        flag = name in ("post_only", "rfq_disabled")
        if flag and not isinstance(value, bool):
            found.append(f"{path}.{variant}.{name}: {value!r} is not a boolean")
        elif not flag and name != "end_time" and not (isinstance(value, str) and DECIMAL.fullmatch(value)):
            found.append(f"{path}.{variant}.{name}: {value!r} is not a decimal string")
    return found
