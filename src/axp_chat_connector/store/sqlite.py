"""The embedded store: one SQLite file in WAL mode.

One connection, owned by one dedicated thread (`sqlite_worker`): each store method is one
function run on that thread, each write inside a `BEGIN IMMEDIATE … COMMIT` transaction (shared,
under load, with the writes queued with it: group commit), so a method costs one hop to the
thread and is atomic, also against other processes opening the same file (they wait on SQLite's
lock, up to `busy_timeout`). `synchronous=NORMAL`: a commit survives a process
crash; a power cut may lose the last commits (not corrupt the file).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable

from axp_chat_connector.errors import StoreUnavailable
from axp_chat_connector.store.base import Retention
from axp_chat_connector.store.sqlite_log import SqliteSessionLog
from axp_chat_connector.store.sqlite_queues import SqliteQueues
from axp_chat_connector.store.sqlite_worker import SqliteWorker


class SqliteStore(SqliteSessionLog, SqliteQueues):
    """`Store` on one SQLite file. Open with `await SqliteStore.open(path)`.

    The methods live by concern: `SqliteSessionLog` (sessions, events, routes, commands) and
    `SqliteQueues` (parked events, outbox, timers, locks), on the shared `SqliteBase` plumbing.
    """

    sole_writer = True

    @classmethod
    async def open(
        cls,
        path: str,
        *,
        retention: Retention | None = None,
        clock: Callable[[], float] = time.time,
    ) -> SqliteStore:
        worker = SqliteWorker(asyncio.get_running_loop())
        try:
            await worker.start(path)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite store: {exc}") from exc
        return cls(worker, retention=retention or Retention(), clock=clock)
