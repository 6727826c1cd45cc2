"""The webhook dispatcher against a real receiver over loopback HTTP (uvicorn on a free port).

The receiver records every POST and answers as scripted: a status, a delay, or held until the
test opens its gate. Tests wait on conditions (`Dispatcher.idle`, `wait_until`), never on sleeps.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from structlog.testing import capture_logs

from axp_chat_connector.emulator.delivery import DeliveryFaults, RetryPolicy, SubscriptionTarget
from axp_chat_connector.emulator.dispatcher import Dispatcher
from tests.servers import TIME_SCALE, free_port, serve_app

ACCOUNT = "ABCDEF"
PROVIDER = "ChatConnector01"
WAIT = 10 * TIME_SCALE  # upper bound for conditions that normally hold within milliseconds
POLL_INTERVAL = 0.01
HOLD_LIMIT = 5.0  # a held reply gives up waiting for the gate after this many seconds
# Tiny retry delays; a timeout generous enough that a loaded machine never trips it by mistake.
FAST = RetryPolicy(timeout=2.0 * TIME_SCALE, attempts=3, base_delay=0.02, max_delay=0.1)
SHORT_TIMEOUT = 0.5  # for the tests of the timeout itself

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    delay: float = 0.0  # seconds before answering
    hold: bool = False  # answer only once the receiver's gate is open


@dataclass(frozen=True, slots=True)
class Hit:
    hook: str
    body: Body
    content_type: str
    at: float  # time.monotonic() on arrival


class Receiver:
    """A callback endpoint, `POST /hook/{name}`, that records and answers as scripted."""

    def __init__(self) -> None:
        self.url = ""
        self.hits: list[Hit] = []
        self.gate = asyncio.Event()
        self._scripts: list[tuple[Callable[[Hit], bool], deque[Reply]]] = []
        self.app = Starlette(routes=[Route("/hook/{name}", self._endpoint, methods=["POST"])])

    def hook(self, name: str) -> str:
        return f"{self.url}/hook/{name}"

    def script(self, *replies: Reply, when: Callable[[Hit], bool] = lambda _hit: True) -> None:
        """Answer the next requests that satisfy `when` with `replies`, in order."""
        self._scripts.append((when, deque(replies)))

    def indexes(self, hook: str | None = None) -> list[int]:
        """The messageIndex of each request, in arrival order."""
        return [h.body["messageIndex"] for h in self.hits if hook in (None, h.hook)]

    async def _endpoint(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ClientDisconnect:  # the dispatcher gave up on this attempt mid-request
            return Response(status_code=499)
        name = request.path_params["name"]
        hit = Hit(name, body, request.headers.get("content-type", ""), time.monotonic())
        self.hits.append(hit)
        reply = self._next_reply(hit)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.hold:
            try:
                async with asyncio.timeout(HOLD_LIMIT):
                    await self.gate.wait()
            except TimeoutError:
                return Response(status_code=504)
        return Response(status_code=reply.status)

    def _next_reply(self, hit: Hit) -> Reply:
        for when, replies in self._scripts:
            if replies and when(hit):
                return replies.popleft()
        return Reply()


class MakeDispatcher(Protocol):
    def __call__(
        self,
        targets: Sequence[SubscriptionTarget],
        policy: RetryPolicy = ...,
        reorder_window: float = ...,
    ) -> Awaitable[Dispatcher]: ...


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    async with serve_app(rec.app) as url:
        rec.url = url
        try:
            yield rec
        finally:
            rec.gate.set()  # let held handlers finish so uvicorn can shut down


@pytest.fixture
async def make_dispatcher(receiver: Receiver) -> AsyncIterator[MakeDispatcher]:
    made: list[Dispatcher] = []

    async def make(
        targets: Sequence[SubscriptionTarget],
        policy: RetryPolicy = FAST,
        reorder_window: float = 1.0,
    ) -> Dispatcher:
        def source(account_id: str, provider_id: str) -> Sequence[SubscriptionTarget]:
            return targets if (account_id, provider_id) == (ACCOUNT, PROVIDER) else []

        dispatcher = Dispatcher(subscriptions=source, policy=policy, reorder_window=reorder_window)
        await dispatcher.start()
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        await dispatcher.stop()


def target(receiver: Receiver, name: str = "main", *types: str) -> SubscriptionTarget:
    return SubscriptionTarget(name, receiver.hook(name), frozenset(types or {"ALL"}))


def event(index: int, dialog: str = "d1", event_type: str = "MESSAGES", **extra: Any) -> Body:
    """A flat MESSAGES-like event; `messageIndex` identifies it in the receiver."""
    return {
        "eventType": event_type,
        "correlationId": f"corr-{index}",
        "eventDate": "2026-11-25T13:00:00.000Z",
        "accountId": ACCOUNT,
        "channelProviderId": PROVIDER,
        "engagementId": f"eng-{dialog}",
        "dialogId": dialog,
        "senderParticipantType": "AGENT",
        "body": {"elementType": "text", "elementText": {"text": f"private words {index}"}},
        "messageIndex": index,
        **extra,
    }


async def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(POLL_INTERVAL)


async def settle(dispatcher: Dispatcher) -> None:
    assert await dispatcher.idle(WAIT), "deliveries still pending"


# --- delivery -------------------------------------------------------------------------------


async def test_event_is_posted_once_with_the_exact_json_body(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    dispatcher = await make_dispatcher([target(receiver)])
    sent = event(1, extra_field={"nested": [1, "ü", None]})

    dispatcher.publish(sent)
    await settle(dispatcher)

    assert [(h.hook, h.body, h.content_type) for h in receiver.hits] == [
        ("main", sent, "application/json")
    ]
    [record] = dispatcher.deliveries()
    assert (record.attempt, record.status, record.error, record.outcome) == (
        1,
        200,
        None,
        "delivered",
    )
    assert (record.subscription_id, record.callback_url) == ("main", receiver.hook("main"))
    assert (record.event_type, record.dialog_id, record.body) == ("MESSAGES", "d1", sent)
    assert record.latency_ms >= 0
    assert record.at.endswith("Z")
    stats = dispatcher.stats()
    assert (stats.delivered, stats.lanes, stats.pending) == (1, 0, 0)


async def test_receiver_failing_twice_then_recovering_gets_it_on_attempt_3(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    receiver.script(Reply(500), Reply(503))
    dispatcher = await make_dispatcher([target(receiver)])

    with capture_logs() as logs:
        dispatcher.publish(event(1))
        await settle(dispatcher)

    records = dispatcher.deliveries()
    assert [(r.attempt, r.status, r.outcome) for r in records] == [
        (1, 500, "retrying"),
        (2, 503, "retrying"),
        (3, 200, "delivered"),
    ]
    assert len({r.delivery_id for r in records}) == 1
    assert receiver.indexes() == [1, 1, 1]
    names = [entry["event"] for entry in logs if entry["event"].startswith("webhook.")]
    assert names == ["webhook.retry", "webhook.retry", "webhook.delivered"]


async def test_a_2xx_other_than_200_counts_as_failure(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    receiver.script(Reply(204), Reply(201))
    dispatcher = await make_dispatcher([target(receiver)])

    dispatcher.publish(event(1))
    await settle(dispatcher)

    assert [(r.status, r.outcome) for r in dispatcher.deliveries()] == [
        (204, "retrying"),
        (201, "retrying"),
        (200, "delivered"),
    ]


async def test_receiver_slower_than_the_timeout_is_retried(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    receiver.script(Reply(delay=SHORT_TIMEOUT * 2))
    policy = RetryPolicy(timeout=SHORT_TIMEOUT, attempts=5, base_delay=0.02, max_delay=0.1)
    dispatcher = await make_dispatcher([target(receiver)], policy)

    dispatcher.publish(event(1))
    await settle(dispatcher)

    first, *_, last = dispatcher.deliveries()
    assert (first.status, first.error, first.outcome) == (None, "timeout", "retrying")
    assert first.latency_ms >= SHORT_TIMEOUT * 1000 * 0.9
    assert (last.status, last.outcome) == (200, "delivered")
    assert last.attempt >= 2
    assert receiver.indexes() == [1] * last.attempt


async def test_gives_up_after_the_last_attempt_and_the_dialog_goes_on(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    receiver.script(*[Reply(500)] * 10, when=lambda hit: hit.body["messageIndex"] == 1)
    dispatcher = await make_dispatcher([target(receiver)])

    with capture_logs() as logs:
        dispatcher.publish(event(1))
        dispatcher.publish(event(2))
        await settle(dispatcher)

    assert [(r.body["messageIndex"], r.attempt, r.outcome) for r in dispatcher.deliveries()] == [
        (1, 1, "retrying"),
        (1, 2, "retrying"),
        (1, 3, "failed"),
        (2, 1, "delivered"),
    ]
    assert receiver.indexes() == [1, 1, 1, 2]
    assert [e["attempt"] for e in logs if e["event"] == "webhook.failed"] == [FAST.attempts]
    assert dispatcher.stats().failed == 1


async def test_unreachable_callback_is_retried_as_connect_error(
    make_dispatcher: MakeDispatcher,
) -> None:
    dead = SubscriptionTarget("dead", f"http://127.0.0.1:{free_port()}/hook", frozenset({"ALL"}))
    dispatcher = await make_dispatcher([dead])

    dispatcher.publish(event(1))
    await settle(dispatcher)

    assert [(r.status, r.error, r.outcome) for r in dispatcher.deliveries()] == [
        (None, "connect error", "retrying"),
        (None, "connect error", "retrying"),
        (None, "connect error", "failed"),
    ]


# --- order and independence -------------------------------------------------------------------


async def test_next_event_of_a_dialog_waits_until_the_first_is_settled(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    receiver.script(Reply(500), Reply(500), when=lambda hit: hit.body["messageIndex"] == 1)
    dispatcher = await make_dispatcher([target(receiver)])

    for index in (1, 2, 3):
        dispatcher.publish(event(index))
    await settle(dispatcher)

    assert receiver.indexes() == [1, 1, 1, 2, 3]


async def test_a_stuck_dialog_does_not_block_another(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    receiver.script(Reply(hold=True), when=lambda hit: hit.body["dialogId"] == "stuck")
    dispatcher = await make_dispatcher([target(receiver)], RetryPolicy(timeout=HOLD_LIMIT))

    dispatcher.publish(event(1, dialog="stuck"))
    dispatcher.publish(event(2, dialog="stuck"))
    dispatcher.publish(event(3, dialog="free"))
    dispatcher.publish(event(4, dialog="free"))
    await wait_until(lambda: sorted(receiver.indexes()) == [1, 3, 4])
    await wait_until(lambda: len(dispatcher.deliveries()) == 2)

    assert [r.body["messageIndex"] for r in dispatcher.deliveries()] == [3, 4]
    receiver.gate.set()
    await settle(dispatcher)
    assert [r.body["messageIndex"] for r in dispatcher.deliveries()] == [3, 4, 1, 2]
    assert receiver.indexes()[-1] == 2


async def test_many_dialogs_are_delivered_in_order_and_leave_nothing_behind(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    # One event loop runs both sides here: allow more than FAST's 0.3 s per attempt.
    dispatcher = await make_dispatcher([target(receiver)], RetryPolicy(timeout=WAIT))
    dialogs = [f"d{n}" for n in range(50)]

    for index in (1, 2, 3):
        for dialog in dialogs:
            dispatcher.publish(event(index, dialog=dialog))
    assert dispatcher.stats().lanes == len(dialogs)
    await settle(dispatcher)

    for dialog in dialogs:
        assert [h.body["messageIndex"] for h in receiver.hits if h.body["dialogId"] == dialog] == [
            1,
            2,
            3,
        ]
    stats = dispatcher.stats()
    assert (stats.delivered, stats.lanes, stats.pending) == (150, 0, 0)


async def test_events_without_dialog_fall_back_to_engagement_then_one_global_order(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    receiver.script(Reply(500), when=lambda hit: hit.body["messageIndex"] == 1)
    dispatcher = await make_dispatcher([target(receiver)])

    dispatcher.publish({**event(1), "dialogId": None, "engagementId": None})
    dispatcher.publish({**event(2), "dialogId": None, "engagementId": None})
    await settle(dispatcher)

    assert receiver.indexes() == [1, 1, 2]
    assert dispatcher.deliveries()[0].dialog_id is None


# --- subscriptions ----------------------------------------------------------------------------


async def test_each_subscription_gets_the_event_types_it_asked_for(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    targets = [
        target(receiver, "all", "ALL"),
        target(receiver, "messages", "MESSAGES"),
        target(receiver, "customer", "CUSTOMER_MESSAGES"),
        target(receiver, "cc", "CC_MESSAGES"),
        target(receiver, "added", "PARTICIPANT_ADDED"),
        target(receiver, "typing_cc", "TYPING", "CC_MESSAGES"),
    ]
    dispatcher = await make_dispatcher(targets)

    dispatcher.publish(event(1, senderParticipantType="CUSTOMER"))
    dispatcher.publish(event(2, senderParticipantType="AGENT"))
    dispatcher.publish(event(3, event_type="PARTICIPANT_ADDED", participantType="AGENT"))
    dispatcher.publish(event(4, event_type="TYPING", senderParticipantType="AGENT"))
    dispatcher.publish(event(5, event_type="ENGAGEMENT_CREATED"))
    dispatcher.publish({**event(6), "accountId": "OTHER"})  # another tenant's subscriptions
    await settle(dispatcher)

    received = {t.subscription_id: receiver.indexes(t.subscription_id) for t in targets}
    assert received == {
        "all": [1, 2, 3, 4, 5],
        "messages": [1, 2],
        "customer": [1],
        "cc": [2],
        "added": [3],
        "typing_cc": [2, 4],
    }


async def test_a_failing_subscriber_does_not_delay_another(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    receiver.script(Reply(hold=True), when=lambda hit: hit.hook == "slow")
    slow, fast = target(receiver, "slow"), target(receiver, "fast")
    dispatcher = await make_dispatcher([slow, fast], RetryPolicy(timeout=HOLD_LIMIT))

    dispatcher.publish(event(1))
    dispatcher.publish(event(2))
    await wait_until(
        lambda: (
            receiver.indexes("fast") == [1, 2]
            and len(receiver.hits) == 3
            and len(dispatcher.deliveries()) == 2
        )  # recorded once the answer is read
    )

    assert receiver.indexes("slow") == [1]
    assert [r.subscription_id for r in dispatcher.deliveries()] == ["fast", "fast"]
    receiver.gate.set()
    await settle(dispatcher)
    assert receiver.indexes("slow") == [1, 2]


# --- flush, stop, lifecycle -------------------------------------------------------------------


async def test_flush_returns_once_the_dialog_is_delivered(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    receiver.script(Reply(delay=0.2), when=lambda hit: hit.body["dialogId"] == "greet")
    receiver.script(Reply(hold=True), when=lambda hit: hit.body["dialogId"] == "other")
    dispatcher = await make_dispatcher([target(receiver)], RetryPolicy(timeout=HOLD_LIMIT))

    dispatcher.publish(event(1, dialog="other"))
    dispatcher.publish(event(2, dialog="greet"))
    dispatcher.publish(event(3, dialog="greet"))
    await dispatcher.flush("greet", WAIT)

    delivered = [(r.body["messageIndex"], r.outcome) for r in dispatcher.deliveries()]
    assert delivered == [(2, "delivered"), (3, "delivered")]
    assert sorted(receiver.indexes()) == [1, 2, 3]


async def test_flush_gives_up_after_its_timeout(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    receiver.script(*[Reply(500)] * 5)
    dispatcher = await make_dispatcher(
        [target(receiver)], RetryPolicy(timeout=1.0, attempts=5, base_delay=30.0)
    )
    dispatcher.publish(event(1))

    started = time.monotonic()
    with capture_logs() as logs:
        await dispatcher.flush("d1", 0.2)
    elapsed = time.monotonic() - started

    assert 0.15 <= elapsed < 2.0
    assert [r.outcome for r in dispatcher.deliveries()] == ["retrying"]
    assert [e["dialog_id"] for e in logs if e["event"] == "webhook.flush_timeout"] == ["d1"]


async def test_flush_of_a_quiet_dialog_returns_at_once(make_dispatcher: MakeDispatcher) -> None:
    dispatcher = await make_dispatcher([])
    started = time.monotonic()
    await dispatcher.flush("nothing-here", WAIT)
    assert time.monotonic() - started < 1.0


async def test_stop_with_pending_retries_returns_promptly(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    receiver.script(*[Reply(500)] * 5)
    dispatcher = await make_dispatcher(
        [target(receiver)], RetryPolicy(timeout=1.0, attempts=5, base_delay=30.0)
    )
    dispatcher.publish(event(1))
    dispatcher.publish(event(2))
    await wait_until(lambda: len(dispatcher.deliveries()) == 1)

    started = time.monotonic()
    with capture_logs() as logs:
        await dispatcher.stop()
    assert time.monotonic() - started < 1.0

    assert [(e["event"], e["deliveries"]) for e in logs] == [("webhook.abandoned", 2)]
    assert dispatcher.stats().pending == 0
    assert await dispatcher.idle(0.1)
    started = time.monotonic()
    await dispatcher.flush("d1", WAIT)
    assert time.monotonic() - started < 1.0


async def test_publish_outside_start_and_stop_is_discarded(receiver: Receiver) -> None:
    dispatcher = Dispatcher(subscriptions=lambda _a, _c: [target(receiver)], policy=FAST)
    with capture_logs() as logs:
        dispatcher.publish(event(1))
    await dispatcher.start()
    dispatcher.publish(event(2))
    assert await dispatcher.idle(WAIT)
    await dispatcher.stop()
    await dispatcher.start()  # a restart makes a new client
    dispatcher.publish(event(3))
    assert await dispatcher.idle(WAIT)
    await dispatcher.stop()

    assert receiver.indexes() == [2, 3]
    assert [e["event"] for e in logs] == ["webhook.not_running"]


async def test_a_given_client_is_used_and_left_open(receiver: Receiver) -> None:
    requests: list[str] = []

    async def count(request: httpx.Request) -> None:
        requests.append(str(request.url))

    async with httpx.AsyncClient(event_hooks={"request": [count]}) as client:
        dispatcher = Dispatcher(
            subscriptions=lambda _a, _c: [target(receiver)], policy=FAST, client=client
        )
        await dispatcher.start()
        dispatcher.publish(event(1))
        assert await dispatcher.idle(WAIT)
        await dispatcher.stop()
        assert not client.is_closed
    assert requests == [receiver.hook("main")]


async def test_delivery_log_keeps_only_the_newest_records(receiver: Receiver) -> None:
    dispatcher = Dispatcher(
        subscriptions=lambda _a, _c: [target(receiver)], policy=FAST, log_limit=2
    )
    await dispatcher.start()
    try:
        for index in (1, 2, 3):
            dispatcher.publish(event(index))
        assert await dispatcher.idle(WAIT)
    finally:
        await dispatcher.stop()

    assert [r.body["messageIndex"] for r in dispatcher.deliveries()] == [2, 3]
    assert dispatcher.stats().delivered == 3


async def test_bad_events_are_discarded_without_raising(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    dispatcher = await make_dispatcher([target(receiver)])

    with capture_logs() as logs:
        dispatcher.publish({"dialogId": "d1"})  # no eventType
        dispatcher.publish({**event(1), "eventType": ["MESSAGES"]})
        dispatcher.publish({**event(2), "oops": object()})  # not JSON
        dispatcher.publish({**event(3), "oops": math.nan})  # not JSON either
        dispatcher.publish(cast(dict[str, Any], ["not", "a", "dict"]))
    dispatcher.publish(event(4))
    await settle(dispatcher)

    assert receiver.indexes() == [4]
    assert [e["event"] for e in logs] == ["webhook.invalid_event"] * 5


async def test_logs_carry_ids_but_neither_message_text_nor_callback_url(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    secret_url = receiver.hook("main") + "?key=hunter2"
    receiver.script(Reply(500))
    dispatcher = await make_dispatcher([SubscriptionTarget("main", secret_url, frozenset({"ALL"}))])

    with capture_logs() as logs:
        dispatcher.publish(event(1))
        await settle(dispatcher)

    assert [e["event"] for e in logs] == ["webhook.retry", "webhook.delivered"]
    assert all(e["dialog_id"] == "d1" and e["subscription_id"] == "main" for e in logs)
    text = repr(logs)
    assert "private words" not in text
    assert "hunter2" not in text
    assert receiver.url not in text


# --- faults -----------------------------------------------------------------------------------


async def test_drop_fault_skips_the_next_event(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    dispatcher = await make_dispatcher([target(receiver)])
    dispatcher.set_faults(DeliveryFaults(drop=1))

    dispatcher.publish(event(1))
    dispatcher.publish(event(2))
    await settle(dispatcher)

    assert receiver.indexes() == [2]
    assert [(r.body["messageIndex"], r.attempt, r.outcome) for r in dispatcher.deliveries()] == [
        (1, 0, "dropped"),
        (2, 1, "delivered"),
    ]
    assert dispatcher.faults() == DeliveryFaults()


async def test_duplicate_fault_delivers_twice_in_a_row(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    dispatcher = await make_dispatcher([target(receiver)])
    dispatcher.set_faults(DeliveryFaults(duplicate=1))

    dispatcher.publish(event(1))
    dispatcher.publish(event(2))
    await settle(dispatcher)

    assert receiver.indexes() == [1, 1, 2]
    assert receiver.hits[0].body == receiver.hits[1].body
    assert [(r.body["messageIndex"], r.attempt, r.outcome) for r in dispatcher.deliveries()] == [
        (1, 1, "delivered"),
        (1, 2, "duplicate"),
        (2, 1, "delivered"),
    ]
    assert dispatcher.faults().duplicate == 0


async def test_delay_fault_holds_its_dialog_but_not_others(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    dispatcher = await make_dispatcher([target(receiver)])
    dispatcher.set_faults(DeliveryFaults(delay_ms=300, delay_count=1))

    published = time.monotonic()
    dispatcher.publish(event(1, dialog="slow"))
    dispatcher.publish(event(2, dialog="slow"))
    dispatcher.publish(event(3, dialog="other"))
    await settle(dispatcher)

    assert receiver.indexes() == [3, 1, 2]
    assert receiver.hits[1].at - published >= 0.3 * 0.9
    assert dispatcher.faults() == DeliveryFaults(delay_ms=300, delay_count=0)


async def test_reorder_fault_swaps_each_event_with_the_next(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    dispatcher = await make_dispatcher([target(receiver)])
    dispatcher.set_faults(DeliveryFaults(reorder=2))

    for index in (1, 2, 3, 4, 5):
        dispatcher.publish(event(index))
    await settle(dispatcher)

    assert receiver.indexes() == [2, 1, 4, 3, 5]
    assert dispatcher.faults().reorder == 0


async def test_reordered_event_without_a_follower_is_sent_after_the_window(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    window = 0.2
    dispatcher = await make_dispatcher([target(receiver)], reorder_window=window)
    dispatcher.set_faults(DeliveryFaults(reorder=1))

    published = time.monotonic()
    dispatcher.publish(event(1, dialog="lonely"))
    dispatcher.publish(event(2, dialog="other"))
    await dispatcher.flush("lonely", WAIT)

    assert receiver.indexes() == [2, 1]
    assert receiver.hits[1].at - published >= window * 0.9
    assert dispatcher.deliveries()[-1].outcome == "delivered"


async def test_fault_event_types_limit_which_events_consume_it(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    dispatcher = await make_dispatcher([target(receiver)])
    dispatcher.set_faults(DeliveryFaults(drop=1, event_types=frozenset({"TYPING"})))

    dispatcher.publish(event(1))
    dispatcher.publish(event(2, event_type="TYPING"))
    dispatcher.publish(event(3, event_type="TYPING"))
    await settle(dispatcher)

    assert receiver.indexes() == [1, 3]
    assert dispatcher.faults() == DeliveryFaults(event_types=frozenset({"TYPING"}))


async def test_events_nobody_subscribed_to_consume_no_fault(
    receiver: Receiver, make_dispatcher: MakeDispatcher
) -> None:
    dispatcher = await make_dispatcher([target(receiver, "main", "PARTICIPANT_ADDED")])
    dispatcher.set_faults(DeliveryFaults(drop=1))

    dispatcher.publish(event(1))  # MESSAGES: no subscriber
    dispatcher.publish(event(2, event_type="PARTICIPANT_ADDED"))
    dispatcher.publish(event(3, event_type="PARTICIPANT_ADDED"))
    await settle(dispatcher)

    assert receiver.indexes() == [3]
