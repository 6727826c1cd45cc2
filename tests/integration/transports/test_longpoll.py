"""Long polling over real HTTP: command batches, held polls, tokens, limits."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from axp_chat_connector.transports.limits import TransportLimits
from tests.integration.transports.conftest import TIMEOUT, eventually, running
from tests.servers import TIME_SCALE

pytestmark = pytest.mark.timeout(60)


def bearer(session: str) -> dict[str, str]:
    return {"Authorization": f"Bearer tok-{session}"}


async def test_login_needs_no_token_and_a_batch_is_answered_in_order() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        response = await http.post(
            "/v1/poll/commands", json={"type": "login", "id": "l", "idToken": "t"}
        )
        assert response.status_code == 200
        [answer] = response.json()
        session = answer["sessionId"]
        batch = [
            {"type": "ping", "id": "p1"},
            {"type": "ack", "seq": 0},
            {"type": "nonsense", "id": "n"},
            "not an object",
            {"type": "send", "id": "s1", "text": "hi"},
        ]
        response = await http.post("/v1/poll/commands", json=batch, headers=bearer(session))
        answers = response.json()
        assert answers[0] == {"type": "ok", "re": "p1"}
        assert answers[1] == {"type": "ok"}
        assert (answers[2]["code"], answers[2]["re"]) == ("bad_request", "n")
        assert answers[3]["code"] == "bad_request"
        assert answers[4] == {"type": "ok", "re": "s1", "status": "accepted"}
        assert env.service.executed[1:] == [("ping", session), ("ack", session), ("send", session)]


async def test_a_login_binds_the_rest_of_its_batch() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        batch = [{"type": "login", "id": "l", "idToken": "t"}, {"type": "start", "id": "st"}]
        login, start = (await http.post("/v1/poll/commands", json=batch)).json()
        assert start == {"type": "ok", "re": "st"}
        assert env.service.executed == [("login", None), ("start", login["sessionId"])]


async def test_a_resume_is_counted_with_the_events_it_will_replay() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        session = env.service.new_session()
        for _ in range(5):
            await env.service.append(session)
        resume = {"type": "resume", "id": "r", "token": f"tok-{session}", "after": 2}
        [answer] = (await http.post("/v1/poll/commands", json=resume)).json()
        assert (answer["type"], answer["seq"]) == ("ok", 5)
        assert env.metric("axp_chat_resumes_total", transport="longpoll") == 1
        assert env.metric("axp_chat_replayed_events_total", transport="longpoll") == 3
        assert env.metric("axp_chat_resumes_total", transport="websocket") == 0


async def test_commands_without_a_session_get_unauthorized_frames() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        [answer] = (await http.post("/v1/poll/commands", json=[{"type": "ping", "id": "p"}])).json()
        assert (answer["code"], answer["re"]) == ("unauthorized", "p")
        assert env.service.executed == []


async def test_a_forged_token_is_refused_with_a_401_problem() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        env.service.new_session()
        for headers in ({"Authorization": "Bearer forged"}, {"Authorization": "Basic abc"}):
            response = await http.post(
                "/v1/poll/commands", json={"type": "ping", "id": "p"}, headers=headers
            )
            assert response.status_code == 401
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "unauthorized"
            assert "forged" not in response.text
            response = await http.get("/v1/poll/events", params={"wait": 0}, headers=headers)
            assert response.status_code == 401
        response = await http.get("/v1/poll/events", params={"wait": 0})
        assert response.status_code == 401
        assert env.service.executed == []


async def test_an_ended_session_is_answered_404() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        session = env.service.new_session()
        env.service.ended.add(session)
        response = await http.get("/v1/poll/events", params={"wait": 0}, headers=bearer(session))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


async def test_batch_and_body_limits() -> None:
    limits = TransportLimits(max_body_bytes=4096, max_frame_bytes=512, recheck_seconds=0)
    async with running(limits) as env, httpx.AsyncClient(base_url=env.url) as http:
        session = env.service.new_session()
        too_many = [{"type": "ping", "id": f"p{n}"} for n in range(21)]
        response = await http.post("/v1/poll/commands", json=too_many, headers=bearer(session))
        assert response.status_code == 400
        assert response.json()["code"] == "bad_request"
        response = await http.post("/v1/poll/commands", json=[], headers=bearer(session))
        assert response.status_code == 400
        as_json = {**bearer(session), "Content-Type": "application/json"}
        response = await http.post("/v1/poll/commands", content=b"{nope", headers=as_json)
        assert response.status_code == 400
        huge = {"type": "send", "id": "h", "text": "x" * 5000}
        response = await http.post("/v1/poll/commands", json=huge, headers=bearer(session))
        assert response.status_code == 413
        assert response.json()["code"] == "too_large"
        big = {"type": "send", "id": "b", "text": "x" * 600}
        [answer] = (await http.post("/v1/poll/commands", json=big, headers=bearer(session))).json()
        assert (answer["code"], answer["re"]) == ("too_large", "b")
        assert env.service.executed == []


async def test_events_are_answered_at_once_when_there_are_some() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        session = env.service.new_session()
        for _ in range(3):
            await env.service.append(session)
        response = await http.get(
            "/v1/poll/events", params={"after": 1, "wait": 25}, headers=bearer(session)
        )
        body = response.json()
        assert [e["seq"] for e in body["events"]] == [2, 3]
        assert body["seq"] == 3
        assert env.service.live(session) == 0
        assert env.service.opened[session] == 1


async def test_a_held_poll_is_released_as_soon_as_an_event_arrives() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        poll = asyncio.create_task(
            http.get("/v1/poll/events", params={"after": 0, "wait": 20}, headers=bearer(session))
        )
        await eventually(lambda: len(env.app.hub.members(session)) == 1)
        assert env.service.live(session) == 1
        started = time.monotonic()
        await env.service.append(session, text="hi")
        response = await asyncio.wait_for(poll, TIMEOUT)
        assert time.monotonic() - started < 5  # far from the 20 s wait
        body = response.json()
        assert [(e["seq"], e["text"]) for e in body["events"]] == [(1, "hi")]
        assert body["seq"] == 1
        assert len(env.app.hub) == 0
        assert env.service.live(session) == 0


async def test_a_held_poll_without_events_answers_an_empty_list_after_wait() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        session = env.service.new_session()
        await env.service.append(session)
        started = time.monotonic()
        response = await http.get(
            "/v1/poll/events", params={"after": 1, "wait": 0.3}, headers=bearer(session)
        )
        assert time.monotonic() - started >= 0.3
        assert response.json() == {"events": [], "seq": 1}


async def test_ephemeral_events_are_included_in_a_held_poll_only() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        await env.bus.publish_ephemeral(session, {"type": "typing", "from": {"id": "lost"}})
        poll = asyncio.create_task(
            http.get("/v1/poll/events", params={"after": 0, "wait": 20}, headers=bearer(session))
        )
        await eventually(lambda: len(env.app.hub.members(session)) == 1)
        await env.bus.publish_ephemeral(session, {"type": "typing", "from": {"id": "ag"}})
        body = (await asyncio.wait_for(poll, TIMEOUT)).json()
        assert body == {"events": [{"type": "typing", "from": {"id": "ag"}}], "seq": 0}


async def test_a_gap_is_answered_410_with_the_oldest_kept_seq() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        session = env.service.new_session()
        for _ in range(5):
            await env.service.append(session)
        env.service.oldest[session] = 3
        response = await http.get("/v1/poll/events", params={"after": 0}, headers=bearer(session))
        assert response.status_code == 410
        problem = response.json()
        assert (problem["code"], problem["seq"]) == ("gap", 3)
        assert env.service.live(session) == 0
        assert env.metric("axp_chat_gaps_total", transport="longpoll") == 1


async def test_bad_query_parameters_are_a_400_problem() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        session = env.service.new_session()
        for params in ({"after": "x"}, {"after": -1}, {"wait": "nan"}, {"wait": -2}):
            response = await http.get("/v1/poll/events", params=params, headers=bearer(session))
            assert response.status_code == 400, params


@pytest.mark.parametrize(
    "after",
    [str(2**63), str(2**53), "9" * 5000, "1e3", "٣"],
    ids=["2^63", "2^53", "long", "exp", "arabic"],
)
async def test_every_number_in_the_query_is_bounded(after: str) -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        session = env.service.new_session()
        response = await http.get(
            "/v1/poll/events", params={"after": after, "wait": 0}, headers=bearer(session)
        )
        assert response.status_code == 400
        assert response.json()["code"] == "bad_request"
        assert env.service.live(session) == 0


async def test_the_largest_seq_is_a_valid_cursor() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        session = env.service.new_session()
        response = await http.get(
            "/v1/poll/events", params={"after": 2**53 - 1, "wait": 0}, headers=bearer(session)
        )
        assert response.json() == {"events": [], "seq": 0}


async def test_origin_outside_the_allow_list_is_refused_with_403() -> None:
    limits = TransportLimits(allowed_origins=frozenset({"https://shop.example"}), recheck_seconds=0)
    async with running(limits) as env, httpx.AsyncClient(base_url=env.url) as http:
        login = {"type": "login", "id": "l", "idToken": "t"}
        evil = {"Origin": "https://evil.example"}
        response = await http.post("/v1/poll/commands", json=login, headers=evil)
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
        good = {"Origin": "https://shop.example"}
        response = await http.post("/v1/poll/commands", json=login, headers=good)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://shop.example"
        session = response.json()[0]["sessionId"]
        response = await http.get(
            "/v1/poll/events", params={"wait": 0}, headers={**evil, **bearer(session)}
        )
        assert response.status_code == 403
        preflight = await http.options(
            "/v1/poll/commands",
            headers={
                **good,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.status_code == 200


async def test_a_flood_gets_rate_limited_frames_then_429() -> None:
    limits = TransportLimits(
        commands_per_second=1, command_burst=2, flood_strikes=3, recheck_seconds=0
    )
    async with running(limits) as env, httpx.AsyncClient(base_url=env.url) as http:
        session = env.service.new_session()
        batch = [{"type": "ping", "id": f"p{n}"} for n in range(5)]
        answers = (await http.post("/v1/poll/commands", json=batch, headers=bearer(session))).json()
        assert [a.get("code", "ok") for a in answers] == ["ok", "ok"] + ["rate_limited"] * 3
        response = await http.post("/v1/poll/commands", json=batch, headers=bearer(session))
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        other = env.service.new_session()
        response = await http.post("/v1/poll/commands", json=batch[:1], headers=bearer(other))
        assert response.json() == [{"type": "ok", "re": "p0"}]


async def test_refusals_spend_no_tokens_so_a_steady_client_recovers_from_a_burst() -> None:
    """Issue 15.11: a burst of logins from one address, then requests just below the rate."""
    rate, burst = 5.0, 4
    limits = TransportLimits(
        commands_per_second=rate, command_burst=burst, flood_strikes=3, recheck_seconds=0
    )
    login = {"type": "login", "id": "l", "idToken": "t"}
    async with running(limits) as env, httpx.AsyncClient(base_url=env.url) as http:
        answers = (await http.post("/v1/poll/commands", json=[login] * 8)).json()
        assert [a["type"] for a in answers].count("ok") == burst
        started = time.monotonic()
        statuses: list[int] = []
        while 200 not in statuses:  # the bucket is full again after burst / rate = 0.8 s
            assert time.monotonic() - started < 3 * TIME_SCALE, statuses
            response = await http.post("/v1/poll/commands", json=login)
            statuses.append(response.status_code)
            next_request = started + len(statuses) / (rate * 0.95)
            await asyncio.sleep(max(0.0, next_request - time.monotonic()))
        assert statuses[0] == 429
        assert set(statuses) == {429, 200}


async def test_an_answer_body_is_compact_json() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        session = env.service.new_session()
        response = await http.post(
            "/v1/poll/commands", json={"type": "ping", "id": "é"}, headers=bearer(session)
        )
        assert response.headers["content-type"].startswith("application/json")
        assert json.loads(response.content) == [{"type": "ok", "re": "é"}]


async def test_a_held_poll_is_dropped_as_soon_as_its_client_leaves() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        session = env.service.new_session()
        poll = asyncio.create_task(
            http.get("/v1/poll/events", params={"after": 0, "wait": 25}, headers=bearer(session))
        )
        await eventually(lambda: len(env.app.hub.members(session)) == 1)
        poll.cancel()  # the client gives up: httpx closes the connection
        with pytest.raises(asyncio.CancelledError):
            await poll
        await eventually(lambda: len(env.app.hub) == 0)
        assert env.service.live(session) == 0


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
async def test_a_command_post_that_is_not_declared_json_is_refused_415(
    content_type: str | None,
) -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        headers = {} if content_type is None else {"Content-Type": content_type}
        login = json.dumps({"type": "login", "id": "l", "idToken": "t"})
        response = await http.post("/v1/poll/commands", content=login, headers=headers)
        assert response.status_code == 415
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "bad_request"
        assert env.service.executed == []
        declared = {"Content-Type": "application/json; charset=utf-8"}
        response = await http.post("/v1/poll/commands", content=login, headers=declared)
        assert response.status_code == 200
