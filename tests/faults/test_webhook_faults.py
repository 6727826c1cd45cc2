"""AXP's webhooks dropped, duplicated, delayed and reordered (real processes).

Every agent message reaches every customer connection once and in order; a message whose
webhook never came is missing from the events but present in `history` (the documented way to
fill a gap). Each test proves its fault fired from the emulator's delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.e2e.chat.clients import Frame, WsClient, eventually
from tests.faults.chat import (
    agent_texts,
    assert_once_in_order,
    chatting,
    customer_texts,
    session_token,
    wait_agent_received,
)
from tests.faults.conftest import FaultAgent, FaultStack

pytestmark = pytest.mark.e2e


async def two_connections(stack: FaultStack, agent: FaultAgent) -> tuple[list[WsClient], str, str]:
    """A chat with an agent, watched by two connections of the same session."""
    first, engagement_id, dialog_id = await chatting(stack, agent)
    second = await WsClient(stack.connector_url).open()
    await second.ok("resume", token=await session_token(first), after=0)
    return [first, second], engagement_id, dialog_id


def delivered_texts(records: list[dict[str, Any]], dialog_id: str) -> list[str]:
    """Agent texts in the order the emulator delivered them (first successful attempt)."""
    out: list[str] = []
    for record in records:
        body = record["body"]
        if record["dialog_id"] != dialog_id or record["event_type"] != "MESSAGES":
            continue
        text = (body.get("body", {}).get("elementText") or {}).get("text")
        if body.get("senderParticipantType") == "AGENT" and text and text not in out:
            out.append(text)
    return out


async def all_see(clients: list[WsClient], text: str) -> None:
    def said(event: Frame) -> bool:
        return event.get("text") == text

    for client in clients:
        await client.event(said, f"'{text}'")


def agent_said(client: WsClient) -> list[str]:
    return customer_texts(client.events, "AGENT")


async def test_duplicated_webhooks_reach_each_connection_once(
    stack: FaultStack, agent: FaultAgent
) -> None:
    clients, engagement_id, dialog_id = await two_connections(stack, agent)
    await agent.faults(webhooks={"duplicate": 4, "eventTypes": ["MESSAGES"]})
    said = ["d1", "d2"]
    await clients[0].ok("send", id_="dup-c1", text="dc1")
    for text in said:
        await agent.say(engagement_id, text)
    await clients[0].ok("send", id_="dup-c2", text="dc2")
    await all_see(clients, "d2")
    await wait_agent_received(agent, engagement_id, ["dc1", "dc2"])

    async def all_duplicated() -> bool:  # the copies of the 4 messages were POSTed too
        copies = await agent.deliveries("duplicate")
        return len([r for r in copies if r["dialog_id"] == dialog_id]) == 4

    await eventually(all_duplicated, what="the duplicate fault to fire 4 times")
    for client in clients:
        await client.event(lambda e: e.get("clientMessageId") == "dup-c2", "echo")
        assert_once_in_order(agent_said(client), said, "agent messages")
        assert_once_in_order(customer_texts(client.events, "CUSTOMER"), ["dc1", "dc2"], "echoes")
    assert_once_in_order(await agent_texts(agent, engagement_id), ["dc1", "dc2"], "at the agent")


def waited(record: dict[str, Any]) -> float:
    """Seconds between the event's date and this delivery attempt."""
    sent = datetime.fromisoformat(record["body"]["eventDate"])
    return (datetime.fromisoformat(record["at"]) - sent).total_seconds()


async def test_reordered_webhooks_are_put_back_in_axp_order(
    stack: FaultStack, agent: FaultAgent
) -> None:
    clients, engagement_id, dialog_id = await two_connections(stack, agent)
    await agent.faults(webhooks={"reorder": 1, "eventTypes": ["MESSAGES"]})
    said = ["late-1", "late-2", "late-3"]
    for text in said:
        await agent.say(engagement_id, text)
    await all_see(clients, "late-3")
    records = await agent.deliveries("delivered")
    assert delivered_texts(records, dialog_id)[:2] == ["late-2", "late-1"], "the fault fired"
    for client in clients:
        assert_once_in_order(agent_said(client), said, "agent messages")


async def test_delayed_webhooks_arrive_once_and_in_order(
    stack: FaultStack, agent: FaultAgent
) -> None:
    clients, engagement_id, dialog_id = await two_connections(stack, agent)
    await agent.faults(webhooks={"delayMs": 1500, "delayCount": 1, "eventTypes": ["MESSAGES"]})
    said = ["slow-1", "slow-2"]
    for text in said:
        await agent.say(engagement_id, text)
    await all_see(clients, "slow-2")
    records = [
        r
        for r in await agent.deliveries("delivered")
        if r["dialog_id"] == dialog_id and r["event_type"] == "MESSAGES"
    ]
    assert waited(records[-2]) >= 1.4, "the delay fault fired"
    for client in clients:
        assert_once_in_order(agent_said(client), said, "agent messages")


async def test_a_dropped_webhook_is_skipped_after_the_hold_and_found_in_history(
    stack: FaultStack, agent: FaultAgent
) -> None:
    clients, engagement_id, dialog_id = await two_connections(stack, agent)
    await agent.faults(webhooks={"drop": 1, "eventTypes": ["MESSAGES"]})
    await agent.say(engagement_id, "never called back")
    await agent.say(engagement_id, "after the loss")
    await all_see(clients, "after the loss")
    dropped = [r for r in await agent.deliveries("dropped") if r["dialog_id"] == dialog_id]
    assert len(dropped) == 1, "the drop fault fired"
    answer: Frame = await clients[0].ok("history")
    in_history = [m.get("text") for m in answer["messages"]]
    assert_once_in_order(in_history, ["never called back", "after the loss"], "history")
    for client in clients:
        assert agent_said(client).count("after the loss") == 1
        assert "never called back" not in agent_said(client)
