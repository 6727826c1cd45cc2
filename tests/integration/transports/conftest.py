"""Transport tests: the connector app on a real uvicorn (wsproto) with a fake service."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from axp_chat_connector.app import ConnectorApp, create_app
from axp_chat_connector.bus.local import LocalBus
from axp_chat_connector.transports.limits import TransportLimits, uvicorn_options
from tests.integration.transports.fakes import FakeService
from tests.servers import TIME_SCALE, free_port

_POLL_INTERVAL = 0.005  # a poll interval, not a wait for an outcome

TIMEOUT = 5.0 * TIME_SCALE


@dataclass
class Running:
    url: str
    ws_url: str
    app: ConnectorApp
    service: FakeService
    bus: LocalBus

    def metric(self, name: str, **labels: str) -> float:
        """A sample of the app's Prometheus registry (0 when it has none yet)."""
        value = self.app.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


@contextlib.asynccontextmanager
async def running(limits: TransportLimits | None = None, **app_args: Any) -> AsyncIterator[Running]:
    """The app served by uvicorn on a free loopback port, as `serve` would run it."""
    limits = limits or TransportLimits(recheck_seconds=0)
    bus = LocalBus()
    service = FakeService(bus)
    app = create_app(service=service, bus=bus, limits=limits, **app_args)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", **uvicorn_options(limits)
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done())
    if task.done():
        task.result()
    try:
        yield Running(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/v1/ws", app, service, bus)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10 * TIME_SCALE)


async def eventually(check: Callable[[], object], timeout: float = TIMEOUT) -> None:
    """Wait until `check()` is true (no fixed sleep: a short poll with a deadline)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(_POLL_INTERVAL)


def open_ws(url: str, **kwargs: Any) -> Any:
    return connect(url, ping_interval=None, open_timeout=TIMEOUT, **kwargs)


async def recv(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(raw, str)
    frame: dict[str, Any] = json.loads(raw)
    return frame


async def call(ws: ClientConnection, frame: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(frame))
    return await recv(ws)


async def login(ws: ClientConnection, id: str = "l1") -> dict[str, Any]:
    answer = await call(ws, {"type": "login", "id": id, "idToken": "jwt"})
    assert answer["type"] == "ok", answer
    return answer


async def closed_with(ws: ClientConnection, timeout: float = TIMEOUT) -> int | None:
    """Read until the server closes; its close code."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
