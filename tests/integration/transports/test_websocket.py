"""`/v1/ws` over real sockets: binding, answers, events, errors and close codes."""

from __future__ import annotations

import asyncio
import json

import pytest
from structlog.testing import capture_logs
from websockets.exceptions import InvalidStatus

from axp_chat_connector.errors import StoreUnavailable
from axp_chat_connector.protocol.codec import encode
from axp_chat_connector.transports.limits import TransportLimits
from tests.integration.transports.conftest import (
    TIMEOUT,
    call,
    closed_with,
    eventually,
    login,
    open_ws,
    recv,
    running,
)

pytestmark = pytest.mark.timeout(60)


async def test_login_binds_and_events_follow_in_seq_order() -> None:
    async with running() as env, open_ws(env.ws_url) as ws:
        answer = await login(ws)
        assert answer["re"] == "l1"
        session = answer["sessionId"]
        await eventually(lambda: env.service.live(session) == 1)
        for n in range(5):
            await env.service.append(session, text=f"m{n}")
        seqs = [(await recv(ws))["seq"] for _ in range(5)]
        assert seqs == [1, 2, 3, 4, 5]


async def test_resume_sends_the_answer_then_only_events_after_the_cursor() -> None:
    async with running() as env:
        session = env.service.new_session()
        for _ in range(4):
            await env.service.append(session)
        async with open_ws(env.ws_url) as ws:
            answer = await call(
                ws, {"type": "resume", "id": "r", "token": f"tok-{session}", "after": 2}
            )
            assert answer == {
                "type": "ok",
                "re": "r",
                "sessionId": session,
                "seq": 4,
                "token": f"tok-{session}",
            }
            assert [(await recv(ws))["seq"] for _ in range(2)] == [3, 4]
            await env.service.append(session)
            assert (await recv(ws))["seq"] == 5
            # nothing else was sent: the next frame is the answer to a ping
            assert await call(ws, {"type": "ping", "id": "p"}) == {"type": "ok", "re": "p"}


async def test_two_connections_of_a_session_each_get_every_event_once() -> None:
    async with running() as env:
        session = env.service.new_session()
        token = f"tok-{session}"
        async with open_ws(env.ws_url) as a, open_ws(env.ws_url) as b:
            for ws, rid in ((a, "ra"), (b, "rb")):
                answer = await call(ws, {"type": "resume", "id": rid, "token": token, "after": 0})
                assert answer["type"] == "ok"
            await eventually(lambda: env.service.live(session) == 2)
            assert len(env.app.hub.members(session)) == 2
            for _ in range(50):
                await env.service.append(session)
            for ws in (a, b):
                got = [(await recv(ws))["seq"] for _ in range(50)]
                assert got == list(range(1, 51))
                assert await call(ws, {"type": "ping", "id": "p"}) == {"type": "ok", "re": "p"}


async def test_a_command_is_answered_and_its_event_reaches_every_connection() -> None:
    async with running() as env, open_ws(env.ws_url) as a, open_ws(env.ws_url) as b:
        session = (await login(a))["sessionId"]
        await call(b, {"type": "resume", "id": "r", "token": f"tok-{session}", "after": 0})
        await a.send(json.dumps({"type": "send", "id": "c1", "text": "hello"}))
        frames = [await recv(a), await recv(a)]
        answer = next(f for f in frames if f["type"] == "ok")
        event = next(f for f in frames if f["type"] == "message")
        assert answer == {"type": "ok", "re": "c1", "status": "accepted"}
        assert event["clientMessageId"] == "c1"
        assert event["seq"] == 1
        assert (await recv(b))["seq"] == 1


async def test_ephemeral_events_reach_only_the_connections_open_now() -> None:
    async with running() as env:
        async with open_ws(env.ws_url) as a:
            session = (await login(a))["sessionId"]
            await eventually(lambda: len(env.app.hub.members(session)) == 1)
            await env.bus.publish_ephemeral(session, {"type": "typing", "from": {"id": "ag"}})
            assert (await recv(a)) == {"type": "typing", "from": {"id": "ag"}}
        async with open_ws(env.ws_url) as b:
            await call(b, {"type": "resume", "id": "r", "token": f"tok-{session}", "after": 0})
            await env.service.append(session)
            assert (await recv(b))["seq"] == 1  # no typing left over for it


async def test_commands_before_binding_are_unauthorized_and_the_connection_stays() -> None:
    async with running() as env, open_ws(env.ws_url) as ws:
        answer = await call(ws, {"type": "ping", "id": "p1"})
        assert answer["type"] == "error"
        assert answer["code"] == "unauthorized"
        assert answer["re"] == "p1"
        await login(ws)
        assert await call(ws, {"type": "ping", "id": "p2"}) == {"type": "ok", "re": "p2"}
        again = await call(ws, {"type": "login", "id": "l2", "idToken": "jwt"})
        assert again["code"] == "invalid_state"
        assert len(env.service.logs) == 1


