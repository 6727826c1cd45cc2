"""The AXP client against the emulator over real HTTP: all operations, tokens, faults."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.config import Settings
from axp_chat_connector.errors import (
    AxpAuthError,
    AxpNotFound,
    AxpOutcomeUnknown,
    AxpRejected,
    AxpUnavailable,
)
from tests.servers import TIME_SCALE, free_port

from .conftest import (
    FAST,
    Emulator,
    Traffic,
    axp_client,
    connector_settings,
    elapsed_since,
    running_emulator,
)


async def test_whole_chat_lifecycle_with_every_request_valid_per_avaya(
    axp: AxpClient, traffic: Traffic
) -> None:
    session = await axp.create_session(
        customer_identifiers={"emailAddresses": ["ann@acme.test"]},
        display_name="Ann",
        session_parameters={"page": "pricing"},
        correlation_id="corr-login",
    )
    assert session.correlationId == "corr-login"
    sid = session.sessionId
    assert (await axp.get_session(sid)).sessionStatus == "ACTIVE"
    appended = await axp.append_identifiers(sid, {"phoneNumbers": ["+35312345678"]})
    assert appended.customerIdentifiers is not None
    assert "phoneNumbers" in appended.customerIdentifiers
    updated = await axp.update_session_parameters(sid, {"country": "Ireland"})
    assert updated.sessionParameters == {"page": "pricing", "country": "Ireland"}

    engagement = await axp.create_engagement(session_id=sid, provider_dialog_id="pd-1")
    dialog = next(d for d in engagement.dialogs if d.providerDialogId == "pd-1")
    eid, did = engagement.engagementId, dialog.dialogId
    assert [e.engagementId for e in await axp.list_engagements(sid)] == [eid]
    assert (await axp.get_engagement(eid)).engagementId == eid

    sent = await axp.send_message(
        eid, session_id=sid, dialog_id=did, body="hello", provider_message_id="pm-1"
    )
    assert sent.providerMessageId == "pm-1"
    page = await axp.list_messages(eid, session_id=sid, dialog_id=did)
    assert [m.providerMessageId for m in page.messages or []] == ["pm-1"]
    joined = await axp.join_engagement(eid, session_id=sid, dialog_id=did)
    assert joined.engagementId == eid
    left = await axp.disconnect_engagement(eid, session_id=sid, dialog_id=did, reason="USER_CLOSED")
    assert left.reason == "USER_CLOSED"
    await axp.delete_session(sid, "USER_CLOSED")
    with pytest.raises(AxpNotFound):
        await axp.get_session(sid)

    callback = axp.settings.callback_url.get_secret_value()
    created = await axp.create_subscription(callback_url=callback, event_types=["MESSAGES"])
    assert created.subscriptionId is not None
    sub_id = created.subscriptionId
    assert (await axp.get_subscription(sub_id)).eventTypes == ["MESSAGES"]
    changed = await axp.update_subscription(sub_id, callback_url=callback, event_types=["TYPING"])
    assert changed.eventTypes == ["TYPING"]
    assert [s.subscriptionId for s in await axp.list_subscriptions()] == [sub_id]
    await axp.delete_subscription(sub_id)
    assert await axp.list_subscriptions() == []

    assert len({(r.method, r.url.path.split("/")[-1]) for r in traffic.api_requests()}) >= 14


async def test_calls_keep_working_across_token_expiries(
    emulator: Emulator, traffic: Traffic
) -> None:
    """Token lifetime 2 s: every call of a run spanning several lifetimes succeeds, and the
    token is renewed ahead of expiry (a 401 is the rare fallback on a loaded machine, not the
    way renewal happens)."""
    async with axp_client(connector_settings(emulator), traffic) as axp:
        session = await axp.create_session(customer_identifiers={"emailAddresses": ["a@b.test"]})
        deadline = time.monotonic() + 10 * TIME_SCALE
        calls = 0
        while traffic.token_requests < 3:  # two renewals: over 3 s of calls
            assert time.monotonic() < deadline, "token was not renewed"
            await axp.get_session(session.sessionId)
            calls += 1
    refused = [s for s in traffic.statuses if s[1] == 401]
    assert len(refused) < traffic.token_requests - 1
    assert calls > 10


async def test_100_concurrent_calls_at_expiry_cause_one_token_request(traffic: Traffic) -> None:
    """The client's clock jumps past the token's expiry; AXP's tokens live long enough that
    only the client's view of time decides."""
    now = [time.monotonic()]
    async with (
        running_emulator(token_ttl=900) as emulator,
        axp_client(
            connector_settings(emulator, axp_attempt_timeout=30.0, axp_retry_deadline=60.0),
            traffic,
            clock=lambda: now[0],
        ) as axp,
    ):
        session = await axp.create_session(customer_identifiers={"emailAddresses": ["a@b.test"]})
        assert traffic.token_requests == 1
        now[0] += 3600.0  # the cached token is now long expired
        results = await asyncio.gather(*(axp.get_session(session.sessionId) for _ in range(100)))
    assert {r.sessionId for r in results} == {session.sessionId}
    assert traffic.token_requests == 2
    assert len(traffic.api_requests(session.sessionId)) == 100
    assert traffic.invalid == []


