"""A supervised worker that died is reported by `/readyz` until it starts again (issue 15.4)."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any, cast

from axp_chat_connector import background, connector


async def test_readiness_names_a_worker_while_it_waits_to_restart() -> None:
    async def fine() -> None:
        return None

    part = SimpleNamespace(ping=fine, tokens=SimpleNamespace(get=fine))
    ready = connector._readiness(cast(Any, part), cast(Any, part), cast(Any, part))
    assert await ready() == []
    failed, again = asyncio.Event(), asyncio.Event()
    calls = 0

    async def dies_once() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            failed.set()
            raise RuntimeError("a bug")
        again.set()
        await asyncio.Event().wait()

    task = background.supervise(dies_once, name="outbox", first_pause=0.3)
    await asyncio.wait_for(failed.wait(), 5)
    await asyncio.sleep(0)  # noqa: sleep-ok (one loop turn: the failure is handled)
    assert await ready() == ["outbox"]
    await asyncio.wait_for(again.wait(), 5)
    assert await ready() == []
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
