"""Background tasks: one place that keeps a reference to each task and logs its failure.

`spawn` runs a coroutine once; `supervise` runs a worker (the outbox, the sweeper) for the
life of the process: if it fails, the failure is logged (`background.restarting`), counted
(`restarted(name)`: `axp_chat_background_restarts_total`) and the worker started again after
a pause that doubles up to `RESTART_MAX` seconds (and starts small again after a long run),
so one unexpected error does not leave the instance without a worker while `/readyz` says
ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final

import structlog

_log = structlog.get_logger(__name__)
_tasks: set[asyncio.Task[Any]] = set()

RESTART_FIRST: Final = 0.5
RESTART_MAX: Final = 30.0
"""Seconds before a failed worker starts again: doubled after each failure, up to this."""


def spawn(coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
    """Run `coro` in the background; keep it alive; log it if it fails."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _tasks.add(task)
    task.add_done_callback(_finished)
    return task


def supervise(
    worker: Callable[[], Awaitable[None]],
    *,
    name: str,
    restarted: Callable[[str], None] | None = None,
    first_pause: float = RESTART_FIRST,
) -> asyncio.Task[Any]:
    """Run `worker()` in the background until cancelled, starting it again when it fails."""
    return spawn(_restarting(worker, name, restarted, first_pause), name=name)


async def _restarting(
    worker: Callable[[], Awaitable[None]],
    name: str,
    restarted: Callable[[str], None] | None,
    first_pause: float,
) -> None:
    pause, loop = first_pause, asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await worker()
        except Exception as exc:
            _log.error("background.restarting", task=name, error=repr(exc), exc_info=exc)
        else:
            _log.error("background.restarting", task=name, error="the worker returned")
        if restarted is not None:
            restarted(name)
        if loop.time() - started > RESTART_MAX:
            pause = first_pause  # it had been running well: this is a new failure
        await asyncio.sleep(pause)
        pause = min(pause * 2, RESTART_MAX)


def _finished(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        _log.error("background.failed", task=task.get_name(), error=repr(exc), exc_info=exc)
