"""Work that waits on SQLite: parked webhook events, the outbox, activity and timers, locks."""

from __future__ import annotations

import json
from typing import Any

from axp_chat_connector.store.base import DEDUPE_TTL, JSON, Deadline, OutboxItem, RouteKey
from axp_chat_connector.store.sqlite_base import SqliteBase, dumps, mark_dedupe, upsert_deadline
from axp_chat_connector.store.sqlite_worker import Conn


class SqliteQueues(SqliteBase):
    """The `Store` methods on parked events, the outbox, deadlines, activity and locks."""

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
        text = dumps(event)
        keys = list(dict.fromkeys(route_keys))
        clock_now = self._clock()

        def op(conn: Conn) -> bool:
            if dedupe_key is not None and not mark_dedupe(conn, dedupe_key, clock_now, dedupe_ttl):
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
        args = (item_id, session_id, dialog_key, dumps(payload), now, now)
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
        await self._write(lambda conn: upsert_deadline(conn, session_id, kind, at))

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


def _drop_parked(conn: Conn, ids: list[int]) -> None:
    conn.executemany("DELETE FROM parked WHERE id = ?", [(i,) for i in ids])
    conn.executemany("DELETE FROM parked_keys WHERE parked_id = ?", [(i,) for i in ids])


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
