"""The conformance comparison fails on each thing it is there to catch (a comparison that cannot fail is a defect)."""

from __future__ import annotations

from tests.integration.sandbox.conformance import Excuses, differences, string_format

REFERENCE = {
    "price": "140.21",
    "time": "2021-05-31T09:59:59.000Z",
    "status": "PENDING",
    "note": "<string>",
    "flag": True,
    "count": 3,
    "nested": {"a": "1", "list": [{"b": "2021-05-31T09:59:59Z"}]},
}
GOOD = {
    "price": "67921.5",
    "time": "2026-02-22T05:22:23.715993Z",
    "status": "OPEN",
    "note": "anything",
    "flag": False,
    "count": 0,
    "nested": {"a": "0.5", "list": [{"b": "2026-01-01T00:00:00.123456789Z"}, {"b": "2026-01-01T00:00:00Z"}]},
}


def test_a_conforming_answer_has_no_differences() -> None:
    assert differences(REFERENCE, GOOD) == []


def test_a_missing_and_an_extra_key_are_caught_at_any_depth() -> None:
    served = GOOD | {"nested": {"a": "1", "list": [{"c": "x"}]}, "more": 1}
    assert differences(REFERENCE, served) == [
        "$.more: not in the reference",
        "$.nested.list[0].b: missing",
        "$.nested.list[0].c: not in the reference",
    ]


def test_a_wrong_type_is_caught() -> None:
    assert sorted(differences(REFERENCE, GOOD | {"count": "0", "flag": "false"})) == [
        "$.count: string where the reference has number",
        "$.flag: string where the reference has boolean",
    ]


def test_a_wrong_format_is_caught() -> None:
    served = GOOD | {"price": "1E+3", "time": "2026-02-22 05:22:23", "status": "Open"}
    assert sorted(differences(REFERENCE, served)) == [
        "$.price: '1E+3' is not a decimal like the reference's '140.21'",
        "$.status: 'Open' is not a enum like the reference's 'PENDING'",
        "$.time: '2026-02-22 05:22:23' is not a time like the reference's '2021-05-31T09:59:59.000Z'",
    ]


def test_every_element_of_a_list_is_compared_and_an_empty_one_is_flagged() -> None:
    served = GOOD | {"nested": {"a": "1", "list": [{"b": "2026-01-01T00:00:00Z"}, {"b": "yesterday"}]}}
    assert differences(REFERENCE, served) == [
        "$.nested.list[1].b: 'yesterday' is not a time like the reference's '2021-05-31T09:59:59Z'"
    ]
    assert differences(REFERENCE, GOOD | {"nested": {"a": "1", "list": []}}) == ["$.nested.list: served empty"]


def test_excuses_allow_only_what_they_name() -> None:
    served = GOOD | {"price": "", "time": None, "count": "3", "extra": 1}
    served.pop("status")
    excuses = Excuses(extra={"extra": "why"}, absent={"status": "why"}, null={"time": "why"}, empty={"price": "why"})
    assert differences(REFERENCE, served, excuses) == ["$.count: string where the reference has number"]
    assert differences(REFERENCE, served, excuses | Excuses(types={"count": "string"})) == []


def test_order_configurations_are_checked_for_one_variant_of_decimals_and_flags() -> None:
    reference = {"order_configuration": {"limit_limit_gtc": {"base_size": "0.001", "post_only": False}}}
    good = {"order_configuration": {"sor_limit_ioc": {"base_size": "0.001", "limit_price": "1", "rfq_disabled": False}}}
    assert differences(reference, good) == []
    bad = {"order_configuration": {"limit_limit_gtc": {"base_size": 0.001, "post_only": "false"}}}
    assert differences(reference, bad) == [
        "$.order_configuration.limit_limit_gtc.base_size: 0.001 is not a decimal string",
        "$.order_configuration.limit_limit_gtc.post_only: 'false' is not a boolean",
    ]
    assert differences(reference, {"order_configuration": {"a": {}, "b": {}}}) == [
        "$.order_configuration: ['a', 'b'] is not one order configuration"
    ]


def test_string_formats() -> None:
    assert [string_format(t) for t in ("0.1", "-3", "1970-01-01T00:00:00Z", "BUY", "FILL_OR_KILL", "BTC-USD")] == [
        "decimal",
        "decimal",
        "time",
        "enum",
        "enum",
        "any",
    ]
    assert string_format("<string>") == string_format("") == string_format("Limit") == "any"
