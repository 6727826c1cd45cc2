"""Memory per idle, bound WebSocket on the connector's own app (compare: ws_idle_memory.py).

    .venv/bin/python benchmarks/ws_idle_connector.py [--connections 2000]

Starts a server process running `create_app` (a minimal in-file SessionService: a login binds a
new session and the log stays empty; the in-process bus) on uvicorn with `uvicorn_options`,
opens N WebSockets that each `login` (so each is bound: a hub entry, a bus subscription, a
rate-limit bucket), lets them idle, and prints the server's RSS growth per connection. Also
prints the same for N connections that never log in (accepted, waiting for their first frame),
and with `--deflate` for bound connections that negotiated per-message deflate (uvicorn's
default; `uvicorn_options` turns it off).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


def serve(port: int, deflate: bool) -> None:
    import uvicorn

    from axp_chat_connector.app import create_app
    from axp_chat_connector.bus.local import LocalBus
    from axp_chat_connector.protocol.codec import ok
    from axp_chat_connector.protocol.frames import Command, Login
    from axp_chat_connector.sessions.service import Answer, Bound
    from axp_chat_connector.transports.limits import TransportLimits, uvicorn_options

    ids = itertools.count(1)

    class MinimalService:
        async def execute(self, command: Command, *, session_id: str | None) -> Answer:
            if isinstance(command, Login):
                new = str(next(ids))
                return Answer(ok(command.id, sessionId=new, seq=0), bound=Bound(new, 0))
            return Answer(ok(command.id))

        async def session_of_token(self, token: str) -> str:
            return token

        async def events_after(self, session_id: str, after: int, limit: int) -> list[Any]:
            return []

        async def last_seq(self, session_id: str) -> int:
            return 0

        async def connection_opened(self, session_id: str) -> None:
            return None

        async def connection_closed(self, session_id: str) -> None:
            return None

    limits = TransportLimits(  # every socket comes from loopback: no per-address limits
        bind_timeout=600,
        recheck_seconds=0,
        connections_per_address=10_000_000,
        logins_per_address_per_minute=10_000_000,
        logins_per_minute=10_000_000,
    )
    app = create_app(service=MinimalService(), bus=LocalBus(), limits=limits)
    options = {**uvicorn_options(limits), "ws_per_message_deflate": deflate}
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", **options)


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


async def open_one(url: str, bind: bool, n: int, deflate: bool) -> ClientConnection:
    ws = await connect(url, ping_interval=None, compression="deflate" if deflate else None)
    if bind:
        await ws.send(json.dumps({"type": "login", "id": f"l{n}", "idToken": "x"}))
        answer = json.loads(await ws.recv())
        assert answer["type"] == "ok", answer
    return ws


async def measure(count: int, bind: bool, deflate: bool) -> float:
    port = free_port()
    serve_args = ["--serve", str(port), *(["--deflate"] if deflate else [])]
    proc = subprocess.Popen([sys.executable, __file__, *serve_args])
    url = f"ws://127.0.0.1:{port}/v1/ws"
    conns: list[ClientConnection] = []
    try:
        await wait_listening(port)
        # Warm-up connections so lazily imported code and first-use caches are not counted.
        warm = [await open_one(url, True, -n, deflate) for n in range(1, 20)]
        await asyncio.sleep(0.5)
        before = rss_kb(proc.pid)
        for n in range(count):
            conns.append(await open_one(url, bind, n, deflate))
        await asyncio.sleep(1.0)  # let the server settle its buffers
        after = rss_kb(proc.pid)
        for ws in warm:
            await ws.close()
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
    parser.add_argument(
        "--deflate",
        action="store_true",
        help="also measure with per-message deflate negotiated (uvicorn's default, not ours)",
    )
    args = parser.parse_args()
    print(f"connector /v1/ws: {args.connections} idle WebSockets, python {sys.version.split()[0]}")
    runs = [(True, False, "bound (after login)"), (False, False, "accepted, not bound")]
    if args.deflate:
        runs.append((True, True, "bound, with deflate"))
    for bind, deflate, label in runs:
        per_conn = await measure(args.connections, bind, deflate)
        print(f"{label:22s} {per_conn / 1024:6.1f} KB per idle WebSocket")


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve(int(sys.argv[sys.argv.index("--serve") + 1]), "--deflate" in sys.argv)
    else:
        asyncio.run(main())
