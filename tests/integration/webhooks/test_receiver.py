"""The webhook receiver over real HTTP: authentication, limits, parsing, answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from axp_chat_connector.errors import Conflict, StoreUnavailable
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.security_log import SecurityLog
from axp_chat_connector.webhooks.receiver import WebhookReceiver
from tests.servers import serve_app

SECRET = "s3cr3t-callback-value-that-is-long-enough-000"
EVENT = {
    "eventType": "MESSAGES",
    "correlationId": "c-1",
    "eventDate": "2026-11-25T10:00:00.000Z",
    "accountId": "ABCDEF",
    "channelProviderId": "axp-chat-connector",
}


class Handler:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail = False
        self.raises: Exception | None = None

    async def __call__(self, body: dict[str, Any], started: float) -> str:
        if self.fail:
            raise StoreUnavailable("store down")
        if self.raises is not None:
            raise self.raises
        self.bodies.append(body)
        return "appended"


@pytest.fixture
def handler() -> Handler:
    return Handler()


def raw(app: ASGIApp) -> ASGIApp:
    """`app` served alone: the server's lifespan messages are answered here."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await app(scope, receive, send)

    return serve


@pytest.fixture(params=["route", "asgi"])
async def base(handler: Handler, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The receiver as a Starlette route, and as the connector serves it (the raw app)."""
    receiver = WebhookReceiver(
        secrets=["an-old-secret-being-rotated-out-0000000000", SECRET],
        account_id="ABCDEF",
        channel_provider_id="axp-chat-connector",
        handler=handler,
        max_bytes=1024 * 1024,
    )
    app = Starlette(routes=[receiver.route()]) if request.param == "route" else raw(receiver.asgi())
    async with serve_app(app) as url:
        yield url


async def test_the_raw_app_answers_other_methods_405_and_sub_paths_404(
    handler: Handler,
) -> None:
    receiver = WebhookReceiver(
        secrets=[SECRET],
        account_id="ABCDEF",
        channel_provider_id="axp-chat-connector",
        handler=handler,
    )
    async with (
        serve_app(raw(receiver.asgi(["https://shop.example"]))) as url,
        httpx.AsyncClient() as http,
    ):
        got = await http.get(f"{url}/v1/axp/callback/{SECRET}")
        assert got.status_code == 405
        assert got.headers["allow"] == "POST"
        assert got.headers["content-type"] == "application/problem+json"
        deeper = await http.post(f"{url}/v1/axp/callback/{SECRET}/more", json=EVENT)
        assert deeper.status_code == 404
        ok = await http.post(f"{url}/v1/axp/callback/{SECRET}", json=EVENT)
        assert ok.status_code == 200
        assert ok.json() == {"outcome": "appended"}
        assert ok.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors https://shop.example" in ok.headers["content-security-policy"]
    assert len(handler.bodies) == 1


async def post(base: str, body: bytes | dict[str, Any], secret: str = SECRET) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{base}/v1/axp/callback/{secret}",
            content=content,
            headers={"content-type": "application/json"},
        )


async def test_an_event_with_the_secret_is_handed_over_and_answered_200(
    base: str, handler: Handler
) -> None:
    response = await post(base, EVENT)
    assert response.status_code == 200
    assert handler.bodies == [EVENT]


async def test_both_secrets_work_while_one_is_rotated(base: str, handler: Handler) -> None:
    response = await post(base, EVENT, secret="an-old-secret-being-rotated-out-0000000000")
    assert response.status_code == 200
    assert len(handler.bodies) == 1


async def test_a_wrong_secret_is_404_and_never_logged(base: str, handler: Handler) -> None:
    with structlog.testing.capture_logs() as logs:
        response = await post(base, EVENT, secret="guess-" + SECRET[6:])
    assert response.status_code == 404
    assert handler.bodies == []
    assert all(SECRET[6:] not in json.dumps(entry) for entry in logs)


async def test_wrong_secrets_reach_the_security_log_throttled_with_their_source(
    handler: Handler,
) -> None:
    metrics = Metrics()
    receiver = WebhookReceiver(
        secrets=[SECRET],
        account_id="ABCDEF",
        channel_provider_id="axp-chat-connector",
        handler=handler,
        security=SecurityLog(metrics.security_events),
    )
    async with serve_app(Starlette(routes=[receiver.route()])) as url:
        with structlog.testing.capture_logs() as logs:
            for _ in range(3):
                assert (await post(url, EVENT, secret="guess")).status_code == 404
    kind = {"kind": "bad_callback_secret"}
    assert metrics.registry.get_sample_value("axp_chat_security_events_total", kind) == 3
    assert [(e["event"], e["source"]) for e in logs] == [
        ("security.bad_callback_secret", "127.0.0.1")
    ]


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b'"text"', b"{" * 40 + b"}" * 40, b'{"a":' * 40 + b"1" + b"}" * 40],
)
async def test_malformed_bodies_are_400_and_not_handed_over(
    base: str, handler: Handler, raw: bytes
) -> None:
    response = await post(base, raw)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert handler.bodies == []


async def test_a_body_over_the_limit_is_413(base: str, handler: Handler) -> None:
    big = dict(EVENT, body={"elementText": {"text": "x" * (1024 * 1024 + 10)}})
    response = await post(base, big)
    assert response.status_code == 413
    assert handler.bodies == []


async def test_a_long_message_under_the_limit_passes(base: str, handler: Handler) -> None:
    long = dict(EVENT, body={"elementText": {"text": "x" * 500_000}})
    response = await post(base, long)
    assert response.status_code == 200
    assert len(handler.bodies) == 1


@pytest.mark.parametrize(
    "foreign", [{"channelProviderId": "someone-else"}, {"accountId": "ZZZZZZ"}]
)
async def test_foreign_events_are_answered_200_and_ignored(
    base: str, handler: Handler, foreign: dict[str, str]
) -> None:
    response = await post(base, dict(EVENT, **foreign))
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert handler.bodies == []


async def test_a_store_failure_is_503_so_axp_delivers_again(base: str, handler: Handler) -> None:
    handler.fail = True
    response = await post(base, EVENT)
    assert response.status_code == 503
    handler.fail = False
    assert (await post(base, EVENT)).status_code == 200


@pytest.mark.parametrize(
    "failure",
    [Conflict("the session kept changing"), RuntimeError("a bug"), KeyError("dialogId")],
    ids=["conflict", "bug", "key-error"],
)
async def test_any_handler_failure_is_a_503_problem_logged_with_the_correlation_id(
    base: str, handler: Handler, failure: Exception
) -> None:
    handler.raises = failure
    with structlog.testing.capture_logs() as logs:
        response = await post(base, EVENT)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 503
    assert problem["retryable"] is True
    assert "bug" not in json.dumps(problem)  # no internals on the wire
    assert any(e.get("correlation_id") == EVENT["correlationId"] for e in logs), logs
    handler.raises = None
    assert (await post(base, EVENT)).status_code == 200


async def test_every_post_is_counted_by_result(handler: Handler) -> None:
    results: list[str] = []
    receiver = WebhookReceiver(
        secrets=[SECRET],
        account_id="ABCDEF",
        channel_provider_id="axp-chat-connector",
        handler=handler,
        counted=results.append,
    )
    async with serve_app(Starlette(routes=[receiver.route()])) as url:
        await post(url, EVENT)
        await post(url, EVENT, secret="not-" + SECRET)
        await post(url, b"{not json")
        handler.fail = True
        await post(url, EVENT)
    assert results == ["appended", "unauthorized", "malformed", "store_unavailable"]
