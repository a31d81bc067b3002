"""SubscriptionSet and ack matching: the server's ack lists the whole set, so matching is by inclusion."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from cryptoj.coinbase.ws_models import ErrorFrame, SubscriptionsEvent, SubscriptionsMessage
from cryptoj.coinbase.ws_subscriptions import (
    AckWaiter,
    SubscriptionSet,
    request_message,
    subscribe_answered,
    unsubscribe_answered,
)
from tests.utils.fixtures.websocket import make_key


def test_heartbeats_are_always_wanted_and_stay_when_emptied() -> None:
    wanted = SubscriptionSet()
    assert "heartbeats" in wanted
    wanted.remove("heartbeats", [])
    assert "heartbeats" in wanted
    wanted.remove("heartbeats", None)
    assert "heartbeats" not in wanted


def test_a_refused_add_is_undone_exactly() -> None:
    wanted = SubscriptionSet()
    assert wanted.add("level2", ["BTC-USD"]) is None
    before = wanted.add("level2", ["ETH-USD"])
    assert before == {"BTC-USD"}
    wanted.restore("level2", before)
    assert wanted.products("level2") == {"BTC-USD"}
    wanted.restore("ticker", wanted.add("ticker", ["BTC-USD"]))
    assert "ticker" not in wanted


def test_removing_the_last_product_drops_the_channel() -> None:
    wanted = SubscriptionSet()
    wanted.add("level2", ["BTC-USD", "ETH-USD"])
    assert wanted.remove("level2", ["ETH-USD", "SOL-USD"]) == {"ETH-USD"}
    assert wanted.as_dict()["level2"] == frozenset({"BTC-USD"})
    wanted.remove("level2", ["BTC-USD"])
    assert "level2" not in wanted


def test_fact_03_an_ack_answers_a_subscribe_when_its_whole_set_includes_the_request() -> None:
    answered = subscribe_answered("level2", ["BTC-USD", "ETH-USD"])
    assert not answered({"heartbeats": frozenset({"heartbeats"})})
    assert not answered({"level2": frozenset({"BTC-USD"})})
    assert answered({"level2": frozenset({"ETH-USD", "BTC-USD", "SOL-USD"}), "heartbeats": frozenset()})
    assert subscribe_answered("user", [])({"user": frozenset({"a-user-uuid"})})


def test_an_ack_answers_an_unsubscribe_when_the_products_are_gone() -> None:
    assert unsubscribe_answered("level2", {"ETH-USD"})({"level2": frozenset({"BTC-USD"})})
    assert not unsubscribe_answered("level2", {"ETH-USD"})({"level2": frozenset({"ETH-USD"})})
    assert unsubscribe_answered("level2", None)({"heartbeats": frozenset()})
    assert not unsubscribe_answered("level2", None)({"level2": frozenset()})


def test_request_messages_carry_a_fresh_jwt_only_with_a_key() -> None:
    key = make_key()
    plain = json.loads(request_message("subscribe", "level2", ["BTC-USD"], key=None))
    assert plain == {"type": "subscribe", "channel": "level2", "product_ids": ["BTC-USD"]}
    first = json.loads(request_message("subscribe", "user", None, key=key))
    second = json.loads(request_message("subscribe", "user", None, key=key))
    assert "product_ids" not in first
    assert first["jwt"] != second["jwt"]  # a new nonce each time


def _ack(**channels: list[str]) -> SubscriptionsMessage:
    return SubscriptionsMessage(
        timestamp=datetime(2026, 11, 25, tzinfo=UTC),
        sequence_num=0,
        events=[SubscriptionsEvent(subscriptions=channels)],
    )


async def _waiting(waiter: AckWaiter, products: list[str]) -> asyncio.Task[object]:
    sent = asyncio.Event()

    async def send() -> None:
        sent.set()

    task = asyncio.create_task(waiter.request(send, subscribe_answered("level2", products)))
    await sent.wait()
    return task


async def test_an_earlier_ack_passes_over_the_waiting_request_and_its_own_answers_it() -> None:
    waiter = AckWaiter(timeout=1.0)
    task = await _waiting(waiter, ["ETH-USD"])
    waiter.on_ack(_ack(heartbeats=["heartbeats"], level2=["BTC-USD"]))  # a resubscribe's ack, not ours
    await asyncio.sleep(0)
    assert not task.done()
    ours = _ack(level2=["BTC-USD", "ETH-USD"])
    waiter.on_ack(ours)
    assert await task is ours


async def test_an_error_frame_answers_the_waiting_request_and_is_unsolicited_otherwise() -> None:
    waiter = AckWaiter(timeout=1.0)
    error = ErrorFrame(type="error", message="authentication failure")
    assert not waiter.on_error(error)
    task = await _waiting(waiter, ["BTC-USD"])
    assert waiter.on_error(error)
    assert await task is error


async def test_an_abandoned_request_is_answered_with_none_and_an_unanswered_one_times_out() -> None:
    waiter = AckWaiter(timeout=0.05)
    task = await _waiting(waiter, ["BTC-USD"])
    waiter.abandon()
    assert await task is None
    with pytest.raises(TimeoutError):
        await (await _waiting(waiter, ["BTC-USD"]))
