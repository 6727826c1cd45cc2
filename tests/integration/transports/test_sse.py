"""`GET /v1/sse` over real HTTP: resume points, tokens, heartbeats, gaps and the end."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from axp_chat_connector.transports.limits import TransportLimits
from tests.integration.transports.conftest import TIMEOUT, eventually, running
from tests.sse_stream import SseMessage, sse_messages

pytestmark = pytest.mark.timeout(60)


class Stream:
    """An open event stream: its response and its messages, read one at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._messages = sse_messages(response.aiter_lines())

    async def next(self) -> SseMessage:
        return await asyncio.wait_for(anext(self._messages), TIMEOUT)

    async def next_event(self) -> tuple[str | None, dict[str, Any]]:
        """The next message that carries data (pings skipped): (its id, its JSON)."""
        while True:
            message = await self.next()
            if message.data is not None:
                return message.id, json.loads(message.data)

    async def ended(self) -> bool:
        try:
            await self.next_event()
        except StopAsyncIteration:
            return True
        return False


@contextlib.asynccontextmanager
async def stream(
    http: httpx.AsyncClient, *, headers: dict[str, str] | None = None, **params: Any
) -> AsyncIterator[Stream]:
    async with http.stream("GET", "/v1/sse", params=params, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        opened = Stream(response)
        assert (await opened.next()).retry == 2000
        yield opened


def bearer(session: str) -> dict[str, str]:
    return {"Authorization": f"Bearer tok-{session}"}


async def test_durable_events_arrive_with_their_seq_as_id_in_order() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        for _ in range(2):
            await env.service.append(session)
        async with stream(http, headers=bearer(session)) as events:
            headers = events.response.headers
            assert headers["content-type"] == "text/event-stream"
            assert headers["cache-control"] == "no-store"
            assert headers["x-accel-buffering"] == "no"
            assert [(await events.next_event())[0] for _ in range(2)] == ["1", "2"]
            await eventually(lambda: env.service.live(session) == 1)
            await env.service.append(session, text="live")
            seq, event = await events.next_event()
            assert (seq, event["seq"], event["text"]) == ("3", 3, "live")
        await eventually(lambda: env.service.live(session) == 0)
        assert len(env.app.hub) == 0


async def test_last_event_id_is_the_resume_point_before_after() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        for _ in range(4):
            await env.service.append(session)
        async with stream(http, headers=bearer(session), after=1) as events:
            assert (await events.next_event())[0] == "2"
        assert env.metric("axp_chat_resumes_total", transport="sse") == 0
        resumed = {**bearer(session), "Last-Event-ID": "3"}
        async with stream(http, headers=resumed, after=0) as events:
            assert (await events.next_event())[0] == "4"
        assert env.metric("axp_chat_resumes_total", transport="sse") == 1  # a reconnect


async def test_the_token_may_come_in_the_query_for_event_source() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        await env.service.append(session)
        async with stream(http, token=f"tok-{session}") as events:
            assert (await events.next_event())[0] == "1"


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({}, {}),
        ({}, {"token": "forged"}),
        ({"Authorization": "Bearer forged"}, {}),
        ({"Authorization": "Basic abc"}, {}),
    ],
    ids=["none", "forged-query", "forged-bearer", "not-bearer"],
)
async def test_a_missing_or_bad_token_is_a_401_problem(
    headers: dict[str, str], params: dict[str, str]
) -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        response = await http.get("/v1/sse", headers=headers, params=params)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "unauthorized"
        assert "forged" not in response.text
        assert len(env.app.hub) == 0


async def test_the_stream_ends_after_session_ended_and_a_new_one_is_404() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        async with stream(http, headers=bearer(session)) as events:
            await eventually(lambda: env.service.live(session) == 1)
            await env.service.append(session, "session.ended", reason="USER_CLOSED")
            seq, event = await events.next_event()
            assert (seq, event["type"]) == ("1", "session.ended")
            assert await events.ended()
        response = await http.get("/v1/sse", headers=bearer(session))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


