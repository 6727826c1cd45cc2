"""Agent API, fault injection, rate limit, greeting bot and auto-agent over real HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest

from axp_chat_connector.emulator.config import EmulatorSettings
from tests.integration.emulator.harness import CHAT, HOOKS, Emulator, running, wait_until
from tests.openapi_check import validate_exchange, validate_problem
from tests.unit.emulator.fakes import RecordingSink

AGENT = "/emulator/v1"


async def _chat(emulator: Emulator) -> tuple[str, dict[str, Any]]:
    sid = (await emulator.new_session())["sessionId"]
    return sid, await emulator.new_engagement(sid)


async def test_agent_accepts_talks_types_transfers_and_disconnects(
    emulator: Emulator, sink: RecordingSink
) -> None:
    sid, engagement = await _chat(emulator)
    eid = engagement["engagementId"]
    client = emulator.client
    listed = (await client.get(f"{AGENT}/engagements")).json()["engagements"]
    assert [e["engagementId"] for e in listed] == [eid]
    assert listed[0]["dialogs"][0]["sessionId"] == sid
    assert listed[0]["dialogs"][0]["session"]["displayName"] == "Ann"
    accepted = await client.post(f"{AGENT}/engagements/{eid}:accept", json={"agentName": "Andy"})
    assert accepted.json()["dialogStatus"] == "ACTIVE"
    twice = await client.post(f"{AGENT}/engagements/{eid}:accept")
    assert twice.status_code == 409
    await emulator.send(sid, engagement, "hello")
    rich = {"actions": [{"type": "reply", "text": "Yes", "payload": "Y"}]}
    sent = await client.post(
        f"{AGENT}/engagements/{eid}/messages",
        json={"text": "**hi**", "format": "MARKDOWN", "richMedia": rich},
    )
    assert sent.status_code == 201
    assert (await client.post(f"{AGENT}/engagements/{eid}:typing")).status_code == 204
    await client.post(f"{AGENT}/engagements/{eid}:transfer", json={"agentName": "Beth"})
    transcript = (await client.get(f"{AGENT}/engagements/{eid}/messages")).json()["messages"]
    assert [(m["senderParticipantType"], m["messageIndex"]) for m in transcript] == [
        ("CUSTOMER", 1),
        ("AGENT", 2),
    ]
    ended = await client.post(f"{AGENT}/engagements/{eid}:disconnect")
    assert ended.json()["dialogStatus"] == "TERMINATED"
    assert sink.types()[2:] == [
        ("PARTICIPANT_ADDED", "AGENT"),
        ("MESSAGES", "CUSTOMER"),
        ("MESSAGES", "AGENT"),
        ("TYPING", "AGENT"),
        ("PARTICIPANT_DISCONNECTED", "AGENT"),
        ("PARTICIPANT_ADDED", "AGENT"),
        ("PARTICIPANT_DISCONNECTED", "AGENT"),
        ("PARTICIPANT_DISCONNECTED", "CUSTOMER"),
    ]
    agent_message = sink.published[4]
    assert agent_message["body"]["richMediaPayload"] == rich
    assert agent_message["body"]["elementText"]["textFormat"] == "MARKDOWN"


async def test_agent_api_errors_are_problems(emulator: Emulator) -> None:
    _, engagement = await _chat(emulator)
    eid = engagement["engagementId"]
    client = emulator.client
    unknown = await client.post(f"{AGENT}/engagements/nope:accept")
    no_agent = await client.post(f"{AGENT}/engagements/{eid}/messages", json={"text": "x"})
    bad_body = await client.post(f"{AGENT}/engagements/{eid}/messages", json={"text": ""})
    bad_rich = await client.post(
        f"{AGENT}/engagements/{eid}/messages", json={"text": "x", "richMedia": {"actions": []}}
    )
    bad_verb = await client.post(f"{AGENT}/engagements/{eid}:dance")
    other_dialog = await client.post(f"{AGENT}/engagements/{eid}:accept?dialogId=nope")
    for answer, status in (
        (unknown, 404),
        (no_agent, 409),
        (bad_body, 400),
        (bad_rich, 400),
        (bad_verb, 404),
        (other_dialog, 404),
    ):
        assert answer.status_code == status
        validate_problem(answer)


async def test_fail_next_n_calls_then_succeed(emulator: Emulator) -> None:
    fault = {"operations": [{"operation": "createDigitalSession", "status": 503, "count": 2}]}
    active = await emulator.client.post(f"{AGENT}/faults", json=fault)
    assert active.json()["operations"][0]["count"] == 2
    body = {"accountId": "ABCDEF", "channelProviderId": "cp1", "customerIdentifiers": {"e": ["x"]}}
    answers = [
        await emulator.call("POST", f"{CHAT}/sessions", json=body, validate=False) for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [503, 503, 201]
    validate_problem(answers[0])
    assert len(emulator.runtime.state.sessions) == 1


async def test_after_effect_fault_performs_the_call_but_loses_the_answer(
    emulator: Emulator, sink: RecordingSink
) -> None:
    sid, engagement = await _chat(emulator)
    fault = {
        "operations": [{"operation": "sendDigitalMessage", "status": 504, "afterEffect": True}]
    }
    await emulator.client.post(f"{AGENT}/faults", json=fault)
    lost = await emulator.send(
        sid, engagement, "did it arrive?", providerMessageId="pm-7", validate=False
    )
    assert lost.status_code == 504
    messages = [b for b in sink.published if b["eventType"] == "MESSAGES"]
    assert [m["providerMessageId"] for m in messages] == ["pm-7"]


async def test_429_fault_carries_retry_after_and_token_faults_fail_token_requests(
    emulator: Emulator,
) -> None:
    fault = {
        "operations": [
            {"operation": "getDigitalEngagement", "status": 429, "retryAfter": 2},
            {"operation": "token", "status": 503},
        ]
    }
    await emulator.client.post(f"{AGENT}/faults", json=fault)
    limited = await emulator.call(
        "GET", f"{CHAT}/engagements/00000000-0000-4000-8000-000000000000", validate=False
    )
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    validate_problem(limited)
    failed = await emulator.token()
    assert failed.status_code == 503
    assert (await emulator.token()).status_code == 200


async def test_latency_is_added_for_the_next_calls_and_cleared(emulator: Emulator) -> None:
    await emulator.client.post(
        f"{AGENT}/faults", json={"latency": [{"operation": "getDigitalSession", "ms": 300}]}
    )
    sid = (await emulator.new_session())["sessionId"]
    started = time.monotonic()
    await emulator.call("GET", f"{CHAT}/sessions/{sid}")
    slow = time.monotonic() - started
    cleared = await emulator.client.delete(f"{AGENT}/faults")
    assert cleared.json()["latency"] == []
    started = time.monotonic()
    await emulator.call("GET", f"{CHAT}/sessions/{sid}")
    assert slow >= 0.3
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize(
    "body",
    [
        {"operations": [{"operation": "nope", "status": 500}]},
        {"latency": [{"operation": "*", "ms": "slow"}]},
        {"webhooks": {"drop": -1}},
        ["not", "an", "object"],
    ],
)
async def test_bad_fault_bodies_are_400(emulator: Emulator, body: object) -> None:
    answer = await emulator.client.post(f"{AGENT}/faults", json=body)
    assert answer.status_code == 400
    validate_problem(answer)


async def test_webhook_faults_reach_the_dispatcher(emulator: Emulator, sink: RecordingSink) -> None:
    webhooks = {"drop": 1, "duplicate": 2, "delayMs": 10, "delayCount": 1, "reorder": 0}
    answer = await emulator.client.post(
        f"{AGENT}/faults", json={"webhooks": {**webhooks, "eventTypes": ["MESSAGES"]}}
    )
    assert answer.json()["webhooks"]["duplicate"] == 2
    assert sink.faults().drop == 1
    assert sink.faults().event_types == frozenset({"MESSAGES"})
    await emulator.client.delete(f"{AGENT}/faults")
    assert sink.faults().drop == 0


async def test_rate_limit_answers_429_with_retry_after() -> None:
    async with running(EmulatorSettings(rate_limit_per_second=2), RecordingSink()) as emu:
        await emu.login()
        answers = [await emu.call("GET", HOOKS, validate=False) for _ in range(4)]
        statuses = [a.status_code for a in answers]
        assert statuses[:2] == [200, 200]
        assert 429 in statuses
        limited = next(a for a in answers if a.status_code == 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert "limit" in validate_problem(limited)["detail"]


async def test_greeting_bot_switched_on_by_faults_greets_before_the_201(
    emulator: Emulator, sink: RecordingSink
) -> None:
    await emulator.client.post(f"{AGENT}/faults", json={"greetingBot": True})
    _, engagement = await _chat(emulator)
    did = engagement["dialogs"][0]["dialogId"]
    assert sink.flushed == [(did, 4)]
    assert engagement["dialogs"][0]["dialogStatus"] == "ACTIVE"
    assert sink.types()[2:] == [("PARTICIPANT_ADDED", "BOT"), ("MESSAGES", "BOT")]


async def test_auto_agent_accepts_and_echoes() -> None:
    sink = RecordingSink()
    settings = EmulatorSettings(auto_agent=True, auto_agent_delay=0.05)
    async with running(settings, sink) as emu:
        await emu.login()
        sid, engagement = await _chat(emu)
        await wait_until(lambda: ("PARTICIPANT_ADDED", "AGENT") in sink.types())
        answer = await emu.send(sid, engagement, "ping")
        assert answer.status_code == 202
        await wait_until(lambda: sink.types()[-1] == ("MESSAGES", "AGENT"))
        assert sink.published[-1]["body"]["elementText"]["text"] == "You said: ping"
        assert sink.published[-1]["messageIndex"] == 2


async def test_health_and_unknown_paths(emulator: Emulator) -> None:
    assert (await emulator.client.get(f"{AGENT}/health")).status_code == 200
    missing = await emulator.client.get("/nowhere")
    assert missing.status_code == 404
    validate_problem(missing)
    wrong_method = await emulator.client.put(f"{CHAT}/sessions")
    assert wrong_method.status_code == 405
    validate_problem(wrong_method)
    validate_exchange(await emulator.call("GET", HOOKS))


async def test_engagement_error_fault_answers_201_then_reports_creation_failed(
    emulator: Emulator, sink: RecordingSink
) -> None:
    active = await emulator.client.post(f"{AGENT}/faults", json={"engagementErrors": 1})
    assert active.json()["engagementErrors"] == 1
    sid, failed = await _chat(emulator)
    assert sink.types() == [("ENGAGEMENT_ERROR", None)]
    error = sink.published[0]
    assert error["type"] == "ENGAGEMENT_CREATION_FAILED"
    assert error["correlationId"] == failed["correlationId"]
    assert error["dialogId"] == failed["dialogs"][0]["dialogId"]
    got = await emulator.call("GET", f"{CHAT}/engagements/{failed['engagementId']}")
    assert got.json()["dialogs"][0]["dialogStatus"] == "TERMINATED"
    await emulator.new_engagement(sid)
    assert sink.types()[1] == ("ENGAGEMENT_CREATED", None)
