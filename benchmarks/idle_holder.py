"""A helper process of the capacity run: it holds one instance's idle, bound WebSockets.

    python -m benchmarks.idle_holder PORT COUNT LABEL BUDGET_SECONDS

One process cannot hold 3 x 10,000 client sockets where the open-files hard limit is 20,000
(and it cannot be raised without CAP_SYS_RESOURCE), so the capacity run starts one holder per
connector instance. A holder opens COUNT clients (`open_logged_in`: a guest login, no chat),
100 at a time, stops opening when BUDGET_SECONDS are spent, and prints one JSON line
(`opened`, `failed`, `seconds`, `timed_out`, `rss_kb_growth`). Then it answers stdin: `check`
prints one JSON line (`open`, `closed`, `pings`, `ping_failures`: a WebSocket ping on a
sample of the open sockets), `quit` or end of input aborts every socket and exits. It exits
at once too when its parent is gone.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from websockets.protocol import State

from benchmarks.connector_clients import ConnectorWs, open_logged_in
from benchmarks.loadgen import Tracker
from benchmarks.run import raise_open_files
from benchmarks.scenarios import IDLE_CHUNK, OPEN_CONCURRENCY
from benchmarks.servers import rss_kb

PING_SAMPLE = 20
PING_SECONDS = 10.0


def say(what: dict[str, Any]) -> None:
    print(json.dumps(what), flush=True)


def is_open(client: ConnectorWs) -> bool:
    reading = client.reader is not None and not client.reader.done()
    return reading and client.conn.state is State.OPEN


async def open_idle(
    port: int, count: int, label: str, deadline: float
) -> tuple[list[ConnectorWs], int]:
    """Open up to `count` clients, `OPEN_CONCURRENCY` at a time, until `deadline`."""
    tracker = Tracker()
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)
    clients: list[ConnectorWs] = []
    failed = 0

    async def one(n: int) -> ConnectorWs:
        async with gate:
            return await open_logged_in(port, f"{label}-{n}", tracker)

    while len(clients) + failed < count and time.monotonic() < deadline:
        first = len(clients) + failed
        chunk = range(first, min(count, first + IDLE_CHUNK))
        results = await asyncio.gather(*(one(n) for n in chunk), return_exceptions=True)
        clients += [r for r in results if isinstance(r, ConnectorWs)]
        failed += sum(1 for r in results if isinstance(r, BaseException))
    return clients, failed


async def check(clients: list[ConnectorWs]) -> dict[str, int]:
    alive = [c for c in clients if is_open(c)]
    step = max(1, len(alive) // PING_SAMPLE)
    sample = alive[::step][:PING_SAMPLE]

    async def ping(client: ConnectorWs) -> bool:
        try:
            await asyncio.wait_for(await client.conn.ping(), PING_SECONDS)
        except Exception:
            return False
        return True

    answers = await asyncio.gather(*(ping(c) for c in sample))
    return {
        "open": len(alive),
        "closed": len(clients) - len(alive),
        "pings": len(sample),
        "ping_failures": answers.count(False),
    }


def abort(clients: list[ConnectorWs]) -> None:
    """Drop every socket at once (no closing handshakes: the run is over)."""
    for client in clients:
        if client.reader is not None:
            client.reader.cancel()
        client.conn.transport.abort()


async def orphaned() -> None:
    """Exit at once when the capacity run that started this holder is gone (killed, say)."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(1)
    os._exit(3)


async def hold(port: int, count: int, label: str, budget: float) -> None:
    raise_open_files()
    watchdog = asyncio.create_task(orphaned())
    began = time.perf_counter()
    base = rss_kb(os.getpid())
    clients, failed = await open_idle(port, count, label, time.monotonic() + budget)
    say(
        {
            "opened": len(clients),
            "failed": failed,
            "seconds": time.perf_counter() - began,
            "timed_out": len(clients) + failed < count,
            "rss_kb_growth": rss_kb(os.getpid()) - base,
        }
    )
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            if line.strip() == "check":
                say(await check(clients))
            elif line.strip() == "quit":
                break
    finally:
        abort(clients)
        watchdog.cancel()


if __name__ == "__main__":
    port_, count_, label_, budget_ = sys.argv[1:5]
    asyncio.run(hold(int(port_), int(count_), label_, float(budget_)))