async def test_a_quiet_stream_carries_ping_comments_every_heartbeat() -> None:
    limits = TransportLimits(heartbeat=0.1, recheck_seconds=0)
    async with running(limits) as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        async with stream(http, headers=bearer(session)) as events:
            for _ in range(2):
                assert await events.next() == SseMessage(comment="ping")
            await env.service.append(session)
            assert (await events.next_event())[0] == "1"


async def test_a_gap_is_a_data_frame_and_delivery_goes_on_from_the_oldest() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        for _ in range(6):
            await env.service.append(session)
        env.service.oldest[session] = 4
        async with stream(http, headers=bearer(session), after=1) as events:
            seq, frame = await events.next_event()
            assert seq is None
            assert (frame["type"], frame["code"], frame["seq"]) == ("error", "gap", 4)
            assert "re" not in frame
            assert [(await events.next_event())[0] for _ in range(3)] == ["4", "5", "6"]
        assert env.metric("axp_chat_gaps_total", transport="sse") == 1


async def test_ephemeral_events_carry_no_id() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        async with stream(http, headers=bearer(session)) as events:
            await eventually(lambda: len(env.app.hub.members(session)) == 1)
            await env.bus.publish_ephemeral(session, {"type": "typing", "from": {"id": "ag"}})
            assert await events.next_event() == (None, {"type": "typing", "from": {"id": "ag"}})
            await env.service.append(session)
            assert (await events.next_event())[0] == "1"


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({}, {"after": str(2**63)}),
        ({}, {"after": "-1"}),
        ({"Last-Event-ID": str(2**63)}, {}),
        ({"Last-Event-ID": "abc"}, {"after": "1"}),
    ],
    ids=["after-2^63", "after-negative", "last-event-id-2^63", "last-event-id-text"],
)
async def test_every_resume_point_is_bounded(
    headers: dict[str, str], params: dict[str, str]
) -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        session = env.service.new_session()
        response = await http.get("/v1/sse", headers={**bearer(session), **headers}, params=params)
        assert response.status_code == 400
        assert response.json()["code"] == "bad_request"
        assert env.service.live(session) == 0


async def test_origin_outside_the_allow_list_is_refused_with_403() -> None:
    limits = TransportLimits(allowed_origins=frozenset({"https://shop.example"}), recheck_seconds=0)
    async with running(limits) as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        evil = {**bearer(session), "Origin": "https://evil.example"}
        response = await http.get("/v1/sse", headers=evil)
        assert response.status_code == 403
        good = {**bearer(session), "Origin": "https://shop.example"}
        async with stream(http, headers=good) as events:
            allowed = events.response.headers["access-control-allow-origin"]
            assert allowed == "https://shop.example"
        preflight = await http.options(
            "/v1/sse",
            headers={
                "Origin": "https://shop.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization,last-event-id",
            },
        )
        assert preflight.status_code == 200


async def test_a_stream_is_dropped_as_soon_as_its_client_leaves() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        async with stream(http, headers=bearer(session)):
            await eventually(lambda: len(env.app.hub.members(session)) == 1)
            assert env.app.sse.streams == 1
        await eventually(lambda: len(env.app.hub) == 0)
        await eventually(lambda: env.service.live(session) == 0)
        assert env.app.sse.streams == 0


async def test_streams_and_held_polls_of_a_session_are_bounded_together() -> None:
    limits = TransportLimits(max_held_per_session=2, recheck_seconds=0)
    async with running(limits) as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        other = env.service.new_session()
        async with stream(http, headers=bearer(session)), stream(http, headers=bearer(session)):
            response = await http.get("/v1/sse", headers=bearer(session))
            assert response.status_code == 429
            assert response.json()["code"] == "rate_limited"
            assert int(response.headers["retry-after"]) >= 1
            response = await http.get(
                "/v1/poll/events", params={"wait": 0}, headers=bearer(session)
            )
            assert response.status_code == 429
            async with stream(http, headers=bearer(other)):  # another session is not limited
                pass
        response = await http.get("/v1/poll/events", params={"wait": 0}, headers=bearer(session))
        assert response.status_code == 200
        assert len(env.app.sse.holds) == 0
