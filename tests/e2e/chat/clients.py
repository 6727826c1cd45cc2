"""Test clients of the connector (WebSocket, SSE, long polling) and of the emulator's agent
API."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Self

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.servers import TIME_SCALE
from tests.sse_stream import sse_messages

Frame = dict[str, Any]
WAIT = 10.0 * TIME_SCALE
_POLL = 0.05
_ids = itertools.count(1)


def new_id(prefix: str = "c") -> str:
    return f"{prefix}{next(_ids)}"


async def wait_for(check: Callable[[], Any], timeout: float = WAIT, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(_POLL)


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = WAIT, what: str = "condition"
) -> Any:
    """Like `wait_for`, for an async check."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(_POLL)


class ChatClient:
    """A customer's connection: answers by `re`, durable events by seq, ephemeral ones apart.
    Subclasses carry the frames (WebSocket, or POSTs and a Server-Sent Events stream)."""

    live: ClassVar[list[ChatClient]] = []
    """Every client opened, so a fixture can close those a failed test left open."""

    def __init__(self) -> None:
        ChatClient.live.append(self)
        self.answers: dict[str, Frame] = {}
        self.events: list[Frame] = []
        self.ephemeral: list[Frame] = []

    async def open(self) -> Self:
        return self

    async def send_raw(self, frame: Frame | str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def received(self, frame: Frame) -> None:
        if frame.get("type") in ("ok", "error") and "re" in frame:
            self.answers[frame["re"]] = frame
        elif "seq" in frame:
            self.events.append(frame)
        else:
            self.ephemeral.append(frame)

    async def command(self, type_: str, *, id_: str | None = None, **fields: Any) -> Frame:
        id_ = id_ or new_id()
        await self.send_raw({"type": type_, "id": id_, **fields})
        found = await wait_for(lambda: self.answers.get(id_), what=f"answer to {type_} {id_}")
        return dict(found)

    async def ok(self, type_: str, **fields: Any) -> Frame:
        answer = await self.command(type_, **fields)
        assert answer["type"] == "ok", answer
        return answer

    async def event(self, predicate: Callable[[Frame], bool], what: str = "event") -> Frame:
        return dict(
            await wait_for(lambda: next((e for e in self.events if predicate(e)), None), what=what)
        )

    def of_type(self, type_: str) -> list[Frame]:
        return [e for e in self.events if e["type"] == type_]


class WsClient(ChatClient):
    """One WebSocket connection."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.url = base_url.replace("http://", "ws://") + "/v1/ws"
        self.closed: int | None = None
        self._conn: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> Self:
        self._conn = await connect(self.url, ping_interval=None, max_size=None)
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._conn is not None
        try:
            async for raw in self._conn:
                self.received(json.loads(raw))
        finally:
            self.closed = self._conn.close_code

    async def send_raw(self, frame: Frame | str) -> None:
        assert self._conn is not None
        await self._conn.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


class SseClient(ChatClient):
    """Commands by `POST /v1/poll/commands`, events from `GET /v1/sse` (as a browser's
    `EventSource`: the token in the query, `Last-Event-ID` on a reconnect)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.http = httpx.AsyncClient(base_url=base_url, timeout=40)
        self.token: str | None = None
        self.last_event_id: str | None = None
        self.ended = False
        """The stream ended (after `session.ended`)."""
        self._reader: asyncio.Task[None] | None = None

    async def send_raw(self, frame: Frame | str) -> None:
        body = frame if isinstance(frame, str) else json.dumps(frame)
        headers = {"Content-Type": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        response = await self.http.post("/v1/poll/commands", content=body, headers=headers)
        assert response.status_code == 200, response.text
        for answer in response.json():
            self.received(answer)
            if answer.get("type") == "ok" and "token" in answer and self._reader is None:
                self.token = answer["token"]
                after = frame.get("after", 0) if isinstance(frame, dict) else 0
                self._reader = asyncio.create_task(self._read({"after": after}))

    async def _read(self, params: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        assert self.token is not None
        params = {**params, "token": self.token}
        async with self.http.stream("GET", "/v1/sse", params=params, headers=headers) as response:
            assert response.status_code == 200, await response.aread()
            async for message in sse_messages(response.aiter_lines()):
                if message.data is not None:
                    self.received(json.loads(message.data))
                if message.id is not None:
                    self.last_event_id = message.id
        self.ended = True

    async def reconnect(self) -> None:
        """Drop the stream and open it again from `Last-Event-ID`, as `EventSource` does."""
        await self._stop_reading()
        assert self.last_event_id is not None
        headers = {"Last-Event-ID": self.last_event_id}
        self._reader = asyncio.create_task(self._read({}, headers))

    async def _stop_reading(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None

    async def close(self) -> None:
        await self._stop_reading()
        await self.http.aclose()


TRANSPORTS: dict[str, Callable[[str], ChatClient]] = {"websocket": WsClient, "sse": SseClient}
"""The client of each transport that carries a whole chat, by name (for parametrised tests)."""


class Agent:
    """The emulator's agent API (PROTOCOL.md §8)."""

    def __init__(self, emulator_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=emulator_url + "/emulator/v1", timeout=10)

    async def engagement(self, dialog_id: str) -> Frame:
        async def find() -> Frame | None:
            listing = (await self.http.get("/engagements")).json()["engagements"]
            for engagement in listing:
                if any(d["dialogId"] == dialog_id for d in engagement["dialogs"]):
                    return dict(engagement)
            return None

        deadline = time.monotonic() + WAIT
        while (found := await find()) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"dialog {dialog_id} not at the emulator")
            await asyncio.sleep(_POLL)
        return found

    async def dialog(self, dialog_id: str) -> Frame:
        engagement = await self.engagement(dialog_id)
        return next(d for d in engagement["dialogs"] if d["dialogId"] == dialog_id)

    async def act(self, engagement_id: str, verb: str, **body: Any) -> httpx.Response:
        response = await self.http.post(f"/engagements/{engagement_id}:{verb}", json=body or None)
        assert response.status_code < 300, response.text
        return response

    async def say(self, engagement_id: str, text: str, **more: Any) -> Frame:
        response = await self.http.post(
            f"/engagements/{engagement_id}/messages", json={"text": text, **more}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def received(self, engagement_id: str) -> list[Frame]:
        transcript = (await self.http.get(f"/engagements/{engagement_id}/messages")).json()
        return list(transcript["messages"])

    async def faults(self, **faults: Any) -> None:
        response = await self.http.post("/faults", json=faults)
        assert response.status_code == 200, response.text

    async def clear_faults(self) -> None:
        await self.http.delete("/faults")

    async def aclose(self) -> None:
        await self.http.aclose()


class PollClient:
    """Long polling: commands by POST, events by held GETs."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=40)
        self.token: str | None = None
        self.seq = 0
        self.events: list[Frame] = []

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def commands(self, *frames: Frame) -> list[Frame]:
        response = await self.http.post(
            "/v1/poll/commands", json=list(frames), headers=self._auth()
        )
        assert response.status_code == 200, response.text
        return list(response.json())

    async def ok(self, type_: str, **fields: Any) -> Frame:
        (answer,) = await self.commands({"type": type_, "id": new_id("p"), **fields})
        assert answer["type"] == "ok", answer
        if type_ == "login":
            self.token = answer["token"]
        return answer

    async def poll(self, wait: float = 5) -> list[Frame]:
        response = await self.http.get(
            "/v1/poll/events", params={"after": self.seq, "wait": wait}, headers=self._auth()
        )
        assert response.status_code == 200, response.text
        body = response.json()
        fresh = [e for e in body["events"] if "seq" in e]
        self.events.extend(fresh)
        if fresh:
            self.seq = fresh[-1]["seq"]
        return list(body["events"])

    async def until(self, predicate: Callable[[Frame], bool], what: str = "event") -> Frame:
        deadline = time.monotonic() + WAIT
        while True:
            found = next((e for e in self.events if predicate(e)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"long poll: timed out waiting for {what}")
            await self.poll(wait=1)

    async def aclose(self) -> None:
        await self.http.aclose()
