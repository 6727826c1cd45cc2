"""Every frame of real chats (connector and emulator as processes) matches the published client
protocol: the JSON Schema files under docs/schema/ and the AsyncAPI document docs/asyncapi.json,
which the connector also serves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.chat.clients import WAIT, Agent, PollClient, WsClient, new_id, wait_for
from tests.e2e.chat.conftest import Stack
from tests.published_protocol import ProtocolChecker, asyncapi

pytestmark = pytest.mark.e2e

CUSTOMER = {"displayName": "Ada Lovelace", "identifiers": {"emailAddresses": ["ada@example.com"]}}
Frame = dict[str, Any]


class Recorder:
    """A WebSocket client that remembers which command each `id` was."""

    def __init__(self, client: WsClient) -> None:
        self.client = client
        self.commands: dict[str, str] = {}

    async def run(self, type_: str, **fields: Any) -> Frame:
        id_ = new_id(type_[:2])
        self.commands[id_] = type_
        return await self.client.command(type_, id_=id_, **fields)

    async def ok(self, type_: str, **fields: Any) -> Frame:
        answer = await self.run(type_, **fields)
        assert answer["type"] == "ok", answer
        return answer

    def frames(self) -> Iterator[tuple[Frame, str | None]]:
        """Every frame received, with the command type of the answers."""
        for re, answer in self.client.answers.items():
            yield answer, self.commands.get(re)
        for frame in [*self.client.events, *self.client.ephemeral]:
            yield frame, None


@pytest.fixture(scope="module")
def checker() -> ProtocolChecker:
    return ProtocolChecker()


async def test_the_connector_serves_the_published_document(stack: Stack) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{stack.connector_url}/v1/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == asyncapi()


async def _chat_with_an_agent(me: Recorder, agent: Agent) -> str:
    """Start, agent joins, messages both ways, typing; returns the engagement id."""
    started = await me.ok("start", conversation="bikes", parameters={"topic": "bikes"})
    await me.client.event(lambda e: e["type"] == "chat.started", "chat.started")
    engagement_id = str(started["engagementId"])
    await agent.engagement(started["dialogId"])
    await agent.act(engagement_id, "accept", agentName="Grace")
    await me.client.event(lambda e: e["type"] == "participant.joined", "the agent joining")
    await me.ok("send", text="Hi, I need a bike")
    await me.ok("send", reply={"text": "Road", "payload": "road"})
    await agent.act(engagement_id, "typing")
    await wait_for(lambda: me.client.ephemeral, what="typing")
    await agent.say(engagement_id, "**Road** or mountain?", format="MARKDOWN")
    await me.client.event(lambda e: e.get("format") == "MARKDOWN", "the agent's message")
    history = await me.ok("history", limit=10)
    assert history["messages"], "the chat's messages"
    return engagement_id


async def test_every_frame_of_a_websocket_chat_matches_the_schemas(
    stack: Stack, agent: Agent, checker: ProtocolChecker
) -> None:
    me = Recorder(await WsClient(stack.connector_url).open())
    login = await me.ok("login", customer=CUSTOMER, parameters={"page": "/pricing"})
    await me.ok("context", parameters={"cart": "2 items"})
    await me.ok("identify", identifiers={"phoneNumbers": ["+15550100"]})
    await me.ok("ping")
    engagement_id = await _chat_with_an_agent(me, agent)
    await agent.act(engagement_id, "transfer", agentName="Linus")
    await me.client.event(lambda e: e.get("participant", {}).get("name") == "Linus", "Linus")
    await agent.act(engagement_id, "disconnect")
    await me.client.event(lambda e: e["type"] == "chat.ended", "chat.ended")
    assert (await me.run("send", text="anyone?"))["code"] == "invalid_state"
    assert (await me.run("send", text="x", reply={"text": "y"}))["code"] == "bad_request"
    await me.client.send_raw("not json")
    await me.client.send_raw({"type": "dance", "id": "d1"})
    await wait_for(lambda: "d1" in me.client.answers, what="the unknown type's error")

    await agent.faults(engagementErrors=1)
    await me.ok("start")
    await me.client.event(lambda e: e["type"] == "chat.error", "chat.error")
    await me.client.event(lambda e: e.get("reason") == "SYSTEM_CLOSED", "the failed chat ending")
    await agent.clear_faults()

    started = await me.ok("start")
    await agent.engagement(started["dialogId"])
    await agent.act(started["engagementId"], "accept", agentName="Grace")
    await agent.faults(operations=[{"operation": "sendDigitalMessage", "status": 400}])
    await me.ok("send", text="this one fails")
    await me.client.event(lambda e: e["type"] == "message.failed", "message.failed")
    await agent.clear_faults()
    await me.ok("end")

    other = Recorder(await WsClient(stack.connector_url).open())
    await other.ok("resume", token=login["token"], after=0)
    await other.client.event(lambda e: e.get("reason") == "USER_CLOSED", "the replayed end")
    await other.ok("ack", seq=other.client.events[-1]["seq"])
    await other.client.send_raw({"type": "ack", "seq": 1})  # no id: no answer
    await me.ok("logout")
    await me.client.event(lambda e: e["type"] == "session.ended", "session.ended")
    await other.client.event(lambda e: e["type"] == "session.ended", "session.ended")

    seen: set[str] = set()
    for recorder in (me, other):
        for frame, command in recorder.frames():
            checker.server_frame(frame, command)
            seen.add(frame["type"] if frame["type"] != "ok" else f"ok:{command}")
    expected_events = {
        "chat.started",
        "participant.joined",
        "participant.left",
        "message",
        "message.failed",
        "typing",
        "chat.ended",
        "chat.error",
        "session.ended",
    }
    commands = {"login", "resume", "context", "identify", "start", "send", "history", "end"}
    assert expected_events | {"error"} | {f"ok:{c}" for c in commands | {"logout"}} <= seen
    await me.client.close()
    await other.client.close()


async def test_every_long_polling_body_matches_the_schemas(
    stack: Stack, agent: Agent, checker: ProtocolChecker
) -> None:
    poll = PollClient(stack.connector_url)
    batches = checker.asyncapi_payload("/components/schemas/AnswerBatch")
    bodies = checker.asyncapi_payload("/components/schemas/PollEvents")
    problems = checker.asyncapi_payload("/components/schemas/Problem")
    try:
        login = await poll.ok("login", customer=CUSTOMER)
        sent: list[Frame] = [
            {"type": "start", "id": new_id("p")},
            {"type": "ping", "id": new_id("p")},
            {"type": "ack", "seq": 0},
            {"type": "send", "id": new_id("p")},
        ]
        answers = await poll.commands(*sent)
        batches.validate(answers)
        for frame, answer in zip(sent, answers, strict=True):
            checker.server_frame(answer, str(frame["type"]))
        await poll.until(lambda e: e["type"] == "chat.started", "chat.started")
        async with httpx.AsyncClient() as http:
            response = await http.get(
                f"{stack.connector_url}/v1/poll/events?after={poll.seq}&wait=1",
                headers={"Authorization": f"Bearer {login['token']}"},
            )
            bodies.validate(response.json())
            refused = await http.get(
                f"{stack.connector_url}/v1/poll/events",
                headers={"Authorization": "Bearer forged"},
            )
        assert refused.status_code == 401
        problems.validate(refused.json())
        assert poll.events
        for event in poll.events:
            checker.server_frame(event)
    finally:
        await poll.aclose()


async def _read_sse(response: httpx.Response, frames: list[tuple[int | None, Frame]]) -> None:
    """Collect `(id, frame)` for each `data:` of the stream until it ends (after
    `session.ended`); checks the `retry:` first line."""
    lines = response.aiter_lines()
    assert await anext(lines) == "retry: 2000"
    event_id: int | None = None
    async for line in lines:
        if line.startswith("id: "):
            event_id = int(line.removeprefix("id: "))
        elif line.startswith("data: "):
            frames.append((event_id, json.loads(line.removeprefix("data: "))))
            event_id = None


async def test_every_server_sent_event_matches_the_schemas(
    stack: Stack, agent: Agent, checker: ProtocolChecker
) -> None:
    me = Recorder(await WsClient(stack.connector_url).open())
    login = await me.ok("login", customer=CUSTOMER)
    frames: list[tuple[int | None, Frame]] = []
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(WAIT, read=None)) as http,
        http.stream(
            "GET", f"{stack.connector_url}/v1/sse", params={"token": login["token"], "after": 0}
        ) as response,
    ):
        if response.status_code == 404:
            pytest.skip("this build has no SSE transport (GET /v1/sse answers 404)")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = asyncio.create_task(_read_sse(response, frames))
        try:
            await _chat_with_an_agent(me, agent)
            await wait_for(lambda: any(f["type"] == "typing" for _, f in frames), what="typing")
            await me.ok("logout")
            await asyncio.wait_for(reader, WAIT)
        finally:
            reader.cancel()
    assert frames[-1][1]["type"] == "session.ended", "the stream ends after session.ended"
    for event_id, frame in frames:
        checker.server_frame(frame, channel="sse")
        if frame["type"] != "error":  # a gap's error frame has a seq but no id
            assert event_id == frame.get("seq"), "durable events carry their seq as id"
