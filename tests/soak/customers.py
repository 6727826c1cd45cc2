"""Soak customers: one interface over WebSocket, long polling and SSE, whose connections can be
cut at any moment and resumed after the last seq seen. Every event seen is kept by seq, and
each connection's own order is checked as it goes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx

from tests.e2e.chat.clients import Frame, PollClient, WsClient, new_id, wait_for

CUSTOMER = {"displayName": "Soak", "identifiers": {"emailAddresses": ["soak@example.com"]}}


class Customer:
    """Commands and events of one session over one transport; `cut()` drops the connection."""

    transport = "?"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.seen: dict[int, Frame] = {}
        self.disorder = 0
        """Events a single connection delivered out of seq order or twice."""
        self.token = ""

    def take(self, events: list[Frame], last: list[int]) -> None:
        """Events of one connection, in the order it delivered them; `last`: its cursor."""
        for event in events:
            if "seq" not in event:
                continue
            if event["seq"] <= last[0]:
                self.disorder += 1
            last[0] = max(last[0], event["seq"])
            self.seen[event["seq"]] = event

    @property
    def after(self) -> int:
        return max(self.seen, default=0)

    async def command(self, type_: str, **fields: Any) -> Frame:
        raise NotImplementedError

    async def ok(self, type_: str, **fields: Any) -> Frame:
        answer = await self.command(type_, **fields)
        assert answer["type"] == "ok", answer
        if type_ == "login":
            self.token = answer["token"]
        return answer

    async def connect(self) -> None:
        """(Re)open the event stream after the last seq seen."""

    async def cut(self) -> None:
        """Drop the event stream without a goodbye, then resume."""

    async def close(self) -> None:
        """Close everything."""

    async def wait_event(self, what: str, predicate: Any, timeout: float) -> Frame:
        found = await wait_for(
            lambda: next((e for e in self.seen.values() if predicate(e)), None),
            timeout=timeout,
            what=f"{self.transport}: {what}",
        )
        return dict(found)


class WsCustomer(Customer):
    transport = "websocket"

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.client: WsClient | None = None
        self.cursor = [0]

    async def _open(self) -> WsClient:
        self.client = await WsClient(self.base_url).open()
        self.cursor = [self.after]
        return self.client

    async def command(self, type_: str, **fields: Any) -> Frame:
        client = self.client or await self._open()
        answer = await client.command(type_, id_=fields.pop("id_", None), **fields)
        self._drain()
        return answer

    def _drain(self) -> None:
        if self.client is not None:
            fresh, self.client.events[:] = list(self.client.events), []
            self.take(fresh, self.cursor)

    async def connect(self) -> None:
        client = await self._open()
        await client.ok("resume", token=self.token, after=self.after)

    async def cut(self) -> None:
        self._drain()
        if self.client is not None and self.client._conn is not None:
            self.client._conn.transport.abort()
            await self.client.close()
        await self.connect()

    async def wait_event(self, what: str, predicate: Any, timeout: float) -> Frame:
        async def drained() -> Frame | None:
            self._drain()
            return next((e for e in self.seen.values() if predicate(e)), None)

        deadline = asyncio.get_running_loop().time() + timeout
        while (found := await drained()) is None:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.transport}: timed out waiting for {what}")
            await asyncio.sleep(0.05)  # noqa: sleep-ok (poll interval of a wait with a deadline)
        return found

    async def close(self) -> None:
        self._drain()
        if self.client is not None:
            await self.client.close()


class PollCustomer(Customer):
    """Long polling: commands by POST; a loop of held GETs, which `cut()` abandons mid-request."""

    transport = "long-polling"

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.poller = PollClient(base_url)
        self.loop: asyncio.Task[None] | None = None

    async def command(self, type_: str, **fields: Any) -> Frame:
        self.poller.token = self.token or None
        (answer,) = await self.poller.commands(
            {"type": type_, "id": fields.pop("id_", None) or new_id("p"), **fields}
        )
        return answer

    async def _poll_forever(self) -> None:
        cursor = [self.after]
        while True:
            self.poller.token, self.poller.seq = self.token, self.after
            before = len(self.poller.events)
            await self.poller.poll(wait=2)
            self.take(self.poller.events[before:], cursor)

    async def _keep_reading(self) -> None:
        """Read events; a refused or broken request (429: the old one is still held) is
        tried again, as a client would."""
        while True:
            try:
                await self._poll_forever()
            except (AssertionError, httpx.HTTPError):
                await asyncio.sleep(0.2)  # noqa: sleep-ok (a client's backoff before it polls again)

    async def connect(self) -> None:
        self.loop = asyncio.create_task(self._keep_reading())

    async def cut(self) -> None:
        await self._stop()
        await self.connect()

    async def _stop(self) -> None:
        if self.loop is not None:
            self.loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.loop

    async def close(self) -> None:
        await self._stop()
        await self.poller.aclose()


class SseCustomer(PollCustomer):
    """Server-Sent Events for events (`GET /v1/sse`), long-poll POSTs for commands."""

    transport = "sse"

    async def _poll_forever(self) -> None:
        cursor = [self.after]
        headers = {"Authorization": f"Bearer {self.token}"}
        timeout = httpx.Timeout(10, read=None)
        async with self.poller.http.stream(
            "GET", "/v1/sse", params={"after": self.after}, headers=headers, timeout=timeout
        ) as response:
            assert response.status_code == 200, response.status_code
            async for line in response.aiter_lines():  # `id:` and `data:` lines of each event
                if line.startswith("data:"):
                    self.take([json.loads(line[5:])], cursor)


async def has_sse(base_url: str) -> bool:
    """Whether this connector serves `/v1/sse` (401 without a token; 404 when absent)."""
    async with httpx.AsyncClient(base_url=base_url) as http:
        return (await http.get("/v1/sse")).status_code != 404
