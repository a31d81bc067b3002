"""`WireTime`: a time as Coinbase wrote it, every fraction digit kept, usable wherever a datetime is.

Coinbase writes RFC 3339 times with anything from no fraction to nine digits (a fill's `trade_time`
`2024-06-18T19:59:10.102220957Z`, real-traffic facts 23 and 25). Python's datetime holds microseconds:
read into one, that time becomes `.102220`, so a fills cursor built from it lands before the fill it
names, and two fills in the same microsecond tie.

The design: `WireTime` subclasses `datetime`, so the domain, the store and pandas take it as the
datetime it is (arithmetic, `timestamp()`, `astimezone`, comparison with plain datetimes), and it
carries the two things a datetime cannot hold:

- `nanosecond`, the digits past the microsecond (0-999), and
- `text`, the exact string read from the wire.

Between WireTimes, equality and ordering count the nanoseconds, so sorting fills puts a same-microsecond
tie in its real order, and one instant written two ways (`...10.1Z`, `...10.100Z`, `+01:00`) is equal to
itself. Against a plain datetime a WireTime compares at the datetime's precision (the digits it lacks are
unknown to it, not zero): a fill time read back from a microsecond column (the store's) is the same fill
time as the wire's, and hashing ignores the nanoseconds so the two hash alike.

A WireTime sent back to Coinbase (a `start_sequence_timestamp` cursor, a GTD `end_time`) is written as
its `text`, never as a rounded copy. Values derived from one (`+ timedelta`, `replace`, `astimezone`)
are datetime arithmetic: they hold microseconds only, and their `text` is written from their fields.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, Self

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from cryptoj.coinbase.errors import InvalidArgumentError

__all__ = ["WireTime"]

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.(\d{1,9}))?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII)
_SHAPE = "an RFC 3339 time (YYYY-MM-DDTHH:MM:SS[.up to 9 digits] and Z or an offset)"


class WireTime(datetime):
    """A timezone-aware datetime that also keeps the nanoseconds and the exact text it was read from.

    Build one with `parse` (wire text) or `from_datetime`; the models do it for every time field.
    """

    # Unset on values datetime's own arithmetic builds (+ timedelta, replace, astimezone): read with defaults.
    __slots__ = ("_nanosecond", "_text")

    _nanosecond: int
    _text: str | None

    @classmethod
    def parse(cls, text: str) -> Self:
        """Read an RFC 3339 time with 0 to 9 fraction digits; anything else is `InvalidArgumentError`."""
        match = _RFC3339.fullmatch(text)
        if match is None:
            raise InvalidArgumentError(f"not {_SHAPE}")  # the value is not echoed: it may be anything
        try:
            # The shape is checked: datetime's own (C) parser reads the fields, cutting the fraction to microseconds.
            self = cls.fromisoformat(text if text[-1] != "z" else text.upper())
        except ValueError:
            raise InvalidArgumentError(f"not {_SHAPE}: a field is out of range") from None
        if self.year in (1, 9999):
            # Only at the calendar's ends can an offset push the instant out of datetime's range, where
            # astimezone(UTC) (the store's first step) raises OverflowError: refuse it here, by type.
            try:
                self.astimezone(UTC)
            except OverflowError:
                raise InvalidArgumentError(f"not {_SHAPE}: the instant is out of range") from None
        fraction = match.group(1)
        self._nanosecond = int(fraction[6:].ljust(3, "0")) if fraction and len(fraction) > 6 else 0
        self._text = text
        return self

    @classmethod
    def from_datetime(cls, value: datetime) -> Self:
        """The same instant as a WireTime (a WireTime comes back as is); naive times are refused."""
        if isinstance(value, cls):
            return value
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidArgumentError("times sent to Coinbase must be timezone-aware")
        return cls(*value.timetuple()[:6], value.microsecond, value.tzinfo, fold=value.fold)

    @property
    def nanosecond(self) -> int:
        """Nanoseconds past `microsecond` (0-999): the digits a datetime cannot hold."""
        return getattr(self, "_nanosecond", 0)

    @property
    def text(self) -> str:
        """The exact wire text when read from Coinbase; else RFC 3339 written from the fields (`Z` for UTC)."""
        text: str | None = getattr(self, "_text", None)
        if text is not None:
            return text
        written = self.isoformat()
        return written[:-6] + "Z" if written.endswith("+00:00") else written

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"WireTime({self.text!r})"

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        # datetime's own pickle state has no room for the nanoseconds and the text.
        return (_rebuild, (_plain(self), self.nanosecond, getattr(self, "_text", None)))

    # Comparisons: datetime's, then, against another WireTime, the nanoseconds for a same-microsecond tie.

    # Anything but a datetime gets datetime's own answer (NotImplemented, or its TypeError for a date).

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, datetime):
            return datetime.__eq__(self, other)
        same = datetime.__eq__(self, other) is True
        return same and self.nanosecond == other.nanosecond if isinstance(other, WireTime) else same

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        # Equal to the plain datetime of its microsecond, so hashed alike (WireTimes in one microsecond collide).
        return datetime.__hash__(self)

    def __lt__(self, other: date) -> bool:
        if not isinstance(other, datetime):
            _refuse_date(other)
            return NotImplemented
        return self._compare(other) < 0

    def __le__(self, other: date) -> bool:
        if not isinstance(other, datetime):
            _refuse_date(other)
            return NotImplemented
        return self._compare(other) <= 0

    def __gt__(self, other: date) -> bool:
        if not isinstance(other, datetime):
            _refuse_date(other)
            return NotImplemented
        return self._compare(other) > 0

    def __ge__(self, other: date) -> bool:
        if not isinstance(other, datetime):
            _refuse_date(other)
            return NotImplemented
        return self._compare(other) >= 0

    def _compare(self, other: datetime) -> int:
        # datetime's own comparison first: it raises TypeError for naive against aware, as datetime does.
        if datetime.__lt__(self, other):
            return -1
        if datetime.__gt__(self, other):
            return 1
        if not isinstance(other, WireTime):
            return 0  # the same microsecond: a plain datetime knows no more
        mine, theirs = self.nanosecond, other.nanosecond
        return (mine > theirs) - (mine < theirs)

    # pydantic: validate from wire text, a WireTime or an aware datetime; JSON output is `text`.

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda value: value.text if isinstance(value, WireTime) else value, when_used="json"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "format": "date-time"}


def _refuse_date(other: object) -> None:
    # datetime's own rule: ordering against a date (not a datetime) is refused outright; the rest is NotImplemented.
    if isinstance(other, date):
        raise TypeError(f"can't compare WireTime to {type(other).__name__}")


def _validate(value: Any) -> WireTime:
    if isinstance(value, str):
        return WireTime.parse(value)
    if isinstance(value, datetime):
        return WireTime.from_datetime(value)
    raise InvalidArgumentError(f"expected {_SHAPE}, got {type(value).__name__}")


def _plain(value: datetime) -> datetime:
    return datetime(*value.timetuple()[:6], value.microsecond, value.tzinfo, fold=value.fold)  # noqa: DTZ001


def _rebuild(moment: datetime, nanosecond: int, text: str | None) -> WireTime:
    """Unpickle a WireTime."""
    rebuilt = WireTime(*moment.timetuple()[:6], moment.microsecond, moment.tzinfo, fold=moment.fold)
    rebuilt._nanosecond = nanosecond
    rebuilt._text = text
    return rebuilt
