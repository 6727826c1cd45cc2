"""Load-generator clients of the peer servers: a plain WebSocket (bare Starlette), socket.io
over WebSocket and socket.io over long polling (engine.io v4, written out by hand so that all
servers are driven by the same light client code).

Every client has an `address` (the id its server routes pushes by) and hands each token it
receives to the `Tracker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Protocol

from websockets.asyncio.client import ClientConnection, connect

from benchmarks.loadgen import Tracker
from benchmarks.rawhttp import HttpConnection

OPEN_SECONDS = 60.0
"""Longest one client may take to connect (and, for the connector, log in)."""


class Client(Protocol):
    @property
    def address(self) -> str: ...

    async def close(self) -> None: ...


async def ws_connect(url: str) -> ClientConnection:
    return await asyncio.wait_for(
        connect(url, ping_interval=None, max_size=None, compression=None, open_timeout=None),
        OPEN_SECONDS,
    )


@dataclass
class WsClient:
    address: str
    conn: ClientConnection
    reader: asyncio.Task[None] | None = None

    async def close(self) -> None:
        await close_ws(self.conn, self.reader)


async def close_ws(conn: ClientConnection, reader: asyncio.Task[None] | None) -> None:
    """Close a WebSocket (at most 5 s for the closing handshake) and stop its reader."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(conn.close(), 5)
    if reader is not None:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def _read_bare(client: WsClient, tracker: Tracker) -> None:
    async for raw in client.conn:
        tracker.arrived(json.loads(raw)["t"])


async def open_bare(port: int, address: str, tracker: Tracker) -> WsClient:
    client = WsClient(address, await ws_connect(f"ws://127.0.0.1:{port}/ws?id={address}"))
    client.reader = asyncio.create_task(_read_bare(client, tracker))
    return client


def _socketio_packets(payload: str, tracker: Tracker) -> list[str]:
    """Handle engine.io packets; return the answers to send (pong to each ping)."""
    answers = []
    for packet in payload.split("\x1e"):
        if packet == "2":
            answers.append("3")
        elif packet.startswith("42"):
            _, body = json.loads(packet[2:])
            tracker.arrived(json.loads(body)["t"])
    return answers


async def _read_socketio(client: WsClient, tracker: Tracker) -> None:
    async for raw in client.conn:
        assert isinstance(raw, str)
        for answer in _socketio_packets(raw, tracker):
            await client.conn.send(answer)


async def open_socketio_ws(port: int, address: str, tracker: Tracker) -> WsClient:
    url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
    conn = await ws_connect(url)
    handshake = await asyncio.wait_for(conn.recv(), OPEN_SECONDS)
    if not (isinstance(handshake, str) and handshake.startswith("0")):
        raise RuntimeError(f"socket.io handshake: {handshake!r}")
    await conn.send("40" + json.dumps({"id": address}))
    connected = await asyncio.wait_for(conn.recv(), OPEN_SECONDS)
    if not (isinstance(connected, str) and connected.startswith("40")):
        raise RuntimeError(f"socket.io connect: {connected!r}")
    client = WsClient(address, conn)
    client.reader = asyncio.create_task(_read_socketio(client, tracker))
    return client


@dataclass
class PollingClient:
    """socket.io over engine.io long polling: one connection holds the GET, one POSTs."""

    address: str
    path: str
    getter: HttpConnection
    poster: HttpConnection
    reader: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def post(self, payload: str) -> None:
        async with self.lock:
            answer = await self.poster.request("POST", self.path, payload.encode())
            assert answer.status == 200, answer

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)
        await self.getter.close()
        await self.poster.close()


async def _read_polling(client: PollingClient, tracker: Tracker) -> None:
    while True:
        answer = await client.getter.request("GET", client.path)
        if answer.status != 200:
            return
        for pong in _socketio_packets(answer.body.decode(), tracker):
            await client.post(pong)


async def open_socketio_polling(port: int, address: str, tracker: Tracker) -> PollingClient:
    base = "/socket.io/?EIO=4&transport=polling"
    getter = await HttpConnection(port).open()
    handshake = await asyncio.wait_for(getter.request("GET", base), OPEN_SECONDS)
    sid = json.loads(handshake.body.decode()[1:])["sid"]
    client = PollingClient(address, f"{base}&sid={sid}", getter, await HttpConnection(port).open())
    await client.post("40" + json.dumps({"id": address}))
    connected = await asyncio.wait_for(getter.request("GET", client.path), OPEN_SECONDS)
    assert connected.body.startswith(b"40"), connected
    client.reader = asyncio.create_task(_read_polling(client, tracker))
    return client
