"""The REST building blocks: JSON layouts that change only spacing, and where a key sits in a request body."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from starlette.requests import Request

from cryptoj.sandbox.rest.http import MAX_BODY_BYTES, ApiError, JsonLayout, json_bytes, key_position, read_body

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


def _request(chunks: list[bytes], headers: dict[str, str]) -> Request:
    """A starlette request whose body arrives in `chunks` (what uvicorn hands the app)."""
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope, receive)  # type: ignore[arg-type]


async def test_read_body_reads_up_to_the_cap_and_refuses_past_it_chunk_by_chunk() -> None:
    half = b" " * (MAX_BODY_BYTES // 2)
    assert await read_body(_request([half, half], {})) == half + half
    with pytest.raises(ApiError) as caught:
        await read_body(_request([half, half, b" "], {}))
    assert caught.value.status == 413


async def test_read_body_refuses_a_declared_size_over_the_cap_without_reading() -> None:
    request = _request([], {"Content-Length": str(MAX_BODY_BYTES + 1)})  # receive() would fail: no message
    with pytest.raises(ApiError, match="1048577 bytes, at most 1048576"):
        await read_body(request)
