"""The AXP client on a scripted transport: headers, bodies, retries, deadlines, typed errors."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.errors import (
    AxpAuthError,
    AxpNotFound,
    AxpOutcomeUnknown,
    AxpRejected,
    AxpUnavailable,
    BadRequest,
)

from .fakes import (
    CALLBACK_SECRET,
    CHANNEL,
    DIALOG_ID,
    ENGAGEMENT_ID,
    SESSION_ID,
    WEBHOOK,
    FakeClock,
    FakeSleep,
    ScriptedAxp,
    ok_session,
    problem,
    session_json,
    settings,
)

REQUEST = httpx.Request("GET", CHANNEL)


def client(axp: ScriptedAxp, clock: FakeClock | None = None, **overrides: Any) -> AxpClient:
    clock = clock or FakeClock()
    return AxpClient(
        settings(**overrides), transport=axp.transport, clock=clock, sleep=FakeSleep(clock)
    )


def sleeps(c: AxpClient) -> list[float]:
    sleep = c._caller._sleep
    assert isinstance(sleep, FakeSleep)
    return sleep.delays


def engagement_json() -> dict[str, Any]:
    return {
        "engagementId": ENGAGEMENT_ID,
        "accountId": "ABCDEF",
        "url": "/x",
        "dialogs": [
            {
                "dialogId": DIALOG_ID,
                "channelId": "Chat",
                "dialogStatus": "PENDING",
                "initiatorParticipantId": "p1",
                "connections": [],
                "createdAt": "2026-01-01T00:00:00Z",
                "lastUpdatedAt": "2026-01-01T00:00:00Z",
                "providerDialogId": "pd-1",
                "someFutureField": {"kept": True},
            }
        ],
    }


def message_json() -> dict[str, Any]:
    return {
        "accountId": "ABCDEF",
        "channelProviderId": "axp-chat-connector",
        "channelId": "Chat",
        "senderParticipantId": "p1",
        "senderParticipantName": "Ann",
        "senderParticipantType": "CUSTOMER",
        "body": {"elementType": "text", "elementText": {"text": "hi"}},
        "status": "SENT",
        "messageIndex": 1,
    }


def answer_for(request: httpx.Request) -> httpx.Response:
    """A plausible success for every operation, by method and path."""
    path = request.url.path
    if request.method == "DELETE":
        return httpx.Response(204)
    if path.endswith("/subscriptions") and request.method == "GET":
        return httpx.Response(200, json=[])
    if "/subscriptions" in path:
        body = json.loads(request.content) if request.content else {}
        return httpx.Response(
            201 if request.method == "POST" else 200,
            json={
                "subscriptionId": "2581e39b-fe84-4e38-87f4-63a1d037f39a",
                "channelProviderId": "axp-chat-connector",
                "callbackUrl": body.get("callbackUrl", "https://x.test/cb"),
                "eventTypes": body.get("eventTypes", ["MESSAGES"]),
            },
        )
    if path.endswith(":disconnect"):
        return httpx.Response(200, json=json.loads(request.content))
    if path.endswith("/messages") and request.method == "GET":
        return httpx.Response(200, json={"messages": [message_json()], "links": {}})
    if path.endswith("/messages"):
        return httpx.Response(202, json=message_json())
    if path.endswith("/engagements") and request.method == "GET":
        return httpx.Response(200, json=[engagement_json()])
    if "/engagements" in path:
        return httpx.Response(201 if path.endswith("/engagements") else 200, json=engagement_json())
    return httpx.Response(201 if path.endswith("/sessions") else 200, json=session_json())


async def call_all(c: AxpClient) -> None:
    """Every one of the 17 operations once."""
    await c.create_session(customer_identifiers={"emailAddresses": ["a@b.test"]}, display_name="A")
    await c.get_session(SESSION_ID)
    await c.delete_session(SESSION_ID, "USER_CLOSED")
    await c.append_identifiers(SESSION_ID, {"phoneNumbers": ["+353"]})
    await c.update_session_parameters(SESSION_ID, {"country": "Ireland"})
    await c.create_engagement(session_id=SESSION_ID, provider_dialog_id="pd-1")
    await c.list_engagements(SESSION_ID)
    await c.get_engagement(ENGAGEMENT_ID)
    ids = {"session_id": SESSION_ID, "dialog_id": DIALOG_ID}
    await c.disconnect_engagement(
        ENGAGEMENT_ID, session_id=SESSION_ID, dialog_id=DIALOG_ID, reason="USER_CLOSED"
    )
    await c.join_engagement(ENGAGEMENT_ID, **ids)
    await c.list_messages(ENGAGEMENT_ID, session_id=SESSION_ID, dialog_id=DIALOG_ID)
    await c.send_message(
        ENGAGEMENT_ID, session_id=SESSION_ID, dialog_id=DIALOG_ID, body="hello",
        provider_message_id="m-1",
    )  # fmt: skip
    cb = f"https://chat.connector.test/v1/axp/callback/{CALLBACK_SECRET}"
    await c.create_subscription(callback_url=cb, event_types=["MESSAGES"])
    await c.list_subscriptions()
    await c.get_subscription("2581e39b-fe84-4e38-87f4-63a1d037f39a")
    await c.update_subscription(
        "2581e39b-fe84-4e38-87f4-63a1d037f39a", callback_url=cb, event_types=["TYPING"]
    )
    await c.delete_subscription("2581e39b-fe84-4e38-87f4-63a1d037f39a")


async def test_every_operation_goes_to_its_method_and_path_with_auth_headers() -> None:
    axp = ScriptedAxp(answer_for)
    async with client(axp) as c:
        await call_all(c)
    seen = [(r.method, r.url.path) for r in axp.api_requests]
    ch, wh = httpx.URL(CHANNEL).path, httpx.URL(WEBHOOK).path
    sub = f"{wh}/subscriptions/2581e39b-fe84-4e38-87f4-63a1d037f39a"
    assert seen == [
        ("POST", f"{ch}/sessions"),
        ("GET", f"{ch}/sessions/{SESSION_ID}"),
        ("DELETE", f"{ch}/sessions/{SESSION_ID}"),
        ("POST", f"{ch}/sessions/{SESSION_ID}:appendIdentifiers"),
        ("POST", f"{ch}/sessions/{SESSION_ID}:updateSessionParameters"),
        ("POST", f"{ch}/engagements"),
        ("GET", f"{ch}/engagements"),
        ("GET", f"{ch}/engagements/{ENGAGEMENT_ID}"),
        ("POST", f"{ch}/engagements/{ENGAGEMENT_ID}:disconnect"),
        ("POST", f"{ch}/engagements/{ENGAGEMENT_ID}:join"),
        ("GET", f"{ch}/engagements/{ENGAGEMENT_ID}/messages"),
        ("POST", f"{ch}/engagements/{ENGAGEMENT_ID}/messages"),
        ("POST", f"{wh}/subscriptions"),
        ("GET", f"{wh}/subscriptions"),
        ("GET", sub),
        ("PUT", sub),
        ("DELETE", sub),
    ]
    for request in axp.api_requests:
        assert request.headers["authorization"] == "Bearer tok-1"
        assert request.headers["appkey"] == "emulator-app-key"
    assert len(axp.token_requests) == 1
    assert axp.api_requests[2].url.params["reason"] == "USER_CLOSED"
    assert axp.api_requests[6].url.params["sessionId"] == SESSION_ID
    assert dict(axp.api_requests[10].url.params) == {
        "dialogId": DIALOG_ID,
        "sessionId": SESSION_ID,
        "pageNumber": "1",
        "pageSize": "10",
    }
    assert axp.api_requests[13].url.params["channelProviderId"] == "axp-chat-connector"


async def test_bodies_carry_correlation_ids_only_where_the_spec_allows() -> None:
    axp = ScriptedAxp(answer_for)
    async with client(axp) as c:
        await call_all(c)
    bodies = {
        (r.method, r.url.path.rsplit("/", 1)[-1]): json.loads(r.content)
        for r in axp.api_requests
        if r.content
    }
    with_correlation = [k for k, b in bodies.items() if "correlationId" in b]
    assert sorted(with_correlation) == sorted(
        [
            ("POST", "sessions"),
            ("POST", "engagements"),
            ("POST", f"{ENGAGEMENT_ID}:disconnect"),
            ("POST", f"{ENGAGEMENT_ID}:join"),
            ("POST", "messages"),
        ]
    )
    created = bodies[("POST", "sessions")]
    assert created["accountId"] == "ABCDEF"
    assert created["channelProviderId"] == "axp-chat-connector"
    assert bodies[("POST", f"{SESSION_ID}:appendIdentifiers")] == {"phoneNumbers": ["+353"]}
    sent = bodies[("POST", "messages")]
    assert sent["body"] == {
        "elementType": "text",
        "elementText": {"text": "hello", "textFormat": "PLAINTEXT"},
    }
    assert sent["providerMessageId"] == "m-1"
    assert "subscriptionId" not in bodies[("PUT", "2581e39b-fe84-4e38-87f4-63a1d037f39a")]


async def test_caller_given_correlation_id_is_sent_and_logged() -> None:
    axp = ScriptedAxp(answer_for)
    async with client(axp) as c:
        with capture_logs() as logs:
            await c.create_engagement(session_id=SESSION_ID, correlation_id="corr-42")
    assert json.loads(axp.api_requests[0].content)["correlationId"] == "corr-42"
    call = next(e for e in logs if e["event"] == "axp.call")
    assert call["correlation_id"] == "corr-42"
    assert call["operation"] == "createDigitalEngagement"
    assert call["status"] == 201
    assert call["attempt"] == 1
    assert "latency_ms" in call


async def test_lenient_response_keeps_unknown_fields() -> None:
    axp = ScriptedAxp(answer_for)
    async with client(axp) as c:
        engagements = await c.list_engagements(SESSION_ID)
    assert engagements[0].dialogs[0].model_extra == {"someFutureField": {"kept": True}}


async def test_request_outside_avaya_limits_is_a_bad_request_and_not_sent() -> None:
    axp = ScriptedAxp(answer_for)
    async with client(axp) as c:
        with pytest.raises(BadRequest) as caught:
            await c.create_session(customer_identifiers={}, display_name="x" * 71)
    fields = {f["field"] for f in caught.value.detail}
    assert {"customerIdentifiers", "displayName"} <= fields
    assert axp.api_requests == []


async def test_503_burst_is_retried_with_growing_backoff_until_success() -> None:
    axp = ScriptedAxp(ok_session, [problem(503), problem(503), problem(502)])
    async with client(axp) as c:
        session = await c.get_session(SESSION_ID)
        delays = sleeps(c)
    assert session.sessionId == SESSION_ID
    assert len(axp.api_requests) == 4
    assert len(delays) == 3
    assert 0.005 <= delays[0] <= 0.01
    assert 0.01 <= delays[1] <= 0.02
    assert delays[2] <= 0.04


async def test_429_waits_at_least_retry_after() -> None:
    throttled = problem(429, "Too Many Requests")
    throttled.headers["retry-after"] = "2"
    axp = ScriptedAxp(ok_session, [throttled])
    async with client(axp) as c:
        await c.get_session(SESSION_ID)
        assert sleeps(c) == [2.0]


async def test_429_is_retried_even_for_a_send() -> None:
    axp = ScriptedAxp(answer_for, [problem(429)])
    async with client(axp) as c:
        await c.send_message(ENGAGEMENT_ID, session_id=SESSION_ID, dialog_id=DIALOG_ID, body="x")
    assert len(axp.api_requests) == 2
    first, second = (json.loads(r.content) for r in axp.api_requests)
    assert first["correlationId"] == second["correlationId"]


async def test_retry_after_beyond_the_deadline_gives_up_at_once() -> None:
    throttled = problem(429)
    throttled.headers["retry-after"] = "60"
    axp = ScriptedAxp(ok_session, [throttled])
    async with client(axp, axp_retry_deadline=5.0) as c:
        with pytest.raises(AxpUnavailable, match="deadline"):
            await c.get_session(SESSION_ID)
        assert sleeps(c) == []


async def test_persistent_5xx_ends_in_unavailable_within_the_deadline() -> None:
    clock = FakeClock()
    axp = ScriptedAxp(lambda r: problem(503))
    async with client(
        axp, clock, axp_retry_attempts=20, axp_retry_deadline=1.0, axp_backoff_max=0.3
    ) as c:
        start = clock.now
        with pytest.raises(AxpUnavailable) as caught:
            await c.get_session(SESSION_ID)
    assert clock.now - start <= 1.0
    assert not isinstance(caught.value, AxpOutcomeUnknown)
    assert "HTTP 503" in caught.value.message
    assert "getDigitalSession" in caught.value.message


async def test_attempts_are_capped() -> None:
    axp = ScriptedAxp(lambda r: problem(500))
    async with client(axp, axp_retry_attempts=3) as c:
        with pytest.raises(AxpUnavailable, match="3 attempt"):
            await c.get_session(SESSION_ID)
    assert len(axp.api_requests) == 3


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
async def test_other_4xx_is_not_retried(status: int) -> None:
    axp = ScriptedAxp(lambda r: problem(status))
    async with client(axp) as c:
        with pytest.raises(AxpRejected) as caught:
            await c.get_session(SESSION_ID)
    assert len(axp.api_requests) == 1
    assert caught.value.status == status
    assert isinstance(caught.value, AxpNotFound) == (status == 404)


async def test_problem_body_becomes_a_typed_error() -> None:
    body = problem(
        400,
        "Constraint Violation",
        detail="bad input",
        violations=[{"field": "dialogId", "message": "must match", "code": 20006}, "junk"],
    )
    axp = ScriptedAxp(answer_for, [body])
    async with client(axp) as c:
        with pytest.raises(AxpRejected) as caught:
            await c.send_message(ENGAGEMENT_ID, session_id=SESSION_ID, dialog_id=DIALOG_ID,
                                 body="x")  # fmt: skip
    error = caught.value
    assert error.status == 400
    assert error.problem_title == "Constraint Violation"
    assert error.problem_detail == "bad input"
    assert error.violations == [{"field": "dialogId", "message": "must match", "code": 20006}]
    assert error.operation == "sendDigitalMessage"


async def test_non_json_error_body_still_gives_a_typed_error() -> None:
    axp = ScriptedAxp(lambda r: httpx.Response(404, text="<html>gone</html>"))
    async with client(axp) as c:
        with pytest.raises(AxpNotFound) as caught:
            await c.get_engagement(ENGAGEMENT_ID)
    assert caught.value.problem_title is None


async def test_unreadable_success_body_is_an_axp_error() -> None:
    axp = ScriptedAxp(lambda r: httpx.Response(200, json={"unexpected": True}))
    async with client(axp) as c:
        with pytest.raises(Exception, match="cannot read") as caught:
            await c.get_session(SESSION_ID)
    assert caught.type.__name__ == "AxpError"


@pytest.mark.parametrize(
    "failure",
    [problem(503), problem(500), httpx.ReadTimeout("slow", request=REQUEST),
     httpx.RemoteProtocolError("dropped", request=REQUEST)],
)  # fmt: skip
async def test_send_whose_answer_was_lost_is_not_repeated(failure: Any) -> None:
    axp = ScriptedAxp(answer_for, [failure])
    async with client(axp) as c:
        with pytest.raises(AxpOutcomeUnknown) as caught:
            await c.send_message(ENGAGEMENT_ID, session_id=SESSION_ID, dialog_id=DIALOG_ID,
                                 body="x", correlation_id="c-1")  # fmt: skip
    assert len(axp.api_requests) == 1
    assert caught.value.operation == "sendDigitalMessage"
    assert caught.value.correlation_id == "c-1"
    assert caught.value.retryable


@pytest.mark.parametrize(
    "call",
    ["create_engagement", "append_identifiers", "create_subscription"],
)
async def test_other_unsafe_operations_are_not_repeated_after_a_timeout(call: str) -> None:
    axp = ScriptedAxp(answer_for, [httpx.ReadTimeout("slow", request=REQUEST)])
    calls: dict[str, Callable[[AxpClient], Awaitable[object]]] = {
        "create_engagement": lambda c: c.create_engagement(session_id=SESSION_ID),
        "append_identifiers": lambda c: c.append_identifiers(SESSION_ID, {"phoneNumbers": ["1"]}),
        "create_subscription": lambda c: c.create_subscription(
            callback_url="https://x.test/cb", event_types=["TYPING"]
        ),
    }
    async with client(axp) as c:
        with pytest.raises(AxpOutcomeUnknown):
            await calls[call](c)
    assert len(axp.api_requests) == 1


async def test_send_that_never_connected_is_retried() -> None:
    axp = ScriptedAxp(answer_for, [httpx.ConnectError("refused", request=REQUEST)])
    async with client(axp) as c:
        await c.send_message(ENGAGEMENT_ID, session_id=SESSION_ID, dialog_id=DIALOG_ID, body="x")
    assert len(axp.api_requests) == 2


async def test_safe_operation_is_retried_after_a_timeout() -> None:
    axp = ScriptedAxp(ok_session, [httpx.ReadTimeout("slow", request=REQUEST)])
    async with client(axp) as c:
        await c.get_session(SESSION_ID)
    assert len(axp.api_requests) == 2


async def test_create_session_is_retried_after_a_timeout() -> None:
    """Decided: a duplicate session holds no dialog and no message, so it is retried."""
    axp = ScriptedAxp(answer_for, [httpx.ReadTimeout("slow", request=REQUEST)])
    async with client(axp) as c:
        await c.create_session(customer_identifiers={"emailAddresses": ["a@b.test"]})
    assert len(axp.api_requests) == 2


async def test_401_renews_the_token_once_and_repeats_the_call() -> None:
    axp = ScriptedAxp(answer_for, [problem(401, "Unauthorized")])
    async with client(axp) as c:
        await c.send_message(ENGAGEMENT_ID, session_id=SESSION_ID, dialog_id=DIALOG_ID, body="x")
    assert [r.headers["authorization"] for r in axp.api_requests] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]
    assert len(axp.token_requests) == 2


async def test_second_401_is_an_auth_error() -> None:
    axp = ScriptedAxp(lambda r: problem(401, "Unauthorized", detail="invalid appkey"))
    async with client(axp) as c:
        with pytest.raises(AxpAuthError, match="invalid appkey"):
            await c.get_session(SESSION_ID)
    assert len(axp.api_requests) == 2
    assert len(axp.token_requests) == 2


async def test_retried_delete_that_finds_the_session_gone_is_done() -> None:
    axp = ScriptedAxp(lambda r: problem(404), [problem(503)])
    async with client(axp) as c:
        await c.delete_session(SESSION_ID, "USER_INACTIVE")
        with pytest.raises(AxpNotFound):  # a first attempt's 404 is still reported
            await c.delete_session(SESSION_ID, "USER_INACTIVE")


async def test_unavailable_token_endpoint_is_retried_within_the_call() -> None:
    answers: list[httpx.Response] = [problem(503)]

    def handler(request: httpx.Request) -> httpx.Response:
        if "openid-connect" in request.url.path:
            return (
                answers.pop(0)
                if answers
                else httpx.Response(200, json={"access_token": "tok-ok", "expires_in": 900})
            )
        return ok_session(request)

    clock = FakeClock()
    async with AxpClient(settings(), transport=httpx.MockTransport(handler), clock=clock,
                         sleep=FakeSleep(clock)) as c:  # fmt: skip
        await c.get_session(SESSION_ID)
        assert c.tokens.requests == 2


async def test_logs_carry_no_token_secret_url_secret_or_message_text() -> None:
    axp = ScriptedAxp(answer_for, [problem(503), problem(401)])
    async with client(axp) as c:
        with capture_logs() as logs:
            await call_all(c)
            await c.send_message(ENGAGEMENT_ID, session_id=SESSION_ID, dialog_id=DIALOG_ID,
                                 body="my secret love letter")  # fmt: skip
    text = repr(logs)
    assert "axp.retry" in text
    for secret in ("tok-1", "tok-2", "emulator-client-secret", "emulator-app-key",
                   CALLBACK_SECRET, "my secret love letter", "hello"):  # fmt: skip
        assert secret not in text


async def test_attempts_are_counted_by_operation_and_status_in_the_given_registry() -> None:
    registry = CollectorRegistry()
    axp = ScriptedAxp(ok_session, [problem(503), httpx.ReadTimeout("slow", request=REQUEST)])
    clock = FakeClock()
    async with AxpClient(
        settings(), transport=axp.transport, clock=clock, sleep=FakeSleep(clock), registry=registry
    ) as c:
        await c.get_session(SESSION_ID)

    def count(status: str) -> float | None:
        return registry.get_sample_value(
            "axp_chat_axp_call_seconds_count",
            {"operation": "getDigitalSession", "status": status},
        )

    assert count("503") == 1
    assert count("ReadTimeout") == 1
    assert count("200") == 1