async def test_bad_frames_get_bad_request_and_the_connection_stays() -> None:
    async with running() as env, open_ws(env.ws_url) as ws:
        await login(ws)
        await ws.send("{not json")
        frame = await recv(ws)
        assert (frame["type"], frame["code"]) == ("error", "bad_request")
        assert "re" not in frame
        frame = await call(ws, {"type": "dance", "id": "d1"})
        assert (frame["code"], frame["re"]) == ("bad_request", "d1")
        frame = await call(ws, {"type": "send", "text": "no id"})
        assert frame["code"] == "bad_request"
        assert any(item["field"] == "id" for item in frame["detail"])
        await ws.send(b'{"type":"ping","id":"b"}')
        frame = await recv(ws)
        assert frame["code"] == "bad_request"
        await ws.send("[1, 2]")
        assert (await recv(ws))["code"] == "bad_request"
        assert await call(ws, {"type": "ping", "id": "p"}) == {"type": "ok", "re": "p"}
        assert [kind for kind, _ in env.service.executed] == ["login", "ping"]


async def test_an_ack_without_id_gets_no_answer() -> None:
    async with running() as env, open_ws(env.ws_url) as ws:
        await login(ws)
        await ws.send(json.dumps({"type": "ack", "seq": 0}))
        assert await call(ws, {"type": "ping", "id": "p"}) == {"type": "ok", "re": "p"}
        assert [kind for kind, _ in env.service.executed] == ["login", "ack", "ping"]


async def test_an_oversize_frame_closes_4413_and_other_clients_are_unaffected() -> None:
    limits = TransportLimits(max_frame_bytes=1024, recheck_seconds=0)
    async with running(limits) as env, open_ws(env.ws_url) as other, open_ws(env.ws_url) as ws:
        session = (await login(other))["sessionId"]
        await login(ws, "l2")
        await ws.send(json.dumps({"type": "send", "id": "big", "text": "x" * 1500}))
        assert await closed_with(ws) == 4413
        await env.service.append(session)
        assert (await recv(other))["seq"] == 1
        assert await call(other, {"type": "ping", "id": "p"}) == {"type": "ok", "re": "p"}


@pytest.mark.parametrize(
    "text",
    [
        "x" * 1025,  # one byte over
        "x" * 2049,  # over twice the limit: uvicorn's own cap is never what answers
        "x" * 300_000,
        "€" * 400,  # 400 characters, 1200 bytes
    ],
    ids=["just-over", "twice-over", "far-over", "multibyte"],
)
async def test_every_oversize_frame_closes_4413_whatever_its_size(text: str) -> None:
    limits = TransportLimits(max_frame_bytes=1024, recheck_seconds=0)
    async with running(limits) as env, open_ws(env.ws_url, max_size=None) as ws:
        await login(ws)
        await ws.send(json.dumps({"type": "send", "id": "big", "text": text}, ensure_ascii=False))
        assert await closed_with(ws) == 4413


async def test_an_oversize_message_in_fragments_closes_4413() -> None:
    limits = TransportLimits(max_frame_bytes=1024, recheck_seconds=0)
    async with running(limits) as env, open_ws(env.ws_url) as ws:
        await login(ws)
        await ws.send(["x" * 600, "x" * 600, "x" * 600])
        assert await closed_with(ws) == 4413


async def test_a_frame_of_exactly_the_limit_is_read() -> None:
    limits = TransportLimits(max_frame_bytes=1024, recheck_seconds=0)
    async with running(limits) as env, open_ws(env.ws_url) as ws:
        await login(ws)
        frame = json.dumps({"type": "ping", "id": "p"})
        frame = frame[:-1] + " " * (1024 - len(frame)) + "}"
        await ws.send(frame)
        assert await recv(ws) == {"type": "ok", "re": "p"}


async def test_invalid_utf8_in_a_text_frame_closes_1007() -> None:
    async with running() as env, open_ws(env.ws_url) as ws:
        await login(ws)
        await ws.send(b'{"type":"ping","id":"\xff\xfe"}', text=True)
        assert await closed_with(ws) == 1007
        await eventually(lambda: env.app.websocket.connections == 0)


async def test_no_login_within_the_bind_timeout_closes_4408() -> None:
    limits = TransportLimits(bind_timeout=0.3 * TIMEOUT / 5, recheck_seconds=0)
    async with running(limits) as env, open_ws(env.ws_url) as idle, open_ws(env.ws_url) as ws:
        session = (await login(ws))["sessionId"]
        assert await closed_with(idle) == 4408
        # the bound connection outlives the deadline
        await env.service.append(session)
        assert (await recv(ws))["seq"] == 1


