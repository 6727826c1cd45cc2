"""The Redis store's cross-session queues: parked events, the outbox, activity, deadlines, locks.

`RedisQueues` is a base of `redis.RedisStore`: the `Store` methods whose keys live in the index
hash tag (docs/storage.md gives the reasoning per index).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from axp_chat_connector.store.base import (
    DEDUPE_TTL,
    JSON,
    Deadline,
    DeadlineAt,
    OutboxItem,
    RouteKey,
)
from axp_chat_connector.store.redis_keys import RedisKeys, deadline_member, dumps, ms


def _outbox_item(row: list[Any]) -> OutboxItem:
    item_id, sid, dk, payload, attempts, nb, created, owner, until, error, taken_over = row
    return OutboxItem(
        item_id=item_id,
        session_id=sid,
        dialog_key=dk,
        payload=json.loads(payload),
        attempts=int(attempts),
        not_before=float(nb),
        created_at=float(created),
        lease_owner=owner,
        lease_until=None if until is None else float(until),
        last_error=error,
        taken_over=bool(taken_over),
    )


class RedisQueues(RedisKeys):
    """Parking, the outbox, session activity, deadlines and locks on Redis."""

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
        p = self._i
        routes = list(dict.fromkeys(self._parked_route(kind, key) for kind, key in route_keys))
        parked = await self._eval(
            "PARK",
            [
                f"{p}pk:n",
                f"{p}pk:ev",
                f"{p}pk:keys",
                f"{p}pk:exp",
                self._dedupe(dedupe_key),
                *routes,
            ],
            [
                dumps(event),
                repr(now + ttl),
                json.dumps(routes),
                "" if dedupe_key is None else ms(dedupe_ttl),
            ],
        )
        return bool(parked)

    async def take_parked(self, kind: str, key: str) -> list[JSON]:
        p = self._i
        events: list[str] = await self._eval(
            "TAKE_PARKED",
            [self._parked_route(kind, key), f"{p}pk:ev", f"{p}pk:keys", f"{p}pk:exp"],
            [],
        )
        return [json.loads(e) for e in events]

    async def expired_parked(self, now: float, limit: int) -> list[JSON]:
        p = self._i
        events: list[str] = await self._eval(
            "EXPIRED_PARKED", [f"{p}pk:ev", f"{p}pk:keys", f"{p}pk:exp"], [repr(now), limit]
        )
        return [json.loads(e) for e in events]

    # -- outbox ---------------------------------------------------------------------------
    async def outbox_add(
        self, session_id: str, item_id: str, dialog_key: str, payload: JSON, *, now: float
    ) -> None:
        p = self._i
        await self._eval(
            "OUTBOX_ADD",
            [
                self._item(item_id),
                f"{p}ob:n",
                f"{p}ob:d:{dialog_key}",
                f"{p}ob:ready",
                f"{p}ob:all",
            ],
            [item_id, session_id, dialog_key, dumps(payload), repr(now)],
        )

    async def outbox_claim(
        self, owner: str, *, now: float, lease: float, limit: int
    ) -> list[OutboxItem]:
        rows: list[list[Any]] = await self._eval(
            "OUTBOX_CLAIM",
            [f"{self._i}ob:ready"],
            [self._i, repr(now), repr(now + lease), limit, owner],
        )
        return [_outbox_item(row) for row in rows]

    async def outbox_done(self, item_id: str) -> None:
        p = self._i
        await self._eval(
            "OUTBOX_DONE", [self._item(item_id), f"{p}ob:ready", f"{p}ob:all"], [p, item_id]
        )

    async def outbox_retry(
        self, item_id: str, *, not_before: float, attempts: int, last_error: str | None
    ) -> None:
        await self._eval(
            "OUTBOX_RETRY",
            [self._item(item_id), f"{self._i}ob:ready"],
            [self._i, repr(not_before), attempts, last_error or ""],
        )

    async def outbox_depth(self) -> int:
        async with self._boundary():
            depth: int = await self._r.scard(f"{self._i}ob:all")
        return depth

    # -- activity and timers --------------------------------------------------------------
    async def touch_session(self, session_id: str, *, now: float) -> None:
        async with self._boundary():
            await self._r.zadd(f"{self._i}act", {session_id: now}, gt=True)

    async def idle_sessions(self, before: float, limit: int) -> list[str]:
        async with self._boundary():
            ids: list[Any] = await self._r.zrangebyscore(
                f"{self._i}act", "-inf", f"({before!r}", start=0, num=limit
            )
        return [str(i) for i in ids]

    async def set_deadline(self, session_id: str, kind: str, at: float) -> None:
        """The kind is remembered first (`SADD` to the session's set), so `delete_session`
        finds every deadline it set; on one server both go in one pipeline, which runs them in
        that order. On a cluster the two keys live on different nodes, whose parts of a
        pipeline run in no set order: two round trips there."""
        remembered = self._of(session_id, "dls")
        if isinstance(self._r, RedisCluster):
            async with self._boundary():
                await self._r.sadd(remembered, kind)
            await self._eval("SET_DEADLINES", *self._deadline_step(session_id, [(kind, at)]))
            return
        keys, args = self._deadline_step(session_id, [(kind, at)])
        script = self._scripts["SET_DEADLINES"]
        async with self._boundary():
            pipe = self._r.pipeline(transaction=False)
            pipe.sadd(remembered, kind)
            pipe.evalsha(script.sha, len(keys), *keys, *args)
            results = await pipe.execute(raise_on_error=False)
            failed = next((r for r in results if isinstance(r, Exception)), None)
            if isinstance(failed, NoScriptError):  # a restarted or flushed Redis
                failed = None
                await script(keys=keys, args=args)  # loads it, then runs it
            if failed is not None:
                raise failed

    def _deadline_step(
        self,
        session_id: str,
        deadlines: Sequence[DeadlineAt],
        dedupe_key: str | None = None,
        dedupe_ttl: float = DEDUPE_TTL,
    ) -> tuple[list[str], list[Any]]:
        """KEYS and ARGV of `SET_DEADLINES`: the timers (their kinds remembered by the caller
        before), and the index slot's dedupe mark when `dedupe_key` (a write's index step)."""
        args: list[Any] = ["" if dedupe_key is None else ms(dedupe_ttl)]
        for kind, at in deadlines:
            args += [deadline_member(session_id, kind), repr(at)]
        return [f"{self._i}dl", f"{self._i}dl:at", self._dedupe(dedupe_key)], args

    async def due_deadlines(self, now: float, limit: int, *, lease: float = 30.0) -> list[Deadline]:
        p = self._i
        flat: list[str] = await self._eval(
            "DUE_DEADLINES", [f"{p}dl", f"{p}dl:at"], [repr(now), limit, repr(now + lease)]
        )
        due = []
        for member, at in zip(flat[::2], flat[1::2], strict=True):
            kind, session_id = member.split("\0", 1)
            due.append(Deadline(session_id, kind, float(at)))
        return due

    async def clear_deadline(self, session_id: str, kind: str, *, at: float | None = None) -> None:
        cleared = await self._eval(
            "CLEAR_DEADLINE",
            [f"{self._i}dl", f"{self._i}dl:at"],
            [deadline_member(session_id, kind), "" if at is None else repr(at)],
        )
        if cleared:  # a crash before this leaves a stale kind: delete_session's ZREM is a no-op
            async with self._boundary():
                await self._r.srem(self._of(session_id, "dls"), kind)

    # -- locks ----------------------------------------------------------------------------
    async def try_lock(self, name: str, owner: str, *, ttl: float) -> bool:
        taken = await self._eval("TRY_LOCK", [f"{self._p}lock:{name}"], [owner, ms(ttl)])
        return bool(taken)

    async def unlock(self, name: str, owner: str) -> None:
        await self._eval("UNLOCK", [f"{self._p}lock:{name}"], [owner])
