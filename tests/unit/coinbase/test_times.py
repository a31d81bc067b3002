"""Wire times keep every fraction digit Coinbase sends, and still behave as datetimes (real-traffic fact 25)."""

from __future__ import annotations

import copy
import operator
import pickle
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy
from pydantic import ValidationError

from cryptoj.coinbase.errors import InvalidArgumentError
from cryptoj.coinbase.models import Fill, LimitConfig, ListFillsResponse, Order, WireTime

NINE = "2024-06-18T19:59:10.102220957Z"  # a real fill's trade_time


def _fill(entry_id: str, trade_time: str) -> dict[str, str]:
    return {"entry_id": entry_id, "trade_id": "t", "order_id": "o", "trade_time": trade_time,
            "sequence_timestamp": trade_time, "product_id": "BTC-USD"}  # fmt: skip


def test_a_fill_time_keeps_its_nanoseconds_and_its_text() -> None:
    fill = Fill.model_validate(_fill("e1", NINE))
    assert fill.trade_time.text == NINE
    assert fill.trade_time.microsecond == 102220
    assert fill.trade_time.nanosecond == 957
    assert fill.sequence_timestamp is not None
    assert fill.sequence_timestamp.text == NINE


def test_fills_in_the_same_microsecond_order_by_their_nanoseconds() -> None:
    page = ListFillsResponse.model_validate(
        {"fills": [_fill("late", "2024-06-18T19:59:10.102220958Z"), _fill("early", NINE)]}
    )
    ordered = sorted(page.fills, key=lambda fill: fill.trade_time)
    assert [fill.entry_id for fill in ordered] == ["early", "late"]
    early, late = (fill.trade_time for fill in ordered)
    assert early < late
    assert early != late
    assert late > early
    assert len({early, late}) == 2


@pytest.mark.parametrize(
    ("text", "micro", "nano"),
    [
        ("2026-09-14T05:36:33Z", 0, 0),
        ("2021-05-31T09:59:59.000Z", 0, 0),
        ("2026-09-07T01:57:58.894355Z", 894355, 0),
        ("2026-09-07T01:57:58.8943551Z", 894355, 100),
        ("2026-09-07T01:57:58.1Z", 100000, 0),
    ],
)
def test_any_precision_from_none_to_nine_digits_parses(text: str, micro: int, nano: int) -> None:
    moment = WireTime.parse(text)
    assert (moment.microsecond, moment.nanosecond) == (micro, nano)
    assert moment.text == text
    assert moment.tzinfo is not None


def test_the_same_instant_written_differently_is_equal_and_hashes_alike() -> None:
    short, padded = WireTime.parse("2026-01-01T00:00:00.1Z"), WireTime.parse("2026-01-01T00:00:00.100000000Z")
    offset = WireTime.parse("2026-01-01T01:00:00.1+01:00")
    assert short == padded == offset
    assert len({short, padded, offset}) == 1


def test_it_is_a_datetime_where_the_domain_needs_one() -> None:
    moment = WireTime.parse(NINE)
    plain = datetime(2024, 6, 18, 19, 59, 10, 102220, tzinfo=UTC)
    assert isinstance(moment, datetime)
    # Against a plain datetime it compares at the datetime's precision: the digits it lacks are unknown to it.
    assert moment == plain
    assert plain == moment
    assert hash(moment) == hash(plain)
    assert moment >= plain
    assert plain <= moment
    assert not moment > plain
    assert plain < WireTime.parse("2024-06-18T19:59:10.102221Z")
    assert moment - plain == timedelta(0)  # arithmetic is datetime's, to the microsecond
    assert (moment + timedelta(seconds=1)).second == 11
    assert moment.timestamp() == plain.timestamp()
    assert moment.astimezone(timezone(timedelta(hours=2))).hour == 21


def test_derived_values_hold_only_what_datetime_holds() -> None:
    later = WireTime.parse(NINE) + timedelta(microseconds=1)
    assert later.nanosecond == 0
    assert later.text == "2024-06-18T19:59:10.102221Z"


def test_copies_and_pickles_keep_the_nanoseconds() -> None:
    moment = WireTime.parse(NINE)
    for twin in (copy.copy(moment), copy.deepcopy(moment), pickle.loads(pickle.dumps(moment))):  # noqa: S301
        assert isinstance(twin, WireTime)
        assert twin.text == NINE
        assert twin == moment


