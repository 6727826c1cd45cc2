"""Test clients of the connector (WebSocket, long polling) and of the emulator's agent API."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.servers import TIME_SCALE

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


class WsClient:
    """One WebSocket connection: answers by `re`, durable events by seq, ephemeral ones apart."""

    live: ClassVar[list[WsClient]] = []
    """Every client opened, so a fixture can close those a failed test left open."""

    def __init__(self, base_url: str) -> None:
        WsClient.live.append(self)
        self.url = base_url.replace("http://", "ws://") + "/v1/ws"
        self.answers: dict[str, Frame] = {}
        self.events: list[Frame] = []
        self.ephemeral: list[Frame] = []
        self.closed: int | None = None
        self._conn: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> WsClient:
        self._conn = await connect(self.url, ping_interval=None, max_size=None)
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._conn is not None
        try:
            async for raw in self._conn:
                frame = json.loads(raw)
                if frame.get("type") in ("ok", "error") and "re" in frame:
                    self.answers[frame["re"]] = frame
                elif "seq" in frame:
                    self.events.append(frame)
                else:
                    self.ephemeral.append(frame)
        finally:
            self.closed = self._conn.close_code

    async def send_raw(self, frame: Frame | str) -> None:
        assert self._conn is not None
        await self._conn.send(frame if isinstance(frame, str) else json.dumps(frame))

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

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


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