async def test_token_refused_by_axp_mid_run_is_renewed_once(
    emulator: Emulator, axp: AxpClient, traffic: Traffic
) -> None:
    session = await axp.create_session(customer_identifiers={"emailAddresses": ["a@b.test"]})
    await emulator.faults(operations=[{"operation": "getDigitalSession", "status": 401}])
    assert (await axp.get_session(session.sessionId)).sessionId == session.sessionId
    assert traffic.token_requests == 2
    assert [s for _, s in traffic.statuses if s == 401] == [401]


async def test_429_with_retry_after_is_waited_out(
    emulator: Emulator, axp: AxpClient, traffic: Traffic
) -> None:
    session = await axp.create_session(customer_identifiers={"emailAddresses": ["a@b.test"]})
    await emulator.faults(
        operations=[{"operation": "getDigitalSession", "status": 429, "retryAfter": 1}]
    )
    start = time.monotonic()
    await axp.get_session(session.sessionId)
    assert elapsed_since(start) >= 1.0
    assert len(traffic.api_requests(session.sessionId)) == 2


async def test_503_burst_is_absorbed_within_the_deadline(
    emulator: Emulator, axp: AxpClient, traffic: Traffic
) -> None:
    await emulator.faults(operations=[{"operation": "createDigitalSession", "status": 503,
                                       "count": 3}])  # fmt: skip
    session = await axp.create_session(customer_identifiers={"emailAddresses": ["a@b.test"]})
    assert session.sessionStatus == "ACTIVE"
    assert len(traffic.api_requests("/sessions")) == 4


async def test_endless_503_fails_with_unavailable_after_the_deadline(
    emulator: Emulator, traffic: Traffic
) -> None:
    await emulator.faults(operations=[{"operation": "getDigitalSession", "status": 503,
                                       "count": 1000}])  # fmt: skip
    settings = connector_settings(emulator, axp_retry_deadline=1.0, axp_retry_attempts=20)
    async with axp_client(settings, traffic) as axp:
        start = time.monotonic()
        with pytest.raises(AxpUnavailable, match="deadline exhausted"):
            await axp.get_session(str(uuid.uuid4()))
        assert elapsed_since(start) < 1.0 + 3.0 * TIME_SCALE
    assert len(traffic.api_requests()) > 2
    assert {status for path, status in traffic.statuses if "/sessions/" in path} == {503}


async def test_slow_answers_time_out_and_fail_within_the_deadline(
    emulator: Emulator, traffic: Traffic
) -> None:
    await emulator.faults(latency=[{"operation": "getDigitalSession", "ms": 700}])
    settings = connector_settings(emulator, axp_attempt_timeout=0.2, axp_retry_deadline=1.0)
    async with axp_client(settings, traffic) as axp:
        start = time.monotonic()
        with pytest.raises(AxpUnavailable, match="deadline"):
            await axp.get_session(str(uuid.uuid4()))
        assert elapsed_since(start) < 1.0 + 3.0 * TIME_SCALE


async def test_added_latency_within_the_attempt_timeout_succeeds(
    emulator: Emulator, axp: AxpClient
) -> None:
    await emulator.faults(latency=[{"operation": "*", "ms": 300}])
    session = await axp.create_session(customer_identifiers={"emailAddresses": ["a@b.test"]})
    assert (await axp.get_session(session.sessionId)).sessionId == session.sessionId