async def test_a_flood_gets_rate_limited_then_closed_4429() -> None:
    limits = TransportLimits(
        commands_per_second=1, command_burst=3, flood_strikes=5, recheck_seconds=0
    )
    async with running(limits) as env, open_ws(env.ws_url) as ws, open_ws(env.ws_url) as calm:
        await login(calm, "c")
        await login(ws)  # one token used
        codes = []
        for n in range(6):
            await ws.send(json.dumps({"type": "ping", "id": f"p{n}"}))
        for _ in range(6):
            frame = await recv(ws)
            codes.append(frame.get("code", "ok"))
            if frame.get("code") == "rate_limited":
                assert frame["retryAfter"] >= 1
                assert frame["retryable"] is True
        assert codes[:2] == ["ok", "ok"]
        assert codes[2:] == ["rate_limited"] * 4
        await ws.send(json.dumps({"type": "ping", "id": "last"}))
        assert await closed_with(ws) == 4429
        assert await call(calm, {"type": "ping", "id": "p"}) == {"type": "ok", "re": "p"}
        assert env.app.websocket.connections == 1


async def test_an_answer_with_a_close_code_is_sent_then_the_socket_closes() -> None:
    async with running() as env, open_ws(env.ws_url) as ws:
        session = (await login(ws))["sessionId"]
        assert await call(ws, {"type": "logout", "id": "bye"}) == {"type": "ok", "re": "bye"}
        assert await closed_with(ws) == 4409
        await eventually(lambda: env.service.live(session) == 0)
        assert env.service.opened[session] == 1
        assert len(env.app.hub) == 0


async def test_a_connection_that_could_not_join_its_session_is_not_counted_as_leaving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with running() as env, open_ws(env.ws_url) as ws:

        async def bus_down(*args: object) -> None:
            raise StoreUnavailable()

        monkeypatch.setattr(env.bus, "subscribe", bus_down)
        session = (await login(ws))["sessionId"]
        assert await closed_with(ws) == StoreUnavailable.close_code
        await eventually(lambda: env.app.websocket.connections == 0)
        assert (env.service.opened.get(session), env.service.closed.get(session)) == (None, None)
        assert len(env.app.hub) == 0


async def test_disconnect_unregisters_and_tells_the_service() -> None:
    async with running() as env:
        async with open_ws(env.ws_url) as ws:
            session = (await login(ws))["sessionId"]
            await eventually(lambda: env.service.live(session) == 1)
            assert env.app.websocket.connections == 1
        await eventually(lambda: env.service.closed.get(session) == 1)
        assert len(env.app.hub) == 0
        assert env.app.websocket.connections == 0
        await env.service.append(session)  # nobody to wake: nothing breaks


async def test_origin_outside_the_allow_list_is_refused_with_403() -> None:
    limits = TransportLimits(allowed_origins=frozenset({"https://shop.example"}), recheck_seconds=0)
    async with running(limits) as env:
        with pytest.raises(InvalidStatus) as caught:
            async with open_ws(env.ws_url, origin="https://evil.example"):
                pass
        assert caught.value.response.status_code == 403
        async with open_ws(env.ws_url, origin="https://shop.example") as ws:
            await login(ws)
        async with open_ws(env.ws_url) as ws:  # no Origin: not a browser
            await login(ws)


async def test_a_gap_while_pumping_is_reported_and_delivery_goes_on_from_the_oldest() -> None:
    async with running() as env:
        session = env.service.new_session()
        for _ in range(6):
            await env.service.append(session)
        env.service.oldest[session] = 4
        async with open_ws(env.ws_url) as ws:
            await call(ws, {"type": "resume", "id": "r", "token": f"tok-{session}", "after": 1})
            frame = await recv(ws)
            assert (frame["type"], frame["code"], frame["seq"]) == ("error", "gap", 4)
            assert "re" not in frame
            assert [(await recv(ws))["seq"] for _ in range(3)] == [4, 5, 6]
        assert env.metric("axp_chat_gaps_total", transport="websocket") == 1
        assert env.metric("axp_chat_resumes_total", transport="websocket") == 1
        assert env.metric("axp_chat_replayed_events_total", transport="websocket") == 5  # 2..6


async def test_the_hub_recheck_delivers_what_a_lost_notice_announced() -> None:
    async with running() as env, open_ws(env.ws_url) as ws:
        session = (await login(ws))["sessionId"]
        await eventually(lambda: len(env.app.hub.members(session)) == 1)
        env.service.logs[session].append({"type": "message", "at": "x", "seq": 1})  # no publish
        assert await env.app.hub.recheck() == 1
        assert (await recv(ws))["seq"] == 1
        assert await env.app.hub.recheck() == 0


