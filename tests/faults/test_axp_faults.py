"""AXP failing at every lifecycle step: 5xx, 429, timeouts, refused tokens (real processes).

Each case injects one fault into the emulator, runs the step, proves the fault fired (the
emulator's active faults are used up) and checks the end state: the step succeeded once
(retried), or the client was told exactly what failed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.chat.clients import Frame, WsClient, eventually, wait_for
from tests.faults.chat import agent_texts, chatting
from tests.faults.conftest import FaultAgent, FaultStack

pytestmark = pytest.mark.e2e

CUSTOMER = {"displayName": "Faulty Fay", "identifiers": {"emailAddresses": ["fay@example.com"]}}


@dataclass(frozen=True)
class Step:
    name: str
    operation: str
    prepare: Callable[[FaultStack, FaultAgent], Awaitable[tuple[WsClient, str]]]
    run: Callable[[WsClient], Awaitable[Frame]]
    settled: Callable[[WsClient, FaultAgent, str], Awaitable[None]]
    """After an `ok`: the step's effect is there, once."""


async def fresh(stack: FaultStack, agent: FaultAgent) -> tuple[WsClient, str]:
    return await WsClient(stack.connector_url).open(), ""


async def logged_in(stack: FaultStack, agent: FaultAgent) -> tuple[WsClient, str]:
    client = await WsClient(stack.connector_url).open()
    await client.ok("login", customer=CUSTOMER)
    return client, ""


async def in_chat(stack: FaultStack, agent: FaultAgent) -> tuple[WsClient, str]:
    client, engagement_id, _ = await chatting(stack, agent)
    return client, engagement_id


async def nothing_more(client: WsClient, agent: FaultAgent, engagement_id: str) -> None:
    return None


async def one_chat_started(client: WsClient, agent: FaultAgent, engagement_id: str) -> None:
    await client.event(lambda e: e["type"] == "chat.started", "chat.started")
    assert len(client.of_type("chat.started")) == 1


async def echoed_once(client: WsClient, agent: FaultAgent, engagement_id: str) -> None:
    found = await wait_for(
        lambda: [e for e in client.events if e.get("clientMessageId") == "faulty-send"],
        timeout=30,
        what="the send's echo or message.failed",
    )
    assert len(found) == 1, found
    if found[0]["type"] == "message":

        async def at_agent() -> list[str]:
            return [t for t in await agent_texts(agent, engagement_id) if t == "through faults"]

        assert await eventually(at_agent, what="the message at the agent") == ["through faults"]
    else:
        assert found[0]["type"] == "message.failed"
        assert found[0]["code"] in ("upstream_unavailable", "upstream_rejected")


async def chat_ended_once(client: WsClient, agent: FaultAgent, engagement_id: str) -> None:
    await client.event(lambda e: e["type"] == "chat.ended", "chat.ended")
    assert len(client.of_type("chat.ended")) == 1


async def session_ended_once(client: WsClient, agent: FaultAgent, engagement_id: str) -> None:
    await client.event(lambda e: e["type"] == "session.ended", "session.ended")
    assert len(client.of_type("session.ended")) == 1


def command(type_: str, **fields: Any) -> Callable[[WsClient], Awaitable[Frame]]:
    async def run(client: WsClient) -> Frame:
        id_ = "faulty-send" if type_ == "send" else None
        return await client.command(type_, id_=id_, **fields)

    return run


STEPS = [
    Step("login", "createDigitalSession", fresh, command("login", customer=CUSTOMER), nothing_more),
    Step(
        "context",
        "updateSessionParametersInDigitalSession",
        logged_in,
        command("context", parameters={"page": "/faults"}),
        nothing_more,
    ),
    Step(
        "identify",
        "appendIdentifiersInDigitalSession",
        logged_in,
        command("identify", identifiers={"phoneNumbers": ["+15550100"]}),
        nothing_more,
    ),
    Step("start", "createDigitalEngagement", logged_in, command("start"), one_chat_started),
    Step(
        "send", "sendDigitalMessage", in_chat, command("send", text="through faults"), echoed_once
    ),
    Step("end", "disconnectDigitalEngagement", in_chat, command("end"), chat_ended_once),
    Step("logout", "deleteDigitalSession", in_chat, command("logout"), session_ended_once),
]

FAULTS: dict[str, Callable[[str], dict[str, Any]]] = {
    "503 twice": lambda op: {"operations": [{"operation": op, "status": 503, "count": 2}]},
    "429 twice": lambda op: {
        "operations": [{"operation": op, "status": 429, "count": 2, "retryAfter": 1}]
    },
    "token refused": lambda op: {"operations": [{"operation": op, "status": 401, "count": 1}]},
    "answer too slow": lambda op: {"latency": [{"operation": op, "ms": 2600, "count": 1}]},
    "answer lost": lambda op: {
        "operations": [{"operation": op, "status": 504, "count": 1, "afterEffect": True}]
    },
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("step", STEPS, ids=[s.name for s in STEPS])
async def test_each_lifecycle_step_survives_or_reports_an_axp_fault(
    stack: FaultStack, agent: FaultAgent, step: Step, fault: str
) -> None:
    client, engagement_id = await step.prepare(stack, agent)
    injected = FAULTS[fault](step.operation)
    planned = sum(f["count"] for f in injected.get("operations", ()))
    await agent.faults(**injected)
    answer = await step.run(client)

    async def fired() -> bool:  # a send's fault fires after its `accepted` answer
        active = await agent.active_faults()
        left = sum(int(f["count"]) for f in active["operations"])
        return not active["latency"] and (planned == 0 or left < planned)

    await eventually(fired, what=f"the {fault} fault to fire on {step.operation}")
    if answer["type"] == "ok":
        await step.settled(client, agent, engagement_id)
    else:
        assert answer["code"] == "upstream_unavailable", answer
        assert answer["retryable"] is True, answer