def test_str_and_repr_show_the_wire_text() -> None:
    moment = WireTime.parse(NINE)
    assert str(moment) == NINE
    assert repr(moment) == f"WireTime('{NINE}')"


@pytest.mark.parametrize(
    "text",
    [
        "2024-06-18T19:59:10.1022209571Z",  # ten digits
        "2024-06-18T19:59:10Z ",
        "2024-06-18 19:59:10",
        "2024-06-18T19:59:10",  # no offset: which instant?
        "2024-13-18T19:59:10Z",
        "yesterday",
    ],
)
def test_a_bad_time_is_a_typed_error_that_does_not_echo_it(text: str) -> None:
    with pytest.raises(InvalidArgumentError, match="RFC 3339") as caught:
        WireTime.parse(text)
    assert text.strip() not in str(caught.value)


def test_a_bad_time_in_an_answer_names_the_field() -> None:
    with pytest.raises(ValidationError, match="trade_time"):
        Fill.model_validate(_fill("e1", "2024-06-18T19:59:10"))


def test_a_time_we_send_is_its_exact_text_and_a_naive_one_is_refused() -> None:
    end = WireTime.parse("2026-01-01T12:00:00.123456789Z")
    config = LimitConfig(base_size=None, limit_price=None, end_time=end)
    assert config.model_dump(mode="json", exclude_none=True) == {"end_time": "2026-01-01T12:00:00.123456789Z"}
    from_plain = LimitConfig(end_time=datetime(2026, 1, 1, 12, tzinfo=UTC))
    assert isinstance(from_plain.end_time, WireTime)
    assert from_plain.model_dump(mode="json", exclude_none=True) == {"end_time": "2026-01-01T12:00:00Z"}
    with pytest.raises(InvalidArgumentError, match="timezone-aware"):
        LimitConfig(end_time=datetime(2026, 1, 1, 12))  # noqa: DTZ001
    with pytest.raises(InvalidArgumentError, match="timezone-aware"):
        WireTime.from_datetime(datetime(2026, 1, 1, 12))  # noqa: DTZ001


def test_zero_and_blank_times_still_read_as_unset() -> None:
    order = Order.model_validate(
        {
            "order_id": "o",
            "product_id": "BTC-USD",
            "status": "OPEN",
            "created_time": "",
            "last_fill_time": "0001-01-01T00:00:00Z",
        }
    )
    assert order.created_time is None
    assert order.last_fill_time is None


def test_a_fill_time_read_back_from_a_microsecond_column_is_the_same_fill_time() -> None:
    # The store keeps datetimes (microseconds): a fill read again from the wire must not look like another fill.
    engine = sqlalchemy.create_engine("sqlite://")
    table = sqlalchemy.Table(
        "fills", sqlalchemy.MetaData(), sqlalchemy.Column("time", sqlalchemy.DateTime(timezone=True))
    )
    table.metadata.create_all(engine)
    wire = WireTime.parse(NINE)
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"time": wire}])
        stored = connection.execute(sqlalchemy.select(table.c.time)).scalar_one()
    assert type(stored) is datetime
    assert stored.replace(tzinfo=UTC) == wire
    assert (stored.replace(tzinfo=UTC), "same fill") == (wire, "same fill")  # as a dataclass compares its fields


def test_it_compares_like_a_datetime_with_everything_else() -> None:
    moment = WireTime.parse(NINE)
    assert moment != NINE  # text is not a time
    assert not moment == 5  # noqa: SIM201 - the == under test
    for other in (5, date(2024, 6, 18), datetime(2024, 6, 18)):  # noqa: DTZ001 - naive, as datetime refuses it
        for compare in (operator.lt, operator.le, operator.gt, operator.ge):
            with pytest.raises(TypeError):
                compare(moment, other)
    assert moment <= WireTime.parse(NINE) <= moment
    assert not WireTime.parse(NINE) > moment
    later = WireTime.parse("2024-06-18T19:59:10.102221Z")
    assert later > moment > datetime(2024, 6, 18, 19, 59, 10, 102219, tzinfo=UTC)
    assert not later <= moment
    assert moment < later


def test_a_time_field_refuses_a_number_and_documents_itself_as_a_date_time() -> None:
    with pytest.raises(ValidationError, match="expected an RFC 3339 time"):
        Fill.model_validate({**_fill("e1", NINE), "trade_time": 1718740750})
    schema = Fill.model_json_schema()["properties"]["trade_time"]
    assert (schema["type"], schema["format"]) == ("string", "date-time")