async def test_many_events_in_a_burst_arrive_once_each_in_order() -> None:
    limits = TransportLimits(max_events_per_read=7, recheck_seconds=0)
    async with running(limits) as env, open_ws(env.ws_url) as ws:
        session = (await login(ws))["sessionId"]
        await eventually(lambda: env.service.live(session) == 1)
        await asyncio.gather(*(env.service.append(session) for _ in range(100)))
        assert [(await recv(ws))["seq"] for _ in range(100)] == list(range(1, 101))
        assert await call(ws, {"type": "ping", "id": "p"}) == {"type": "ok", "re": "p"}


async def test_each_event_is_encoded_once_for_all_connections_of_a_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encoded: list[object] = []

    def counting(frame: dict[str, object]) -> str:
        encoded.append(frame.get("seq", frame["type"]))
        return encode(frame)

    monkeypatch.setattr("axp_chat_connector.transports.hub.encode", counting)
    async with running() as env:
        session = env.service.new_session()
        clients = [open_ws(env.ws_url) for _ in range(3)]
        sockets = [await client.__aenter__() for client in clients]
        try:
            for n, ws in enumerate(sockets):
                await call(
                    ws, {"type": "resume", "id": f"r{n}", "token": f"tok-{session}", "after": 0}
                )
            await eventually(lambda: env.service.live(session) == 3)
            for _ in range(10):
                await env.service.append(session)
            await env.bus.publish_ephemeral(session, {"type": "typing", "from": {"id": "a"}})
            for ws in sockets:
                frames = [await recv(ws) for _ in range(11)]
                assert [f["seq"] for f in frames if "seq" in f] == list(range(1, 11))
            assert sorted(encoded, key=str) == sorted([*range(1, 11), "typing"], key=str)
        finally:
            for client in clients:
                await client.__aexit__(None, None, None)


async def test_a_client_that_stops_reading_is_dropped_and_others_go_on() -> None:
    limits = TransportLimits(slow_consumer_seconds=2.0, recheck_seconds=0)
    with capture_logs() as logs:
        await _slow_and_calm(limits)
    assert any(log["event"] == "ws.slow_consumer" for log in logs)


async def _slow_and_calm(limits: TransportLimits) -> None:
    async with running(limits) as env, open_ws(env.ws_url) as calm:
        slow = await open_ws(env.ws_url, max_queue=1, close_timeout=0.1).__aenter__()
        try:
            session = (await login(slow))["sessionId"]
            await call(calm, {"type": "resume", "id": "r", "token": f"tok-{session}", "after": 0})
            await eventually(lambda: env.service.live(session) == 2)
            got: list[int] = []

            async def read_calm() -> None:
                while True:
                    got.append((await recv(calm, timeout=30))["seq"])

            reader = asyncio.create_task(read_calm())
            big = "x" * 60_000
            for _ in range(300):  # ~18 MB: more than the socket buffers hold
                await env.service.append(session, text=big)
                if env.service.live(session) < 2:
                    break
            await eventually(lambda: env.service.live(session) == 1, timeout=20)
            assert env.app.websocket.connections == 1
            last = len(env.service.logs[session])
            await eventually(lambda: len(got) == last, timeout=20)
            reader.cancel()
            assert got == list(range(1, last + 1))
        finally:
            slow.transport.abort()


async def test_every_connection_closes_4409_after_the_session_ended_event() -> None:
    async with running() as env, open_ws(env.ws_url) as a, open_ws(env.ws_url) as b:
        session = (await login(a))["sessionId"]
        await call(b, {"type": "resume", "id": "r", "token": f"tok-{session}", "after": 0})
        await eventually(lambda: env.service.live(session) == 2)
        await env.service.append(session, "session.ended", reason="USER_INACTIVE")
        for ws in (a, b):
            assert (await recv(ws))["type"] == "session.ended"
            assert await closed_with(ws) == 4409
        await eventually(lambda: env.service.live(session) == 0)


async def test_a_logout_is_answered_before_the_session_ended_close() -> None:
    async with running() as env, open_ws(env.ws_url) as ws:
        session = (await login(ws))["sessionId"]
        await eventually(lambda: env.service.live(session) == 1)
        env.service.end_on_logout = True  # the event is published before the answer is sent
        await ws.send(json.dumps({"type": "logout", "id": "bye"}))
        frames = [await recv(ws), await recv(ws)]
        assert {"type": "ok", "re": "bye"} in frames
        assert any(frame["type"] == "session.ended" for frame in frames)
        assert await closed_with(ws) == 4409
