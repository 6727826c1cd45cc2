"""The SQLite store's one thread and one connection, with group commit.

Store methods become jobs on a queue. The thread takes every job waiting (up to `MAX_BATCH`),
runs the batch's writes in ONE `BEGIN IMMEDIATE … COMMIT` — each write inside its own
savepoint, so a failing job (a `Conflict`) rolls back alone — and answers all of them only
after the commit. Under load, many appends share one commit and one wake-up of the event
loop; alone, a job costs one hop to the thread and back.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from axp_chat_connector.store import sqlite_schema

Conn = sqlite3.Connection
MAX_BATCH = 128


@dataclass(slots=True)
class _Job:
    fn: Callable[[Conn], Any]
    write: bool
    future: asyncio.Future[Any]


_Outcome = tuple[_Job, Any, BaseException | None]


class SqliteWorker:
    """Runs functions on one SQLite connection in one thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def start(self, path: str) -> None:
        """Open `path` on the worker thread; raises what opening raised."""
        ready: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._main, args=(path, ready), name="axp-sqlite", daemon=True
        )
        self._thread.start()
        await ready

    async def submit(self, fn: Callable[[Conn], Any], *, write: bool) -> Any:
        future: asyncio.Future[Any] = self._loop.create_future()
        self._queue.put(_Job(fn, write, future))
        return await future

    async def stop(self) -> None:
        """Close the connection after the jobs queued before; end the thread."""
        if self._thread is None:
            return
        # Not a job: a job would be batched with writes queued just before it and close the
        # connection inside their transaction. The thread closes it after its last batch.
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    # -- on the worker thread --------------------------------------------------------------
    def _main(self, path: str, ready: asyncio.Future[None]) -> None:
        try:
            conn = sqlite_schema.connect(path)
        except BaseException as exc:  # hand any failure to the awaiting opener
            self._loop.call_soon_threadsafe(_fail, ready, exc)
            return
        self._loop.call_soon_threadsafe(_succeed, ready, None)
        try:
            self._serve(conn)
        finally:
            conn.close()

    def _serve(self, conn: Conn) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            outcomes = _run_batch(conn, batch)
            self._loop.call_soon_threadsafe(_deliver, outcomes)
            if stop:
                return


def _run_batch(conn: Conn, batch: list[_Job]) -> list[_Outcome]:
    if not any(job.write for job in batch):
        return [_call(conn, job) for job in batch]
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        return [(job, None, exc) for job in batch]
    outcomes: list[_Outcome] = []
    try:
        for job in batch:
            if not job.write:
                outcomes.append(_call(conn, job))
                continue
            conn.execute("SAVEPOINT job")
            outcome = _call(conn, job)
            if outcome[2] is not None:
                conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")
            outcomes.append(outcome)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:  # the transaction itself failed: no write of it happened
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        return [(job, None, exc) for job in batch]
    return outcomes


def _call(conn: Conn, job: _Job) -> _Outcome:
    try:
        return job, job.fn(conn), None
    except Exception as exc:  # handed to the awaiting caller
        return job, None, exc


def _deliver(outcomes: list[_Outcome]) -> None:
    for job, result, error in outcomes:
        if error is None:
            _succeed(job.future, result)
        else:
            _fail(job.future, error)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
