"""Supervised background workers: a failure is logged, counted and the worker started again."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from axp_chat_connector import background


async def test_a_failing_worker_is_restarted_and_each_restart_counted() -> None:
    runs: list[int] = []
    restarts: list[str] = []
    third_run = asyncio.Event()

    async def worker() -> None:
        runs.append(len(runs) + 1)
        if len(runs) < 3:
            raise RuntimeError(f"boom {len(runs)}")
        third_run.set()
        await asyncio.Event().wait()  # runs until cancelled

    with capture_logs() as logs:
        task = background.supervise(
            worker, name="outbox", restarted=restarts.append, first_pause=0.0
        )
        async with asyncio.timeout(5):
            await third_run.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert runs == [1, 2, 3]
    assert restarts == ["outbox", "outbox"]
    failures = [e for e in logs if e["event"] == "background.restarting"]
    assert [e["error"] for e in failures] == ["RuntimeError('boom 1')", "RuntimeError('boom 2')"]
    assert all(e["log_level"] == "error" and e["task"] == "outbox" for e in failures)


async def test_cancelling_a_supervised_worker_stops_it_without_a_restart() -> None:
    started = asyncio.Event()
    restarts: list[str] = []

    async def worker() -> None:
        started.set()
        await asyncio.Event().wait()

    task = background.supervise(worker, name="sweeper", restarted=restarts.append)
    async with asyncio.timeout(5):
        await started.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert restarts == []
