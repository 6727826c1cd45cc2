"""Load-generator clients of the connector: customers with an open, accepted chat, reached over
WebSocket, long polling or SSE, and the AXP MESSAGES webhook addressed to one of them.

A customer (`Customer`) is set up once over WebSocket (login, start, the emulated agent
accepts); its token then serves every transport, and a reconnect storm resumes it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from benchmarks.clients import OPEN_SECONDS, close_ws, ws_connect
from benchmarks.loadgen import Tracker
from benchmarks.rawhttp import HttpConnection

Frame = dict[str, Any]
_ids = itertools.count(1)


@dataclass
class Customer:
    """One session with an open chat, and what the webhook needs to address it."""

    address: str
    port: int  # the instance it is connected to
    token: str = ""
    dialog_id: str = ""
    engagement_id: str = ""
    seq: int = 0
    next_index: int = 0

    def saw(self, frame: Frame, tracker: Tracker) -> None:
        if isinstance(seq := frame.get("seq"), int):
            self.seq = max(self.seq, seq)
        if frame.get("type") == "message" and str(frame.get("text", "")).startswith("bench-"):
            tracker.arrived(frame["text"])
        elif frame.get("type") == "message" and frame.get("clientMessageId"):
            tracker.arrived(frame["clientMessageId"])


@dataclass
class ConnectorWs:
    customer: Customer
    conn: ClientConnection
    tracker: Tracker
    answers: dict[str, asyncio.Future[Frame]] = field(default_factory=dict)
    joined: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        return self.customer.address

    async def _read(self) -> None:
        try:
            async for raw in self.conn:
                frame: Frame = json.loads(raw)
                if (future := self.answers.pop(str(frame.get("re")), None)) is not None:
                    if not future.done():  # not given up on (timed out) meanwhile
                        future.set_result(frame)
                    continue
                self.customer.saw(frame, self.tracker)
                if frame.get("type") == "participant.joined":
                    self.joined.set()
        except ConnectionClosed as exc:  # the server closed it: the commands waiting fail now
            for future in self.answers.values():
                if not future.done():
                    future.set_exception(exc)
            self.answers.clear()

    def start_reading(self) -> None:
        self.reader = asyncio.create_task(self._read())

    async def command(self, kind: str, **fields: Any) -> Frame:
        """Send a command and wait for its answer (the reader must be running)."""
        command_id = f"b{next(_ids)}"
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self.answers[command_id] = future
        await self.conn.send(json.dumps({"type": kind, "id": command_id, **fields}))
        return await asyncio.wait_for(future, OPEN_SECONDS)

    async def ok(self, kind: str, **fields: Any) -> Frame:
        answer = await self.command(kind, **fields)
        if answer.get("type") != "ok":
            raise RuntimeError(f"{kind}: {answer}")
        return answer

    async def close(self) -> None:
        await close_ws(self.conn, self.reader)


async def open_customer(
    port: int, emulator: httpx.AsyncClient, address: str, tracker: Tracker
) -> ConnectorWs:
    """Log in a guest over WebSocket, start a chat, have the emulated agent accept it."""
    customer = Customer(address, port)
    client = ConnectorWs(customer, await ws_connect(f"ws://127.0.0.1:{port}/v1/ws"), tracker)
    client.start_reading()
    try:
        await _start_chat(client, emulator)
    except BaseException:
        await client.close()
        raise
    return client


async def _start_chat(client: ConnectorWs, emulator: httpx.AsyncClient) -> None:
    customer = client.customer
    email = f"bench-{customer.address}-{uuid.uuid4().hex[:6]}@example.com"
    identity = {
        "displayName": f"Bench {customer.address}",
        "identifiers": {"emailAddresses": [email]},
    }
    customer.token = (await client.ok("login", customer=identity))["token"]
    started = await client.ok("start")
    customer.dialog_id, customer.engagement_id = started["dialogId"], started["engagementId"]
    accepted = await emulator.post(f"/emulator/v1/engagements/{customer.engagement_id}:accept")
    if accepted.status_code >= 300:
        raise RuntimeError(f"accept: {accepted.status_code} {accepted.text}")
    await asyncio.wait_for(client.joined.wait(), OPEN_SECONDS)


async def resume_ws(customer: Customer, tracker: Tracker) -> ConnectorWs:
    """A new WebSocket to `customer.port` that resumes the session after its last seq."""
    url = f"ws://127.0.0.1:{customer.port}/v1/ws"
    client = ConnectorWs(customer, await ws_connect(url), tracker)
    client.start_reading()
    try:
        await client.ok("resume", token=customer.token, after=customer.seq)
    except BaseException:
        await client.close()
        raise
    return client


def webhook_body(customer: Customer, text: str) -> bytes:
    """An AXP MESSAGES callback: an agent's message `text` in the customer's dialog."""
    customer.next_index += 1
    body = {
        "eventType": "MESSAGES",
        "correlationId": str(uuid.uuid4()),
        "eventDate": "2026-11-25T10:00:00.000Z",
        "messageId": str(uuid.uuid4()),
        "accountId": "ABCDEF",
        "channelProviderId": "axp-chat-connector",
        "channelId": "Chat",
        "engagementId": customer.engagement_id,
        "dialogId": customer.dialog_id,
        "senderParticipantId": "bench-agent",
        "senderParticipantName": "Bench Agent",
        "senderParticipantType": "AGENT",
        "status": "SENT",
        "body": {"elementType": "text", "elementText": {"text": text, "textFormat": "PLAINTEXT"}},
        "messageIndex": customer.next_index,
    }
    return json.dumps(body).encode()


@dataclass
class StreamClient:
    """Long polling or SSE for one customer: a loop holding one GET at a time."""

    customer: Customer
    connection: HttpConnection
    reader: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        return self.customer.address

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)
        await self.connection.close()


def _auth(customer: Customer) -> dict[str, str]:
    return {"Authorization": f"Bearer {customer.token}"}


async def _poll_loop(client: StreamClient, tracker: Tracker) -> None:
    customer = client.customer
    while True:
        path = f"/v1/poll/events?after={customer.seq}&wait=20"
        answer = await client.connection.request("GET", path, headers=_auth(customer))
        if answer.status != 200:
            raise RuntimeError(f"poll: {answer.status} {answer.body[:200]!r}")
        for event in json.loads(answer.body)["events"]:
            customer.saw(event, tracker)


async def open_poll(customer: Customer, tracker: Tracker) -> StreamClient:
    client = StreamClient(customer, await HttpConnection(customer.port).open())
    client.reader = asyncio.create_task(_poll_loop(client, tracker))
    return client


class SseMissing(Exception):
    """The connector has no `GET /v1/sse` (it answered 404 to a valid token)."""


async def open_sse(customer: Customer, tracker: Tracker) -> StreamClient:
    """`GET /v1/sse?after=seq`; events arrive as `data:` lines of the streamed answer."""
    client = StreamClient(customer, await HttpConnection(customer.port).open())
    client.connection.send("GET", f"/v1/sse?after={customer.seq}", headers=_auth(customer))
    status, _ = await asyncio.wait_for(client.connection.head(), OPEN_SECONDS)
    if status == 404:
        await client.connection.close()
        raise SseMissing
    if status != 200:
        raise RuntimeError(f"sse: {status}")

    async def read() -> None:
        async for line in client.connection.stream_lines():
            if line.startswith("data:"):
                customer.saw(json.loads(line[5:]), tracker)

    client.reader = asyncio.create_task(read())
    return client


async def send_and_wait(client: ConnectorWs, tracker: Tracker, text: str) -> float:
    """A customer `send`: seconds until its `ok` (durably accepted); the tracker then counts
    the echo, which comes once AXP has accepted it."""
    began = time.perf_counter()
    command_id = f"s{next(_ids)}"
    tracker.expect(command_id, began)
    future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
    client.answers[command_id] = future
    await client.conn.send(json.dumps({"type": "send", "id": command_id, "text": text}))
    answer = await asyncio.wait_for(future, OPEN_SECONDS)
    if answer.get("type") != "ok":
        tracker.due.pop(command_id, None)
        raise RuntimeError(f"send: {answer}")
    return time.perf_counter() - began


async def open_logged_in(port: int, address: str, tracker: Tracker) -> ConnectorWs:
    """An idle, bound WebSocket: a guest logged in, no chat."""
    client = ConnectorWs(
        Customer(address, port), await ws_connect(f"ws://127.0.0.1:{port}/v1/ws"), tracker
    )
    client.start_reading()
    email = f"idle-{address}-{uuid.uuid4().hex[:6]}@example.com"
    customer = {"displayName": f"Idle {address}", "identifiers": {"emailAddresses": [email]}}
    client.customer.token = (await client.ok("login", customer=customer))["token"]
    return client
