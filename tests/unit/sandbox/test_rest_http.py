"""The REST building blocks: JSON layouts that change only spacing, and where a key sits in a request body."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from cryptoj.sandbox.rest.http import JsonLayout, json_bytes, key_position

BODY = {"a": "x,y", "b": [1, 2, {"c": 'say "hi", then go'}], "d": Decimal("0.10"), "e": None}


@pytest.mark.parametrize("layout", list(JsonLayout))
def test_every_layout_parses_to_the_same_body(layout: JsonLayout) -> None:
    assert json.loads(json_bytes(BODY, layout=layout)) == json.loads(json_bytes(BODY))


def test_fact_10_the_comma_spaced_layout_spaces_commas_between_values_only() -> None:
    text = json_bytes(BODY, layout=JsonLayout.COMMA_SPACED).decode()
    assert text == '{"a":"x,y", "b":[1, 2, {"c":"say \\"hi\\", then go"}], "d":0.10, "e":null}'
    assert json_bytes(BODY).decode().startswith('{"a":"x,y","b":[1,2,')
    assert "\n" in json_bytes(BODY, layout=JsonLayout.INDENTED).decode()


def test_fact_22_key_position_is_line_and_column_of_the_key() -> None:
    raw = b'{"client_order_id":"x","max_floor":"1"}'
    assert key_position(raw, "max_floor") == (1, 24)
    assert raw[23:34] == b'"max_floor"'


def test_key_position_counts_lines_and_skips_the_name_used_as_a_value() -> None:
    raw = b'{\n  "note": "max_floor",\n  "cfg": {"max_floor" : "1"}\n}'
    assert key_position(raw, "max_floor") == (3, 11)


def test_key_position_reads_escaped_names_and_falls_back_to_the_start() -> None:
    assert key_position(b'{"a\\"b":1}', 'a"b') == (1, 2)
    assert key_position(b'{"a":1}', "nowhere") == (1, 1)