async def test_send_that_failed_after_taking_effect_is_outcome_unknown_and_settled_by_listing(
    emulator: Emulator, axp: AxpClient, traffic: Traffic
) -> None:
    session = await axp.create_session(customer_identifiers={"emailAddresses": ["a@b.test"]})
    sid = session.sessionId
    engagement = await axp.create_engagement(session_id=sid)
    eid, did = engagement.engagementId, engagement.dialogs[0].dialogId
    await emulator.faults(operations=[{"operation": "sendDigitalMessage", "status": 503,
                                       "afterEffect": True}])  # fmt: skip
    with pytest.raises(AxpOutcomeUnknown) as caught:
        await axp.send_message(eid, session_id=sid, dialog_id=did, body="once",
                               provider_message_id="pm-once")  # fmt: skip
    assert caught.value.operation == "sendDigitalMessage"
    assert len(traffic.api_requests("/messages")) == 1  # not blindly repeated
    page = await axp.list_messages(eid, session_id=sid, dialog_id=did)
    assert [m.providerMessageId for m in page.messages or []] == ["pm-once"]


async def test_create_engagement_that_timed_out_is_found_by_listing(
    emulator: Emulator, traffic: Traffic
) -> None:
    settings = connector_settings(emulator, axp_attempt_timeout=0.3)
    async with axp_client(settings, traffic) as axp:
        session = await axp.create_session(customer_identifiers={"emailAddresses": ["a@b.test"]})
        await emulator.faults(latency=[{"operation": "createDigitalEngagement", "ms": 1000,
                                        "count": 1}])  # fmt: skip
        with pytest.raises(AxpOutcomeUnknown):
            await axp.create_engagement(session_id=session.sessionId, provider_dialog_id="pd-9")
        deadline = time.monotonic() + 5 * TIME_SCALE
        found: list[str] = []
        while not found:  # the emulator finishes the slow request after our timeout
            assert time.monotonic() < deadline
            engagements = await axp.list_engagements(session.sessionId)
            found = [d.dialogId for e in engagements for d in e.dialogs
                     if d.providerDialogId == "pd-9"]  # fmt: skip
    assert len(found) == 1
    posts = [r for r in traffic.api_requests("/engagements") if r.method == "POST"]
    assert len(posts) == 1  # sent once, found by listing


@pytest.mark.parametrize("status", [400, 404, 409])
async def test_client_errors_are_not_retried(
    emulator: Emulator, axp: AxpClient, traffic: Traffic, status: int
) -> None:
    await emulator.faults(operations=[{"operation": "listDigitalEngagements", "status": status,
                                       "count": 5}])  # fmt: skip
    with pytest.raises(AxpRejected) as caught:
        await axp.list_engagements(str(uuid.uuid4()))
    assert caught.value.status == status
    assert caught.value.operation == "listDigitalEngagements"
    assert isinstance(caught.value, AxpNotFound) == (status == 404)
    assert len(traffic.api_requests("/engagements")) == 1


async def test_real_404_carries_axp_problem_detail(axp: AxpClient) -> None:
    with pytest.raises(AxpNotFound) as caught:
        await axp.get_engagement(str(uuid.uuid4()))
    assert caught.value.status == 404
    assert caught.value.problem_title


async def test_wrong_client_secret_is_an_auth_error(emulator: Emulator, traffic: Traffic) -> None:
    settings = connector_settings(emulator, axp_client_secret="not-the-emulator-secret")
    async with axp_client(settings, traffic) as axp:
        with pytest.raises(AxpAuthError):
            await axp.get_session(str(uuid.uuid4()))
    assert traffic.api_requests() == []
    assert traffic.token_requests == 1


async def test_wrong_app_key_is_an_auth_error(emulator: Emulator, traffic: Traffic) -> None:
    settings = connector_settings(emulator, axp_app_key="not-the-emulator-app-key")
    async with axp_client(settings, traffic) as axp:
        with pytest.raises(AxpAuthError):
            await axp.get_session(str(uuid.uuid4()))


async def test_request_check_catches_a_request_outside_avaya_spec(emulator: Emulator) -> None:
    """The spec check the other tests rely on is not vacuous."""
    own = Traffic()
    async with axp_client(connector_settings(emulator), own) as axp:
        with pytest.raises(AxpRejected):
            await axp.get_session("not-a-uuid")
    assert len(own.invalid) == 1
    assert "not-a-uuid" in own.invalid[0]


async def test_calls_go_through_the_configured_proxy(emulator: Emulator, traffic: Traffic) -> None:
    """AXP's address is closed; only the proxy (the emulator, which serves absolute-form
    requests) can answer."""
    settings = Settings.for_emulator(
        f"http://127.0.0.1:{free_port()}", axp_proxy_url=emulator.base, **FAST
    )
    async with axp_client(settings, traffic) as axp:
        with pytest.raises(AxpNotFound):
            await axp.get_session(str(uuid.uuid4()))
    assert traffic.token_requests == 1
