"""Shared bases and field types of the REST wire models.

Responses keep unknown fields (Coinbase keeps adding them: real orders and accounts carry many
undocumented ones) and never fail on them. Requests forbid unknown fields, because Coinbase answers
400 `unknown field` for any field it does not document. Money is `Decimal`, parsed from Coinbase's
decimal strings; an empty string (Coinbase's "unset") becomes None.

A few bodies carry money as JSON numbers (transaction_summary, portfolio breakdowns). Answers are read
with `loads_exact`, which turns every JSON number with a fraction or exponent into a `Decimal` from its
own digits, in declared and kept-unknown fields alike: a JSON parser's binary float would turn
`12345678.123456789012` into `12345678.12345679` before any validator saw it.

Bad input gets a typed error: a model built in code (its constructor, or a request's `model_validate`)
raises `InvalidArgumentError` naming the fields, never echoing their values. Parsing an answer keeps
pydantic's `ValidationError`, which the client turns into `UnexpectedResponseError` at its one boundary.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Self, TypeVar

import msgspec
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError
from pydantic_core import InitErrorDetails

from cryptoj.coinbase.errors import InvalidArgumentError
from cryptoj.coinbase.models.times import WireTime

__all__ = [
    "Amount",
    "OptDecimal",
    "OptTime",
    "RequestModel",
    "WireDecimal",
    "WireInt",
    "WireList",
    "WireModel",
    "describe_validation",
    "loads_exact",
]

# msgspec hands the hook a JSON number's own text; it decodes about as fast as pydantic's JSON parser (measured).
_EXACT_JSON = msgspec.json.Decoder(float_hook=Decimal)


def loads_exact(data: str | bytes | bytearray) -> Any:
    """Parse JSON with every non-integer number as an exact `Decimal` (integers stay `int`).

    Raises `ValueError` (msgspec.DecodeError) for text that is not JSON, nested too deeply included.
    """
    try:
        return _EXACT_JSON.decode(data)
    except RecursionError:
        # msgspec gives up past Python's recursion limit: a hostile body, reported as the bad JSON it is.
        raise msgspec.DecodeError("JSON nested too deeply") from None


def describe_validation(exc: ValidationError, *, limit: int = 5) -> str:
    """`field.path: problem` for the first `limit` failures; never the values (they may be anything)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in exc.errors(include_input=False, include_url=False)[:limit]
    )


def _invalid(model: type[BaseModel], exc: ValidationError) -> InvalidArgumentError:
    return InvalidArgumentError(f"invalid {model.__name__}: {describe_validation(exc)}")


def _blank_to_none(value: Any) -> Any:
    # Coinbase renders unset scalars as "" (and the zero time as 0001-01-01), not as null.
    if isinstance(value, str) and (not value.strip() or value.startswith("0001-01-01")):
        return None
    return value


# A few bodies (transaction_summary) carry JSON numbers: `loads_exact` reads them as Decimal, and pydantic reads
# a Python float through its shortest text (0.1 is Decimal("0.1")), never its binary value. No Python validator
# of our own here: one per field was a third of the time a 1000-level book took to validate (measured).
WireDecimal = Annotated[
    Decimal,
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
]
"""A required decimal: sent and received as Coinbase's decimal string."""

OptDecimal = Annotated[WireDecimal | None, BeforeValidator(_blank_to_none)]
"""A decimal Coinbase may leave empty ("") or out."""


def _null_to_empty(value: Any) -> Any:
    # Coinbase renders an empty repeated field as null now and then (`edit_history: null` on real orders):
    # read as empty, or one such order fails its whole page.
    return [] if value is None else value


def _no_huge_exponent(value: Any) -> Any:
    # `1e999999` would first become an int of a million digits (half a second of CPU) before the bound refused it.
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > _INT64_DIGITS:
        raise ValueError("not an int64")
    return value


_INT64_DIGITS = 19
WireInt = Annotated[int, BeforeValidator(_no_huge_exponent), Field(ge=-(2**63), lt=2**63)]
"""One of Coinbase's int64s (sent as a string or a number): a bigger one is no int64 and is refused, not kept
as an int of a million digits that no log line can print (str() refuses past 4300 digits)."""

T = TypeVar("T")
WireList = Annotated[list[T], BeforeValidator(_null_to_empty)]
"""A list in an answer: absent or null reads as empty."""

OptTime = Annotated[WireTime | None, BeforeValidator(_blank_to_none)]
"""An RFC 3339 time (up to nine fraction digits, all kept: `WireTime`) that may be unset."""


class WireModel(BaseModel):
    """A response body or part of one: frozen, unknown fields kept in `model_extra`."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    def __init__(self, /, **data: Any) -> None:
        """Build from keyword fields; bad input raises `InvalidArgumentError` naming the fields."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _invalid(type(self), exc) from exc

    # Not a custom __init__ to pydantic (as RootModel does): nested and parsed models keep the fast
    # core path, and a misfit inside an answer stays a ValidationError with its full location.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *args: Any, **kwargs: Any) -> Self:
        """Validate an answer's JSON text, its numbers read exactly (`loads_exact`); not JSON: ValidationError."""
        try:
            data = loads_exact(json_data)
        except msgspec.DecodeError as exc:
            details = InitErrorDetails(type="json_invalid", loc=(), input=json_data, ctx={"error": str(exc)})
            raise ValidationError.from_exception_data(cls.__name__, [details]) from None
        return cls.model_validate(data, *args, **kwargs)


class RequestModel(BaseModel):
    """A request body: frozen, and only documented fields (Coinbase rejects unknown ones with 400)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def __init__(self, /, **data: Any) -> None:
        """Build from keyword fields; bad input raises `InvalidArgumentError` naming the fields."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _invalid(type(self), exc) from exc

    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]  # see WireModel

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Validate a request body given as data; bad input raises `InvalidArgumentError`."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise _invalid(cls, exc) from exc

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *args: Any, **kwargs: Any) -> Self:
        """Validate a request body given as JSON text; bad input raises `InvalidArgumentError`."""
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as exc:
            raise _invalid(cls, exc) from exc

    def to_wire(self) -> dict[str, Any]:
        """The JSON body: unset options left out, decimals as strings."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude_none=True, by_alias=True)
        return data


class Amount(WireModel):
    """A balance: `{"value": "1.23", "currency": "BTC"}`."""

    value: WireDecimal
    currency: str
