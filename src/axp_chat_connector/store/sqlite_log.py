"""Sessions, their event log, routes and command idempotency, on SQLite.

The session document and its event log change together (`update_session_and_append`: one
transaction with the dedupe mark, the compare-and-set and the append), so they live together.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from axp_chat_connector.store.base import (
    DEDUPE_TTL,
    JSON,
    ClaimResult,
    ClaimState,
    Conflict,
    DeadlineAt,
)
from axp_chat_connector.store.sqlite_base import SqliteBase, dumps, mark_dedupe, upsert_deadline
from axp_chat_connector.store.sqlite_worker import Conn


class SqliteSessionLog(SqliteBase):
    """The `Store` methods on sessions, events, routes and commands."""

    # -- sessions -------------------------------------------------------------------------
    async def create_session(self, session_id: str, doc: JSON, *, now: float) -> int:
        text = dumps(doc)

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
        text = dumps(doc)

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
        deadlines: Sequence[DeadlineAt] = (),
        notice: str | None = None,
    ) -> tuple[int, list[int]] | None:
        if notice is not None:
            raise ValueError("SQLite has no pub/sub channel to publish a notice on")
        text = dumps(doc)
        bodies = _bodies(events)
        keep_count = self._retention.count
        cutoff = now - self._retention.age
        clock_now = self._clock()
        timers = list(deadlines)

        def op(conn: Conn) -> tuple[int, list[int]] | None:
            # One job: a Conflict rolls back its savepoint (nothing of it stays, the dedupe
            # mark included); the CAS runs before the append, so a lost one does not even
            # touch the seq counter. The timers go with the write (the same hop).
            if dedupe_key is not None and not mark_dedupe(conn, dedupe_key, clock_now, dedupe_ttl):
                return None
            version = _compare_and_set(conn, session_id, text, expected_version)
            seqs = _append(conn, session_id, bodies, now, keep_count, cutoff) if bodies else []
            for kind, at in timers:
                upsert_deadline(conn, session_id, kind, at)
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
            if dedupe_key is not None and not mark_dedupe(conn, dedupe_key, clock_now, dedupe_ttl):
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
        args = (session_id, command_id, dumps(answer), self._clock() + ttl)
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
    return [dumps({k: v for k, v in event.items() if k != "seq"}) for event in events]


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
