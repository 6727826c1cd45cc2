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
import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from axp_chat_connector.errors import StoreUnavailable
from axp_chat_connector.store.base import (
    DEDUPE_TTL,
    JSON,
    ClaimResult,
    ClaimState,
    Conflict,
    Deadline,
    OutboxItem,
    Retention,
    RouteKey,
)
from axp_chat_connector.store.sqlite_worker import Conn, SqliteWorker

T = TypeVar("T")

_PURGE_EVERY = 1000
_PURGE_BATCH = 500


def _dumps(value: JSON) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _outbox_item(row: tuple[Any, ...], *, taken_over: bool = False) -> OutboxItem:
    return OutboxItem(
        item_id=row[0],
        session_id=row[1],
        dialog_key=row[2],
        payload=json.loads(row[3]),
        attempts=row[4],
        not_before=row[5],
        created_at=row[6],
        lease_owner=row[7],
        lease_until=row[8],
        last_error=row[9],
        taken_over=taken_over,
    )


class SqliteStore:
    """`Store` on one SQLite file. Open with `await SqliteStore.open(path)`."""

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

    # -- plumbing -------------------------------------------------------------------------
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

    # -- sessions -------------------------------------------------------------------------
    async def create_session(self, session_id: str, doc: JSON, *, now: float) -> int:
        text = _dumps(doc)

        def op(conn: Conn) -> int:
            try:
                conn.execute(
                    "INSERT INTO sessions (id, doc, version, created_at) VALUES (?, ?, 1, ?)",
                    (session_id, text, now),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"session {session_id} exists") from exc
            conn.execute(
                "INSERT INTO activity (session_id, at) VALUES (?, ?) "
                "ON CONFLICT (session_id) DO UPDATE SET at = excluded.at",
                (session_id, now),
            )
            return 1

        return await self._write(op)

    async def get_session(self, session_id: str) -> tuple[JSON, int] | None:
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT doc, version FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        )
        if row is None:
            return None
        return json.loads(row[0]), row[1]

    async def update_session(self, session_id: str, doc: JSON, *, expected_version: int) -> int:
        text = _dumps(doc)

        def op(conn: Conn) -> int:
            return _compare_and_set(conn, session_id, text, expected_version)

        return await self._write(op)

    async def update_session_and_append(
        self,
        session_id: str,
        doc: JSON,
        *,
        expected_version: int,
        events: list[JSON],
        now: float,
        dedupe_key: str | None = None,
        dedupe_ttl: float = DEDUPE_TTL,
    ) -> tuple[int, list[int]] | None:
        text = _dumps(doc)
        bodies = _bodies(events)
        keep_count = self._retention.count
        cutoff = now - self._retention.age
        clock_now = self._clock()

        def op(conn: Conn) -> tuple[int, list[int]] | None:
            # One job: a Conflict rolls back its savepoint (nothing of it stays, the dedupe
            # mark included); the CAS runs before the append, so a lost one does not even
            # touch the seq counter.
            if dedupe_key is not None and not _mark(conn, dedupe_key, clock_now, dedupe_ttl):
                return None
            version = _compare_and_set(conn, session_id, text, expected_version)
            seqs = _append(conn, session_id, bodies, now, keep_count, cutoff) if bodies else []
            return version, seqs

        return await self._write(op)

    async def delete_session(self, session_id: str) -> None:
        def op(conn: Conn) -> None:
            args = (session_id,)
            conn.execute("DELETE FROM sessions WHERE id = ?", args)
            conn.execute("DELETE FROM events WHERE session_id = ?", args)
            conn.execute("DELETE FROM event_heads WHERE session_id = ?", args)
            conn.execute("DELETE FROM commands WHERE session_id = ?", args)
            conn.execute("DELETE FROM routes WHERE session_id = ?", args)
            conn.execute("DELETE FROM deadlines WHERE session_id = ?", args)
            conn.execute("DELETE FROM activity WHERE session_id = ?", args)

        await self._write(op)

    # -- routes ---------------------------------------------------------------------------
    async def put_route(
        self, kind: str, key: str, session_id: str, *, ttl: float | None = None
    ) -> None:
        expires = None if ttl is None else self._clock() + ttl
        await self._write(
            lambda conn: conn.execute(
                "INSERT INTO routes (kind, key, session_id, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET session_id = excluded.session_id, "
                "expires_at = excluded.expires_at",
                (kind, key, session_id, expires),
            )
        )

    async def get_route(self, kind: str, key: str) -> str | None:
        now = self._clock()
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT session_id FROM routes WHERE kind = ? AND key = ? "
                "AND (expires_at IS NULL OR expires_at > ?)",
                (kind, key, now),
            ).fetchone()
        )
        return None if row is None else str(row[0])

    # -- event log ------------------------------------------------------------------------
    async def append_events(
        self,
        session_id: str,
        events: list[JSON],
        *,
        now: float,
        dedupe_key: str | None = None,
        dedupe_ttl: float = DEDUPE_TTL,
    ) -> list[int]:
        if not events:
            return []
        clock_now = self._clock()
        bodies = _bodies(events)
        keep_count = self._retention.count
        cutoff = now - self._retention.age

        def op(conn: Conn) -> list[int]:
            if dedupe_key is not None and not _mark(conn, dedupe_key, clock_now, dedupe_ttl):
                return []
            return _append(conn, session_id, bodies, now, keep_count, cutoff)

        return await self._write(op)

    async def read_events(self, session_id: str, after: int, limit: int) -> list[JSON]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT event FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (session_id, after, limit),
            ).fetchall()
        )
        return [json.loads(row[0]) for row in rows]

    async def last_seq(self, session_id: str) -> int:
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT last_seq FROM event_heads WHERE session_id = ?", (session_id,)
            ).fetchone()
        )
        return 0 if row is None else int(row[0])

    async def oldest_seq(self, session_id: str) -> int:
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT coalesce("
                " (SELECT min(seq) FROM events WHERE session_id = ?1),"
                " (SELECT last_seq FROM event_heads WHERE session_id = ?1) + 1, 1)",
                (session_id,),
            ).fetchone()
        )
        return int(row[0])

    async def trim_events(self, session_id: str, upto_seq: int) -> None:
        await self._write(
            lambda conn: conn.execute(
                "DELETE FROM events WHERE session_id = ? AND seq <= ?", (session_id, upto_seq)
            )
        )

    # -- idempotency ----------------------------------------------------------------------
    async def claim_command(self, session_id: str, command_id: str, *, ttl: float) -> ClaimResult:
        now = self._clock()

        def op(conn: Conn) -> ClaimResult:
            row = conn.execute(
                "SELECT answer, expires_at FROM commands WHERE session_id = ? AND command_id = ?",
                (session_id, command_id),
            ).fetchone()
            if row is not None and row[1] > now:
                if row[0] is None:
                    return ClaimResult(ClaimState.PENDING)
                return ClaimResult(ClaimState.DONE, json.loads(row[0]))
            conn.execute(
                "INSERT INTO commands (session_id, command_id, answer, expires_at) "
                "VALUES (?, ?, NULL, ?) ON CONFLICT (session_id, command_id) "
                "DO UPDATE SET answer = NULL, expires_at = excluded.expires_at",
                (session_id, command_id, now + ttl),
            )
            return ClaimResult(ClaimState.NEW)

        return await self._write(op)

    async def complete_command(
        self, session_id: str, command_id: str, answer: JSON, *, ttl: float
    ) -> None:
        args = (session_id, command_id, _dumps(answer), self._clock() + ttl)
        await self._write(
            lambda conn: conn.execute(
                "INSERT INTO commands (session_id, command_id, answer, expires_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (session_id, command_id) "
                "DO UPDATE SET answer = excluded.answer, expires_at = excluded.expires_at",
                args,
            )
        )

    async def release_command(self, session_id: str, command_id: str) -> None:
        await self._write(
            lambda conn: conn.execute(
                "DELETE FROM commands WHERE session_id = ? AND command_id = ? AND answer IS NULL",
                (session_id, command_id),
            )
        )

    # -- parked webhook events ------------------------------------------------------------
    async def park_event(
        self,
        route_keys: list[RouteKey],
        event: JSON,
        *,
        ttl: float,
        now: float,
        dedupe_key: str | None = None,
        dedupe_ttl: float = DEDUPE_TTL,
    ) -> bool:
        text = _dumps(event)
        keys = list(dict.fromkeys(route_keys))
        clock_now = self._clock()

        def op(conn: Conn) -> bool:
            if dedupe_key is not None and not _mark(conn, dedupe_key, clock_now, dedupe_ttl):
                return False
            cursor = conn.execute(
                "INSERT INTO parked (event, expires_at) VALUES (?, ?)", (text, now + ttl)
            )
            parked_id = cursor.lastrowid
            conn.executemany(
                "INSERT INTO parked_keys (kind, key, parked_id) VALUES (?, ?, ?)",
                [(kind, key, parked_id) for kind, key in keys],
            )
            return True

        return await self._write(op)

    async def take_parked(self, kind: str, key: str) -> list[JSON]:
        def op(conn: Conn) -> list[JSON]:
            rows = conn.execute(
                "SELECT p.id, p.event FROM parked_keys k JOIN parked p ON p.id = k.parked_id "
                "WHERE k.kind = ? AND k.key = ? ORDER BY p.id",
                (kind, key),
            ).fetchall()
            _drop_parked(conn, [row[0] for row in rows])
            return [json.loads(row[1]) for row in rows]

        return await self._write(op)

    async def expired_parked(self, now: float, limit: int) -> list[JSON]:
        def op(conn: Conn) -> list[JSON]:
            rows = conn.execute(
                "SELECT id, event FROM parked WHERE expires_at <= ? ORDER BY expires_at, id "
                "LIMIT ?",
                (now, limit),
            ).fetchall()
            _drop_parked(conn, [row[0] for row in rows])
            return [json.loads(row[1]) for row in rows]

        return await self._write(op)

    # -- outbox ---------------------------------------------------------------------------
    async def outbox_add(
        self, session_id: str, item_id: str, dialog_key: str, payload: JSON, *, now: float
    ) -> None:
        args = (item_id, session_id, dialog_key, _dumps(payload), now, now)
        await self._write(
            lambda conn: conn.execute(
                "INSERT INTO outbox (item_id, session_id, dialog_key, payload, not_before, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (item_id) DO NOTHING",
                args,
            )
        )

    async def outbox_claim(
        self, owner: str, *, now: float, lease: float, limit: int
    ) -> list[OutboxItem]:
        def op(conn: Conn) -> list[OutboxItem]:
            rows = conn.execute(
                "SELECT n, item_id, session_id, dialog_key, payload, attempts, not_before, "
                "created_at, "
                "lease_owner, lease_until, last_error FROM outbox WHERE n IN "
                "(SELECT min(n) FROM outbox GROUP BY dialog_key) "
                "AND not_before <= ?1 AND (lease_until IS NULL OR lease_until <= ?1) "
                "ORDER BY n LIMIT ?2",
                (now, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE n = ?",
                [(owner, now + lease, row[0]) for row in rows],
            )
            return [
                _outbox_item(
                    (*row[1:8], owner, now + lease, row[10]), taken_over=row[8] is not None
                )
                for row in rows
            ]

        return await self._write(op)

    async def outbox_done(self, item_id: str) -> None:
        await self._write(
            lambda conn: conn.execute("DELETE FROM outbox WHERE item_id = ?", (item_id,))
        )

    async def outbox_retry(
        self, item_id: str, *, not_before: float, attempts: int, last_error: str | None
    ) -> None:
        await self._write(
            lambda conn: conn.execute(
                "UPDATE outbox SET not_before = ?, attempts = ?, last_error = ?, "
                "lease_owner = NULL, lease_until = NULL WHERE item_id = ?",
                (not_before, attempts, last_error, item_id),
            )
        )

    async def outbox_depth(self) -> int:
        row = await self._run(lambda conn: conn.execute("SELECT count(*) FROM outbox").fetchone())
        return int(row[0])

    # -- activity and timers --------------------------------------------------------------
    async def touch_session(self, session_id: str, *, now: float) -> None:
        await self._write(
            lambda conn: conn.execute(
                "INSERT INTO activity (session_id, at) VALUES (?, ?) "
                "ON CONFLICT (session_id) DO UPDATE SET at = max(at, excluded.at)",
                (session_id, now),
            )
        )

    async def idle_sessions(self, before: float, limit: int) -> list[str]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT session_id FROM activity WHERE at < ? ORDER BY at LIMIT ?",
                (before, limit),
            ).fetchall()
        )
        return [str(row[0]) for row in rows]

    async def set_deadline(self, session_id: str, kind: str, at: float) -> None:
        await self._write(
            lambda conn: conn.execute(
                "INSERT INTO deadlines (session_id, kind, at, due) VALUES (?1, ?2, ?3, ?3) "
                "ON CONFLICT (session_id, kind) DO UPDATE SET at = excluded.at, due = excluded.due",
                (session_id, kind, at),
            )
        )

    async def due_deadlines(self, now: float, limit: int, *, lease: float = 30.0) -> list[Deadline]:
        def op(conn: Conn) -> list[Deadline]:
            rows = conn.execute(
                "SELECT session_id, kind, at FROM deadlines WHERE due <= ? ORDER BY due LIMIT ?",
                (now, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE deadlines SET due = ? WHERE session_id = ? AND kind = ?",
                [(now + lease, row[0], row[1]) for row in rows],
            )
            return [Deadline(row[0], row[1], row[2]) for row in rows]

        return await self._write(op)

    async def clear_deadline(self, session_id: str, kind: str, *, at: float | None = None) -> None:
        await self._write(
            lambda conn: conn.execute(
                "DELETE FROM deadlines WHERE session_id = ? AND kind = ? AND (? IS NULL OR at = ?)",
                (session_id, kind, at, at),
            )
        )

    # -- locks ----------------------------------------------------------------------------
    async def try_lock(self, name: str, owner: str, *, ttl: float) -> bool:
        now = self._clock()

        def op(conn: Conn) -> bool:
            cursor = conn.execute(
                "INSERT INTO locks (name, owner, expires_at) VALUES (?1, ?2, ?3) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
                "expires_at = excluded.expires_at WHERE owner = ?2 OR expires_at <= ?4",
                (name, owner, now + ttl, now),
            )
            return cursor.rowcount == 1

        return await self._write(op)

    async def unlock(self, name: str, owner: str) -> None:
        await self._write(
            lambda conn: conn.execute(
                "DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner)
            )
        )


def _compare_and_set(conn: Conn, session_id: str, text: str, expected_version: int) -> int:
    """Replace the document if still at `expected_version`; the new version, or `Conflict`."""
    cursor = conn.execute(
        "UPDATE sessions SET doc = ?, version = version + 1 WHERE id = ? AND version = ?",
        (text, session_id, expected_version),
    )
    if cursor.rowcount != 1:
        raise Conflict(f"session {session_id} is not at version {expected_version}")
    return expected_version + 1


def _bodies(events: list[JSON]) -> list[str]:
    """Each event's JSON without any caller-given "seq" (`_append` puts the real one first)."""
    return [_dumps({k: v for k, v in event.items() if k != "seq"}) for event in events]


def _append(
    conn: Conn, session_id: str, bodies: list[str], now: float, keep_count: int, cutoff: float
) -> list[int]:
    """Append non-empty `bodies` (from `_bodies`) at `now` and enforce retention; the seqs."""
    row = conn.execute(
        "INSERT INTO event_heads (session_id, last_seq) VALUES (?, ?) "
        "ON CONFLICT (session_id) DO UPDATE SET last_seq = last_seq + excluded.last_seq "
        "RETURNING last_seq",
        (session_id, len(bodies)),
    ).fetchone()
    last = int(row[0])
    first = last - len(bodies) + 1
    seqs = list(range(first, last + 1))
    conn.executemany(
        "INSERT INTO events (session_id, seq, at, event) VALUES (?, ?, ?, ?)",
        [
            (
                session_id,
                seq,
                now,
                '{"seq":' + str(seq) + ("," + body[1:] if body != "{}" else "}"),
            )
            for seq, body in zip(seqs, bodies, strict=True)
        ],
    )
    # Count: keep the newest `keep_count`. Age: drop the oldest events until the first young
    # one (walks one row when nothing is old).
    conn.execute(
        "DELETE FROM events WHERE session_id = ?1 AND seq <= ?2 - ?3",
        (session_id, last, keep_count),
    )
    conn.execute(
        "DELETE FROM events WHERE session_id = ?1 AND seq < coalesce(("
        " SELECT seq FROM events WHERE session_id = ?1 AND at >= ?2"
        " ORDER BY seq LIMIT 1), ?3 + 1)",
        (session_id, cutoff, last),
    )
    return seqs


def _mark(conn: Conn, key: str, now: float, ttl: float) -> bool:
    """Mark a dedupe key; whether it was unmarked (or expired)."""
    cursor = conn.execute(
        "INSERT INTO dedupe (key, expires_at) VALUES (?1, ?2) ON CONFLICT (key) "
        "DO UPDATE SET expires_at = excluded.expires_at WHERE expires_at <= ?3",
        (key, now + ttl, now),
    )
    return cursor.rowcount == 1


def _drop_parked(conn: Conn, ids: list[int]) -> None:
    conn.executemany("DELETE FROM parked WHERE id = ?", [(i,) for i in ids])
    conn.executemany("DELETE FROM parked_keys WHERE parked_id = ?", [(i,) for i in ids])


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
