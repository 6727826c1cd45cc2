"""The plumbing every part of `SqliteStore` shares: the worker hop, write batching, purging.

`SqliteBase` owns the connection's worker thread; each store method builds one function of a
`Conn` and hands it to `_run` (reads) or `_write` (one transaction, shared with the writes
queued with it). Every `_PURGE_EVERY`th write also drops a batch of expired rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TypeVar

from axp_chat_connector.errors import StoreUnavailable
from axp_chat_connector.store.base import JSON, Retention
from axp_chat_connector.store.sqlite_worker import Conn, SqliteWorker

T = TypeVar("T")

_PURGE_EVERY = 1000
_PURGE_BATCH = 500


def dumps(value: JSON) -> str:
    """Compact JSON text, as every table stores it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class SqliteBase:
    """The worker, the retention policy and the clock, and the two ways to run on the worker."""

    def __init__(
        self,
        worker: SqliteWorker,
        *,
        retention: Retention,
        clock: Callable[[], float],
    ) -> None:
        self._worker = worker
        self._retention = retention
        self._clock = clock
        self._writes = 0
        self._closed = False

    async def _submit(self, fn: Callable[[Conn], T], *, write: bool) -> T:
        if self._closed:
            raise StoreUnavailable("store is closed")
        try:
            result: T = await self._worker.submit(fn, write=write)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite: {exc}") from exc
        return result

    async def _run(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn` (reads only) on the store's connection."""
        return await self._submit(fn, write=False)

    async def _write(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn` inside a write transaction (shared with other writes queued with it)."""
        self._writes += 1
        if self._writes % _PURGE_EVERY == 0:
            purge_now = self._clock()

            def with_purge(conn: Conn) -> T:
                result = fn(conn)
                _purge_expired(conn, purge_now)
                return result

            return await self._submit(with_purge, write=True)
        return await self._submit(fn, write=True)

    async def ping(self) -> None:
        await self._run(lambda conn: conn.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._worker.stop()


def mark_dedupe(conn: Conn, key: str, now: float, ttl: float) -> bool:
    """Mark a dedupe key; whether it was unmarked (or expired)."""
    cursor = conn.execute(
        "INSERT INTO dedupe (key, expires_at) VALUES (?1, ?2) ON CONFLICT (key) "
        "DO UPDATE SET expires_at = excluded.expires_at WHERE expires_at <= ?3",
        (key, now + ttl, now),
    )
    return cursor.rowcount == 1


def upsert_deadline(conn: Conn, session_id: str, kind: str, at: float) -> None:
    """Set (or move) a session's timer: `set_deadline`, and the timers a write arms with it."""
    conn.execute(
        "INSERT INTO deadlines (session_id, kind, at, due) VALUES (?1, ?2, ?3, ?3) "
        "ON CONFLICT (session_id, kind) DO UPDATE SET at = excluded.at, due = excluded.due",
        (session_id, kind, at),
    )


_EXPIRING = {
    "dedupe": "key",
    "commands": "session_id, command_id",
    "routes": "kind, key",
    "locks": "name",
}


def _purge_expired(conn: Conn, now: float) -> None:
    """Drop a batch of expired dedupe keys, command records, routes and locks."""
    for table, key in _EXPIRING.items():
        conn.execute(
            f"DELETE FROM {table} WHERE ({key}) IN "  # noqa: S608 - fixed names
            f"(SELECT {key} FROM {table} WHERE expires_at <= ? LIMIT {_PURGE_BATCH})",
            (now,),
        )
