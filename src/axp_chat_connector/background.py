"""Background tasks: one place that keeps a reference to each task and logs its failure, and
`Worker`, a loop that must keep running (the outbox worker, the sweeper): when it dies it is
restarted with backoff and counted, and it reports itself down meanwhile (for `/readyz`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog

_log = structlog.get_logger(__name__)
_tasks: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
    """Run `coro` in the background; keep it alive; log it if it fails."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _tasks.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        _log.error("background.failed", task=task.get_name(), error=repr(exc), exc_info=exc)


@dataclass
class Worker:
    """A loop that must keep running. `supervise()` runs it; when `run()` raises (or returns)
    the worker is down: counted (`on_restart`), restarted after a backoff that doubles up to
    `backoff_max` (and starts again from `backoff_base` after a run that lasted that long)."""

    name: str
    run: Callable[[], Coroutine[Any, Any, None]]
    on_restart: Callable[[str], None] | None = None
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    down: bool = False
    restarts: int = 0

    async def supervise(self) -> None:
        delay = self.backoff_base
        while True:
            started = time.monotonic()
            try:
                await self.run()
                _log.error("worker.stopped", worker=self.name)
            except Exception as exc:  # a dead loop stops delivery: log it, restart it
                _log.error("worker.died", worker=self.name, error=repr(exc), exc_info=exc)
            self.down = True
            self.restarts += 1
            if self.on_restart is not None:
                self.on_restart(self.name)
            if time.monotonic() - started >= self.backoff_max:
                delay = self.backoff_base
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)
            self.down = False
            _log.info("worker.restarted", worker=self.name, restarts=self.restarts)
