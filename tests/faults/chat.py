"""Shared steps of the fault tests: a chat through the real stack, and end-state checks."""

from __future__ import annotations

from typing import Any

from tests.e2e.chat.clients import Agent, Frame, WsClient, eventually
from tests.e2e.chat.conftest import Stack
from tests.e2e.chat.test_chat import chatting as chatting_over
from tests.e2e.chat.test_chat import session_token
from tests.faults.tally import TALLY

__all__ = ["agent_texts", "assert_once_in_order", "chatting", "customer_texts", "session_token"]


async def chatting(stack: Stack, agent: Agent) -> tuple[WsClient, str, str]:
    """A WebSocket customer with a started chat an agent accepted; (client, engagementId,
    dialogId)."""
    client, engagement_id, dialog_id = await chatting_over(stack, agent, make=WsClient)
    assert isinstance(client, WsClient)
    return client, engagement_id, dialog_id


def customer_texts(events: list[Frame], sender: str) -> list[str]:
    """The texts of `message` events from `sender` (AGENT, CUSTOMER), in seq order."""
    ordered = sorted(events, key=lambda e: e["seq"])
    return [e["text"] for e in ordered if e["type"] == "message" and e["from"]["type"] == sender]


async def agent_texts(agent: Agent, engagement_id: str) -> list[str]:
    """The customer's texts as the agent received them, in AXP's order."""
    messages = await agent.received(engagement_id)
    return [
        (m["body"].get("elementText") or {}).get("text", "")
        for m in messages
        if m["senderParticipantType"] == "CUSTOMER"
    ]


def assert_once_in_order(seen: list[str], expected: list[str], where: str) -> None:
    """Each expected text exactly once, in the expected order (other texts may be around)."""
    picked = [text for text in seen if text in expected]
    TALLY["events checked"] += len(seen)
    TALLY["lost"] += len(set(expected) - set(picked))
    TALLY["duplicated"] += len(picked) - len(set(picked))
    assert picked == expected, f"{where}: expected {expected} once each in order, saw {picked}"


async def wait_agent_received(agent: Agent, engagement_id: str, texts: list[str]) -> None:
    async def arrived() -> bool:
        got = await agent_texts(agent, engagement_id)
        return all(t in got for t in texts)

    await eventually(arrived, what=f"the agent to receive {texts}")


def gapless(client: WsClient) -> None:
    seqs = sorted(e["seq"] for e in client.events)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seqs gapless, each once"


def last_seq(client: WsClient) -> int:
    return max((e["seq"] for e in client.events), default=0)


def dialog_deliveries(records: list[dict[str, Any]], dialog_id: str) -> list[dict[str, Any]]:
    return [r for r in records if r["dialog_id"] == dialog_id]
