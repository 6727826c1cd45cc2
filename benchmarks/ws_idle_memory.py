"""Memory per idle WebSocket: server RSS growth divided by the number of idle connections.

    .venv/bin/python benchmarks/ws_idle_memory.py [--connections 2000] [--stack all]

Stacks measured (each a fresh server process on loopback, holding N idle sockets that only
answer pings):
  starlette-wsproto    Starlette WebSocketRoute on uvicorn's wsproto protocol
  starlette-sansio     Starlette WebSocketRoute on uvicorn's websockets-sansio protocol
  raw-wsproto          a bare ASGI callable on uvicorn's wsproto protocol (the connector's
                       choice for /v1/ws: no middleware frames held by an idle socket)
Prints one line per stack; figures vary by a few hundred bytes between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

SERVER = r"""
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

async def endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass

async def raw(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await receive()
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass

kind, ws, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = raw if kind == "raw" else Starlette(routes=[WebSocketRoute("/ws", endpoint)])
uvicorn.run(app, host="127.0.0.1", port=port, ws=ws, ws_ping_interval=20, log_level="warning")
"""

STACKS = {
    "starlette-wsproto": ("starlette", "wsproto"),
    "starlette-sansio": ("starlette", "websockets-sansio"),
    "raw-wsproto": ("raw", "wsproto"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"server on {port} did not listen")


async def measure(kind: str, ws: str, count: int) -> float:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, kind, ws, str(port)])
    conns: list[ClientConnection] = []
    try:
        await wait_listening(port)
        # One warm-up connection so lazily imported code is not counted per connection.
        warm = await connect(f"ws://127.0.0.1:{port}/ws", ping_interval=None)
        await asyncio.sleep(0.5)
        before = rss_kb(proc.pid)
        for _ in range(count):
            conns.append(await connect(f"ws://127.0.0.1:{port}/ws", ping_interval=None))
        await asyncio.sleep(1.0)  # let the server settle its buffers
        after = rss_kb(proc.pid)
        await warm.close()
        return (after - before) * 1024 / count
    finally:
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.close()
        proc.terminate()
        proc.wait(10)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--stack", choices=["all", *STACKS], default="all")
    args = parser.parse_args()
    names = list(STACKS) if args.stack == "all" else [args.stack]
    print(f"idle WebSockets: {args.connections} per stack, python {sys.version.split()[0]}")
    for name in names:
        kind, ws = STACKS[name]
        per_conn = await measure(kind, ws, args.connections)
        print(f"{name:20s} {per_conn / 1024:6.1f} KB per idle WebSocket")
    print(f"(pid {os.getpid()} done)")


if __name__ == "__main__":
    asyncio.run(main())
