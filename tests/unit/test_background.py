"""`background.Worker`: a loop that dies is restarted with backoff, counted, and down meanwhile
(issue 15.4)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from types import SimpleNamespace
from typing import Any, cast

from axp_chat_connector import background, connector

BASE = 0.05


async def supervise_until(worker: background.Worker, reached: asyncio.Event) -> None:
    """Supervise `worker` until `reached` is set, then stop it."""
    task = asyncio.create_task(worker.supervise())
    await asyncio.wait_for(reached.wait(), 5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_dying_worker_is_restarted_with_backoff_counted_and_down_meanwhile() -> None:
    runs: list[float] = []
    restarts: list[tuple[str, bool]] = []
    healthy = asyncio.Event()

    async def run() -> None:
        runs.append(asyncio.get_running_loop().time())
        if len(runs) <= 3:
            raise RuntimeError("dies at once")
        healthy.set()
        await asyncio.Event().wait()  # then runs for good

    worker = background.Worker("outbox", run, backoff_base=BASE)
    worker.on_restart = lambda name: restarts.append((name, worker.down))
    await supervise_until(worker, healthy)
    assert worker.restarts == 3
    assert restarts == [("outbox", True)] * 3, "counted, and down while it waits to restart"
    assert not worker.down
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    assert [round(g / BASE) >= 2**i for i, g in enumerate(gaps)] == [True] * 3, gaps


async def test_a_worker_that_returns_is_restarted_too() -> None:
    calls = 0
    again = asyncio.Event()

    async def run() -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            again.set()
            await asyncio.Event().wait()

    worker = background.Worker("sweeper", run, backoff_base=0.01)
    await supervise_until(worker, again)
    assert worker.restarts == 1


async def test_readiness_names_a_worker_while_it_is_down() -> None:
    async def fine() -> None:
        return None

    part = SimpleNamespace(ping=fine, tokens=SimpleNamespace(get=fine))
    outbox = background.Worker("outbox", fine)
    ready = connector._readiness(cast(Any, part), cast(Any, part), cast(Any, part), [outbox])
    assert await ready() == []
    outbox.down = True
    assert await ready() == ["outbox"]
