"""SubscriptionSet and ack matching: the server's ack lists the whole set, so matching is by inclusion."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from websockets.exceptions import ConnectionClosedError

from cryptoj.coinbase.ws_errors import SubscriptionError
from cryptoj.coinbase.ws_models import ErrorFrame, SubscriptionsEvent, SubscriptionsMessage
from cryptoj.coinbase.ws_subscriptions import (
    AckWaiter,
    Subscriber,
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


def _open_waiter(timeout: float) -> AckWaiter:
    waiter = AckWaiter(timeout=timeout)
    waiter.open()  # a connection is up
    return waiter


async def _waiting(waiter: AckWaiter, products: list[str]) -> asyncio.Task[object]:
    sent = asyncio.Event()

    async def send() -> None:
        sent.set()

    task = asyncio.create_task(waiter.request(send, subscribe_answered("level2", products)))
    await sent.wait()
    return task


async def test_an_earlier_ack_passes_over_the_waiting_request_and_its_own_answers_it() -> None:
    waiter = _open_waiter(1.0)
    task = await _waiting(waiter, ["ETH-USD"])
    waiter.on_ack(_ack(heartbeats=["heartbeats"], level2=["BTC-USD"]))  # a resubscribe's ack, not ours
    await asyncio.sleep(0)
    assert not task.done()
    ours = _ack(level2=["BTC-USD", "ETH-USD"])
    waiter.on_ack(ours)
    assert await task is ours


async def test_an_error_frame_answers_the_waiting_request_and_is_unsolicited_otherwise() -> None:
    waiter = _open_waiter(1.0)
    error = ErrorFrame(type="error", message="authentication failure")
    assert not waiter.on_error(error)
    task = await _waiting(waiter, ["BTC-USD"])
    assert waiter.on_error(error)
    assert await task is error


async def test_an_abandoned_request_is_answered_with_none_and_an_unanswered_one_times_out() -> None:
    waiter = _open_waiter(0.05)
    task = await _waiting(waiter, ["BTC-USD"])
    waiter.abandon()
    assert await task is None
    waiter.open()  # the next connection
    with pytest.raises(TimeoutError):
        await (await _waiting(waiter, ["BTC-USD"]))


async def test_a_request_the_last_ack_already_answers_is_not_sent() -> None:
    # Requests take turns, so the last ack reflects every answered request: one it shows is already in place.
    waiter = _open_waiter(1.0)
    sent: list[str] = []

    async def send() -> None:
        sent.append("sent")

    ack = _ack(heartbeats=["heartbeats"], level2=["BTC-USD", "ETH-USD"])
    waiter.on_ack(ack)
    assert await waiter.request(send, subscribe_answered("level2", ["ETH-USD"])) is ack
    assert await waiter.request(send, unsubscribe_answered("ticker", None)) is ack
    assert sent == []
    task = asyncio.create_task(waiter.request(send, subscribe_answered("ticker", ["BTC-USD"])))
    await asyncio.sleep(0)
    assert sent == ["sent"]  # not in the last ack: asked for
    task.cancel()


async def test_a_request_on_a_connection_that_has_ended_is_answered_with_none_without_sending() -> None:
    waiter = AckWaiter(timeout=1.0)  # no connection yet
    sent: list[str] = []

    async def send() -> None:
        sent.append("sent")

    assert await waiter.request(send, subscribe_answered("ticker", ["BTC-USD"])) is None
    waiter.open()
    waiter.on_ack(_ack(ticker=["BTC-USD"]))
    waiter.abandon()  # that connection ended: its last ack no longer says anything
    assert await waiter.request(send, subscribe_answered("ticker", ["BTC-USD"])) is None
    assert sent == []


class AnsweringServer:
    """The edge a `Subscriber` sends to: records each request and answers it with the whole set, or not at all."""

    def __init__(self, subscriber: Subscriber, *, answer: bool = True) -> None:
        self.subscriber = subscriber
        self.answer = answer
        self.sent: list[tuple[str, str, list[str] | None]] = []
        self.current: dict[str, set[str]] = {}
        self.on_send: list[object] = []

    async def send(self, text: str) -> None:
        body = json.loads(text)
        kind, channel, products = body["type"], body["channel"], body.get("product_ids")
        self.sent.append((kind, channel, products))
        if kind == "subscribe":
            self.current.setdefault(channel, set()).update(products or [])
        elif products is None:
            self.current.pop(channel, None)
        else:
            self.current[channel] -= set(products)
        for hook in self.on_send:
            hook()  # type: ignore[operator]
        if self.answer:
            self.subscriber.acks.on_ack(_ack(**{c: sorted(p) for c, p in self.current.items()}))


def _subscriber() -> Subscriber:
    subscriber = Subscriber(key=None, ack_timeout=0.2, before_send=lambda kind, channel, products: None)
    subscriber.acks.open()
    return subscriber


async def test_a_resubscribe_also_takes_back_what_was_unsubscribed_while_it_ran() -> None:
    subscriber = _subscriber()
    subscriber.wanted.add("level2", ["BTC-USD", "ETH-USD"])
    server = AnsweringServer(subscriber)
    server.on_send.append(lambda: subscriber.wanted.remove("level2", ["ETH-USD"]))  # an unsubscribe meanwhile
    confirmed: list[str] = []
    assert await subscriber.resubscribe(server.send, confirmed=confirmed.append)
    assert server.sent == [
        ("subscribe", "heartbeats", []),
        ("subscribe", "level2", ["BTC-USD", "ETH-USD"]),
        ("unsubscribe", "level2", ["ETH-USD"]),
    ]
    assert confirmed == ["heartbeats", "level2"]
    assert server.current["level2"] == {"BTC-USD"}


async def test_a_resubscribe_nobody_answers_times_out_naming_the_channel() -> None:
    subscriber = _subscriber()
    server = AnsweringServer(subscriber, answer=False)
    with pytest.raises(TimeoutError, match="'heartbeats' subscribe"):
        await subscriber.resubscribe(server.send, confirmed=lambda channel: None)


async def test_a_resubscribe_whose_connection_closes_says_so() -> None:
    subscriber = _subscriber()

    async def closed(text: str) -> None:
        raise ConnectionClosedError(None, None)

    assert not await subscriber.resubscribe(closed, confirmed=lambda channel: None)


async def test_a_refused_request_raises_subscription_error_naming_the_channel() -> None:
    subscriber = _subscriber()

    async def refuse(text: str) -> None:
        subscriber.acks.on_error(ErrorFrame(type="error", message="Failed to subscribe: unknown product NOPE-USD"))

    with pytest.raises(SubscriptionError, match="unknown product") as caught:
        await subscriber.ask(refuse, "subscribe", "level2", ["NOPE-USD"])
    assert caught.value.channel == "level2"
