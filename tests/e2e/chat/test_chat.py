"""A customer and an agent chat through the connector and the emulator, as real processes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.chat.clients import (
    TRANSPORTS,
    Agent,
    ChatClient,
    PollClient,
    SseClient,
    WsClient,
    eventually,
    new_id,
    wait_for,
)
from tests.e2e.chat.conftest import Stack

pytestmark = pytest.mark.e2e

CUSTOMER = {"displayName": "Ada Lovelace", "identifiers": {"emailAddresses": ["ada@example.com"]}}


MakeClient = Callable[[str], ChatClient]
each_transport = pytest.mark.parametrize("transport", TRANSPORTS)
"""Run a test over every transport that carries a whole chat (WebSocket, SSE)."""


async def logged_in(stack: Stack, make: MakeClient = WsClient) -> tuple[ChatClient, dict[str, Any]]:
    client = await make(stack.connector_url).open()
    answer = await client.ok("login", customer=CUSTOMER, parameters={"page": "/pricing"})
    return client, answer


async def chatting(
    stack: Stack, agent: Agent, *, accept: bool = True, make: MakeClient = WsClient
) -> tuple[ChatClient, str, str]:
    """A logged-in customer with a started chat; (client, engagementId, dialogId)."""
    client, _ = await logged_in(stack, make)
    started = await client.ok("start", conversation="bikes")
    engagement_id, dialog_id = started["engagementId"], started["dialogId"]
    await client.event(lambda e: e["type"] == "chat.started", "chat.started")
    if accept:
        await agent.engagement(dialog_id)
        await agent.act(engagement_id, "accept", agentName="Grace")
        await client.event(
            lambda e: e["type"] == "participant.joined" and e["participant"]["type"] == "AGENT",
            "the agent joining",
        )
    return client, engagement_id, dialog_id


def texts(events: list[dict[str, Any]], sender: str) -> list[str]:
    return [e["text"] for e in events if e["type"] == "message" and e["from"]["type"] == sender]


@each_transport
async def test_a_full_chat_both_ways_until_the_agent_ends_it(
    stack: Stack, agent: Agent, transport: str
) -> None:
    client, engagement_id, dialog_id = await chatting(stack, agent, make=TRANSPORTS[transport])
    sent = await client.ok("send", id_="hello-1", text="Hi, I need a bike")
    assert sent["status"] == "accepted"
    echo = await client.event(lambda e: e.get("clientMessageId") == "hello-1", "the echo")
    assert echo["from"]["type"] == "CUSTOMER"
    assert echo["text"] == "Hi, I need a bike"
    received = await wait_for_agent_text(agent, engagement_id, "Hi, I need a bike")
    assert received == 1

    await agent.say(engagement_id, "Road or mountain?")
    reply = await client.event(lambda e: e.get("text") == "Road or mountain?", "agent reply")
    assert reply["from"]["type"] == "AGENT"
    assert reply["from"].get("name") == "Grace"

    await agent.act(engagement_id, "disconnect")
    ended = await client.event(lambda e: e["type"] == "chat.ended", "chat.ended")
    assert ended["by"] == "agent"
    assert ended["reason"] == "AGENT_CLOSED"
    assert ended["dialogId"] == dialog_id
    left = client.of_type("participant.left")
    assert left, "the customer is told who left before the chat ends"
    assert left[0]["seq"] < ended["seq"]
    seqs = [e["seq"] for e in client.events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "gapless, each once"
    assert len(client.of_type("chat.ended")) == 1
    await client.close()


async def wait_for_agent_text(agent: Agent, engagement_id: str, text: str) -> int:
    """How many times `text` reached the agent, once it has at least once."""

    async def count() -> int:
        messages = await agent.received(engagement_id)
        return sum(1 for m in messages if (m["body"].get("elementText") or {}).get("text") == text)

    return int(await eventually(count, what=f"{text!r} at the agent"))


@each_transport
async def test_customer_end_terminates_the_dialog_at_axp(
    stack: Stack, agent: Agent, transport: str
) -> None:
    client, _, dialog_id = await chatting(stack, agent, make=TRANSPORTS[transport])
    await client.ok("end")
    ended = await client.event(lambda e: e["type"] == "chat.ended", "chat.ended")
    assert (ended["by"], ended["reason"]) == ("customer", "USER_CLOSED")
    dialog = await agent.dialog(dialog_id)
    assert dialog["dialogStatus"] == "TERMINATED"
    answer = await client.command("send", text="anyone?")
    assert answer["type"] == "error"
    assert answer["code"] == "invalid_state"
    assert len(client.of_type("chat.ended")) == 1
    await client.close()


async def test_transfer_keeps_the_chat_open_with_the_new_agent(stack: Stack, agent: Agent) -> None:
    client, engagement_id, _ = await chatting(stack, agent)
    await agent.act(engagement_id, "transfer", agentName="Linus")
    await client.event(
        lambda e: e["type"] == "participant.joined" and e["participant"].get("name") == "Linus",
        "the second agent",
    )
    await agent.say(engagement_id, "Linus here")
    await client.event(lambda e: e.get("text") == "Linus here", "the new agent's message")
    assert not client.of_type("chat.ended")
    await client.ok("send", text="thanks Linus")
    await client.event(lambda e: e.get("text") == "thanks Linus", "echo")
    await client.close()


@each_transport
async def test_resume_after_a_drop_delivers_exactly_the_missed_events_in_order(
    stack: Stack, agent: Agent, transport: str
) -> None:
    client, engagement_id, _ = await chatting(stack, agent, make=TRANSPORTS[transport])
    token = await client.ok("ping")  # the connection works
    assert token["type"] == "ok"
    last = client.events[-1]["seq"]
    login_token = await session_token(client)
    await client.close()

    for text in ("one", "two", "three"):
        await agent.say(engagement_id, text)

    again = await TRANSPORTS[transport](stack.connector_url).open()
    resumed = await again.ok("resume", token=login_token, after=last)
    assert resumed["seq"] >= last
    await again.event(lambda e: e.get("text") == "three", "the last missed message")
    assert texts(again.events, "AGENT") == ["one", "two", "three"]
    assert again.events[0]["seq"] == last + 1
    await again.close()


async def session_token(client: ChatClient) -> str:
    login = next(a for a in client.answers.values() if "token" in a)
    return str(login["token"])


@each_transport
async def test_the_same_command_id_twice_sends_one_message_even_across_a_reconnect(
    stack: Stack, agent: Agent, transport: str
) -> None:
    client, engagement_id, _ = await chatting(stack, agent, make=TRANSPORTS[transport])
    first = await client.command("send", id_="dup-1", text="only once")
    second = await client.command("send", id_="dup-1", text="only once")
    assert first == second
    token = await session_token(client)
    await client.close()
    again = await TRANSPORTS[transport](stack.connector_url).open()
    await again.ok("resume", token=token, after=0)
    third = await again.command("send", id_="dup-1", text="only once")
    assert third == first
    await again.event(lambda e: e.get("clientMessageId") == "dup-1", "the echo")
    assert await wait_for_agent_text(agent, engagement_id, "only once") == 1
    echoes = [e for e in again.events if e.get("clientMessageId") == "dup-1"]
    assert len(echoes) == 1
    await again.close()


async def test_send_failing_three_times_with_503_is_delivered_once_in_order(
    stack: Stack, agent: Agent
) -> None:
    client, engagement_id, _ = await chatting(stack, agent)
    await agent.faults(operations=[{"operation": "sendDigitalMessage", "status": 503, "count": 3}])
    for text in ("first", "second"):
        await client.ok("send", text=text)
    await client.event(lambda e: e.get("text") == "second", "the second echo")
    assert texts(client.events, "CUSTOMER") == ["first", "second"]
    messages = await agent.received(engagement_id)
    got = [(m["body"].get("elementText") or {}).get("text") for m in messages]
    assert got.count("first") == 1
    assert got.count("second") == 1
    assert got.index("first") < got.index("second")
    await client.close()


async def test_a_lost_send_answer_is_settled_without_sending_twice(
    stack: Stack, agent: Agent
) -> None:
    client, engagement_id, _ = await chatting(stack, agent)
    await agent.faults(
        operations=[
            {"operation": "sendDigitalMessage", "status": 504, "count": 1, "afterEffect": True}
        ]
    )
    await client.ok("send", id_="lost-1", text="did you get this?")
    echo = await client.event(lambda e: e.get("clientMessageId") == "lost-1", "the echo")
    assert echo["text"] == "did you get this?"
    assert await wait_for_agent_text(agent, engagement_id, "did you get this?") == 1
    await client.close()


async def test_duplicated_and_reordered_webhooks_reach_the_customer_once_in_index_order(
    stack: Stack, agent: Agent
) -> None:
    client, engagement_id, _ = await chatting(stack, agent)
    await agent.faults(webhooks={"duplicate": 2, "reorder": 2, "eventTypes": ["MESSAGES"]})
    for text in ("a", "b", "c", "d"):
        await agent.say(engagement_id, text)
    await client.event(lambda e: e.get("text") == "d", "the last message")
    await wait_for(lambda: len(texts(client.events, "AGENT")) >= 4)
    assert texts(client.events, "AGENT") == ["a", "b", "c", "d"]
    indexes = [e["index"] for e in client.of_type("message")]
    assert indexes == sorted(indexes)
    await client.close()


async def test_a_greeting_sent_before_the_start_answer_still_reaches_the_customer(
    stack: Stack, agent: Agent
) -> None:
    await agent.faults(greetingBot=True)
    client, _ = await logged_in(stack)
    started = await client.ok("start")
    greeting = await client.event(
        lambda e: e["type"] == "message" and e["from"]["type"] == "BOT", "the bot's greeting"
    )
    opened = client.of_type("chat.started")[0]
    assert opened["seq"] < greeting["seq"]
    assert opened["dialogId"] == started["dialogId"]
    await client.close()


@each_transport
async def test_logout_ends_the_session_here_and_at_axp(
    stack: Stack, agent: Agent, transport: str
) -> None:
    client, _, dialog_id = await chatting(stack, agent, make=TRANSPORTS[transport])
    token = await session_token(client)
    await client.ok("logout")
    ended = await client.event(lambda e: e["type"] == "session.ended", "session.ended")
    assert ended["reason"] == "USER_CLOSED"
    assert client.of_type("chat.ended")
    assert (await agent.dialog(dialog_id))["dialogStatus"] == "TERMINATED"
    again = await TRANSPORTS[transport](stack.connector_url).open()
    answer = await again.command("resume", token=token, after=0)
    assert answer["type"] == "error"
    assert answer["code"] == "not_found"
    await again.close()
    await client.close()


async def test_a_chat_over_long_polling(stack: Stack, agent: Agent) -> None:
    poller = PollClient(stack.connector_url)
    await poller.ok("login", customer=CUSTOMER)
    started = await poller.ok("start")
    await agent.engagement(started["dialogId"])
    await agent.act(started["engagementId"], "accept")
    await poller.until(lambda e: e["type"] == "participant.joined", "agent joined")
    await poller.ok("send", text="over http")
    await poller.until(lambda e: e.get("text") == "over http", "echo")
    await agent.say(started["engagementId"], "hello poller")
    await poller.until(lambda e: e.get("text") == "hello poller", "agent message")
    seqs = [e["seq"] for e in poller.events]
    assert seqs == sorted(set(seqs))
    await poller.aclose()


async def test_a_websocket_and_a_long_poll_of_one_session_both_see_everything(
    stack: Stack, agent: Agent
) -> None:
    client, engagement_id, _ = await chatting(stack, agent)
    poller = PollClient(stack.connector_url)
    poller.token = await session_token(client)
    await agent.say(engagement_id, "to both")
    await client.event(lambda e: e.get("text") == "to both", "ws")
    await poller.until(lambda e: e.get("text") == "to both", "long poll")
    (answer,) = await poller.commands({"type": "send", "id": new_id(), "text": "from the poller"})
    assert answer["type"] == "ok"
    await client.event(lambda e: e.get("text") == "from the poller", "echo on the ws")
    await poller.aclose()
    await client.close()


async def test_a_callback_without_the_secret_is_refused_and_changes_nothing(stack: Stack) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{stack.connector_url}/v1/axp/callback/not-the-secret",
            json={"eventType": "MESSAGES"},
        )
    assert response.status_code == 404
    assert "not-the-secret" not in response.text


@each_transport
async def test_the_connector_restarted_mid_chat_loses_nothing(
    stack: Stack, agent: Agent, transport: str
) -> None:
    client, engagement_id, _ = await chatting(stack, agent, make=TRANSPORTS[transport])
    token = await session_token(client)
    last = client.events[-1]["seq"]
    stack.stop_connector()
    await client.close()
    await agent.say(engagement_id, "while you were away")  # delivery retried by the emulator
    stack.start_connector()
    again = await TRANSPORTS[transport](stack.connector_url).open()
    await again.ok("resume", token=token, after=last)
    await again.event(lambda e: e.get("text") == "while you were away", "the missed message")
    await again.ok("send", text="back again")
    await again.event(lambda e: e.get("text") == "back again", "echo after restart")
    assert await wait_for_agent_text(agent, engagement_id, "back again") == 1
    await again.close()


async def test_a_lost_create_engagement_answer_opens_one_dialog_not_two(
    stack: Stack, agent: Agent
) -> None:
    client, _ = await logged_in(stack)
    await agent.faults(
        operations=[
            {"operation": "createDigitalEngagement", "status": 504, "count": 1, "afterEffect": True}
        ]
    )
    started = await client.ok("start")
    engagement = await agent.engagement(started["dialogId"])
    ours = next(d for d in engagement["dialogs"] if d["dialogId"] == started["dialogId"])
    same_session = [d for d in engagement["dialogs"] if d["sessionId"] == ours["sessionId"]]
    assert len(same_session) == 1, "a retried Create Engagement opened a second dialog"
    assert client.of_type("chat.started") or await client.event(
        lambda e: e["type"] == "chat.started", "chat.started"
    )


async def test_metrics_show_webhooks_and_their_latency_to_clients(
    stack: Stack, agent: Agent
) -> None:
    client, engagement_id, _ = await chatting(stack, agent)
    await agent.say(engagement_id, "measured")
    await client.event(lambda e: e.get("text") == "measured", "the message")
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{stack.connector_url}/metrics")).text
    samples = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert samples['axp_chat_webhook_events_total{event_type="MESSAGES",outcome="appended"}'] >= 1
    assert samples["axp_chat_webhook_to_client_seconds_count"] >= 1
    assert samples["axp_chat_webhook_answer_seconds_count"] >= 1
    assert any(k.startswith("axp_chat_axp_call_seconds_count") for k in samples)


async def test_a_send_accepted_before_a_restart_is_delivered_after_it_once(
    stack: Stack, agent: Agent
) -> None:
    client, engagement_id, _ = await chatting(stack, agent)
    await agent.faults(
        operations=[{"operation": "sendDigitalMessage", "status": 503, "count": 1000}]
    )
    await client.ok("send", id_="outbox-1", text="kept across the restart")
    token = await session_token(client)
    last = client.events[-1]["seq"]
    stack.stop_connector()
    await client.close()
    await agent.clear_faults()
    stack.start_connector()
    again = await WsClient(stack.connector_url).open()
    await again.ok("resume", token=token, after=last)
    echo = await again.event(lambda e: e.get("clientMessageId") == "outbox-1", "the echo")
    assert echo["text"] == "kept across the restart"
    assert await wait_for_agent_text(agent, engagement_id, "kept across the restart") == 1


async def test_an_sse_stream_reopened_with_last_event_id_misses_nothing(
    stack: Stack, agent: Agent
) -> None:
    client, engagement_id, _ = await chatting(stack, agent, make=SseClient)
    assert isinstance(client, SseClient)
    await agent.say(engagement_id, "before")
    await client.event(lambda e: e.get("text") == "before", "the first message")
    await client.reconnect()
    await agent.say(engagement_id, "after")
    await client.event(lambda e: e.get("text") == "after", "the message after the reconnect")
    seqs = [e["seq"] for e in client.events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "gapless, each once"
    await client.close()
