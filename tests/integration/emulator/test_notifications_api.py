"""Notification API (webhook subscriptions) over real HTTP, checked against Avaya's spec."""

from __future__ import annotations

import uuid

import pytest

from axp_chat_connector.emulator.config import EmulatorSettings
from tests.integration.emulator.harness import HOOKS, Emulator, running
from tests.openapi_check import validate_problem
from tests.unit.emulator.fakes import RecordingSink

SUB = {
    "channelProviderId": "ChatProvider01",
    "callbackUrl": "https://connector.example.com/v1/axp/callback/secret",
    "eventTypes": ["MESSAGES", "PARTICIPANT_ADDED"],
}


async def test_subscription_crud_and_filtered_list(emulator: Emulator) -> None:
    created = await emulator.call("POST", HOOKS, json=SUB)
    assert created.status_code == 201
    sid = created.json()["subscriptionId"]
    assert uuid.UUID(sid)
    other = await emulator.call("POST", HOOKS, json={**SUB, "channelProviderId": "Other01"})
    assert other.status_code == 201
    everything = await emulator.call("GET", HOOKS)
    mine = await emulator.call("GET", HOOKS, params={"channelProviderId": "ChatProvider01"})
    assert len(everything.json()) == 2
    assert [s["subscriptionId"] for s in mine.json()] == [sid]
    replaced = {**SUB, "eventTypes": ["ALL"], "callbackUrl": "https://b.example.com/cb"}
    updated = await emulator.call("PUT", f"{HOOKS}/{sid}", json=replaced)
    assert updated.json() == {**replaced, "subscriptionId": sid}
    got = await emulator.call("GET", f"{HOOKS}/{sid}")
    assert got.json()["eventTypes"] == ["ALL"]
    targets = emulator.runtime.subscriptions.targets("ABCDEF", "ChatProvider01")
    assert [(t.callback_url, t.event_types) for t in targets] == [
        ("https://b.example.com/cb", frozenset({"ALL"}))
    ]
    assert (await emulator.call("DELETE", f"{HOOKS}/{sid}")).status_code == 204
    gone = await emulator.call("GET", f"{HOOKS}/{sid}")
    assert gone.status_code == 404
    validate_problem(gone)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"callbackUrl": None}, "callbackUrl"),
        ({"eventTypes": []}, "eventTypes"),
        ({"eventTypes": ["MESSAGES"] * 7}, "eventTypes"),
        ({"eventTypes": ["NOPE"]}, "eventTypes[0]"),
        ({"callbackUrl": "https://x.example.com/" + "a" * 2048}, "callbackUrl"),
        ({"callbackUrl": "http://connector.example.com/cb"}, "callbackUrl"),
        ({"callbackUrl": "http://10.0.0.1/cb"}, "callbackUrl"),
        ({"callbackUrl": "ftp://x.example.com/cb"}, "callbackUrl"),
        ({"channelProviderId": "ab"}, "channelProviderId"),
    ],
)
async def test_bad_subscriptions_are_constraint_violations(
    emulator: Emulator, change: dict[str, object], field: str
) -> None:
    body = {k: v for k, v in {**SUB, **change}.items() if v is not None}
    answer = await emulator.call("POST", HOOKS, json=body)
    assert answer.status_code == 400
    assert validate_problem(answer)["violations"][0]["field"] == field


async def test_http_loopback_callbacks_only_when_allowed() -> None:
    loopback = {**SUB, "callbackUrl": "http://127.0.0.1:9/cb"}
    async with running(EmulatorSettings(allow_http_callbacks=False), RecordingSink()) as emu:
        await emu.login()
        assert (await emu.call("POST", HOOKS, json=loopback)).status_code == 400
    async with running(EmulatorSettings(allow_http_callbacks=True), RecordingSink()) as emu:
        await emu.login()
        for url in ("http://127.0.0.1:9/cb", "http://localhost:9/cb", "http://[::1]:9/cb"):
            answer = await emu.call("POST", HOOKS, json={**SUB, "callbackUrl": url})
            assert answer.status_code == 201, url


async def test_unknown_and_malformed_subscription_ids(emulator: Emulator) -> None:
    missing = await emulator.call("GET", f"{HOOKS}/{uuid.uuid4()}")
    malformed = await emulator.call("DELETE", f"{HOOKS}/nope")
    assert missing.status_code == 404
    assert malformed.status_code == 400
    assert malformed.json()["violations"][0]["code"] == 20006
