"""How many store calls the two hot paths make (docs/architecture.md quotes these numbers):
an agent's message from AXP's callback to its answer, and a customer `send` from its frame
to its `accepted` answer. Run with `-s` to see the calls. The webhook's timers go with its
write (`update_session_and_append(deadlines=…)`) and its route comes from the intake's route
cache once the chat's first callbacks filled it (a cold cache adds one `get_route`)."""

from __future__ import annotations

from axp_chat_connector.sessions.memory import SessionMemory
from axp_chat_connector.sessions.service import TOUCH_SHARE
from axp_chat_connector.webhooks.route_cache import RouteCache
from tests.integration.sessions.conftest import Harness, wait_for
from tests.integration.sessions.counting import counted

MOST_PER_WEBHOOK_COLD = 3
"""The route not cached yet and the session not remembered (this instance has not seen the
chat's callbacks)."""
MOST_PER_SEND = 7


async def test_store_calls_per_webhook_and_per_send(harness: Harness) -> None:
    session_id, engagement_id, _ = await harness.chatting()
    harness.intake.routes = RouteCache()  # as on an instance that just started
    harness.intake.records.memory = SessionMemory()
    harness.webhook_store_calls.clear()
    await harness.say(engagement_id, "cold")
    await harness.text(session_id, "cold")
    cold = next(calls for kind, calls in harness.webhook_store_calls if kind == "MESSAGES")
    harness.webhook_store_calls.clear()
    await harness.say(engagement_id, "hello")
    await harness.text(session_id, "hello")
    with counted() as send:
        await harness.ok("send", session_id, id_="m-1", text="hi")
    await harness.event(session_id, lambda e: e.get("clientMessageId") == "m-1", "the echo")

    async def customer_callback() -> bool:
        return len(harness.webhook_store_calls) >= 2

    await wait_for(customer_callback, "AXP's callback of the customer's message")
    agent = next(calls for kind, calls in harness.webhook_store_calls if kind == "MESSAGES")
    print(f"\nagent message webhook, route not cached: {len(cold)} store calls {cold}")
    print(f"agent message webhook: {len(agent)} store calls {agent}")
    print(f"customer send: {len(send)} store calls {send}")
    for kind, calls in harness.webhook_store_calls[1:]:
        print(f"then {kind} webhook: {len(calls)} store calls {calls}")
    assert len(cold) <= MOST_PER_WEBHOOK_COLD
    # the session remembered (`SessionMemory`, on SQLite): only the write; without the
    # memory (Redis) the session is read first (`get_session`)
    assert agent == ["update_session_and_append"]
    assert len(send) <= MOST_PER_SEND


async def test_the_outbox_worker_reports_the_outbox_depth(harness: Harness) -> None:
    session_id, _, _ = await harness.chatting()
    await harness.faults(
        operations=[{"operation": "sendDigitalMessage", "status": 503, "count": 1000}]
    )
    harness.outbox_depths.clear()
    await harness.ok("send", session_id, text="waiting")

    async def one_waiting() -> bool:
        return 1 in harness.outbox_depths

    await wait_for(one_waiting, "the depth of one waiting send")


async def test_a_session_is_marked_active_at_most_once_per_window(harness: Harness) -> None:
    """Long polls answered back to back, or fast commands, do not write the store each time."""
    session_id, _, _ = await harness.chatting()
    window = harness.settings.session_idle_timeout * TOUCH_SHARE
    harness.clock.advance(window)  # whatever touched it before is out of the window
    with counted() as calls:
        for _ in range(5):
            await harness.service.connection_opened(session_id)
            await harness.service.connection_closed(session_id)
    assert calls.count("touch_session") == 1
    harness.clock.advance(window)
    with counted() as later:
        await harness.service.connection_opened(session_id)
        await harness.service.connection_closed(session_id)
    assert later.count("touch_session") == 1
