"""The scale-out store: Redis, standalone or Redis Cluster.

Keys start with the URL's `prefix` (default `axp:`) and carry a Redis Cluster hash tag: a
session's keys share the tag `{<session id>}`, the cross-session indexes (activity, deadlines,
parking, outbox, dedupe marks) share one index tag. A step that changes keys of one tag is one
command or one Lua script (`redis_scripts`); a step that spans a session and an index is a few
ordered steps, each ordered so that a crash between them leaves nothing lost (docs/storage.md
gives the reasoning per index). The same code runs on a single server.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from axp_chat_connector.errors import StoreUnavailable
from axp_chat_connector.store import redis_scripts as lua
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
from axp_chat_connector.store.redis_connect import (
    Client,
    boundary,
    close_client,
    make_client,
    split_url,
)


def _dumps(value: JSON) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


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


class RedisStore:
    """`Store` on Redis. Open with `await RedisStore.open(url)`."""

    def __init__(self, client: Client, prefix: str, retention: Retention) -> None:
        self._r = client
        self._p = prefix
        self._i = f"{prefix}{{{prefix}i}}:"  # the index keys' prefix, hash tag included
        self._retention = retention
        self._scripts = {
            name: self._r.register_script(getattr(lua, name))
            for name in (
                "APPEND",
                "CREATE_SESSION",
                "UPDATE_SESSION",
                "UPDATE_AND_APPEND",
                "DELETE_SESSION_KEYS",
                "DELETE_ROUTE",
                "CLEAR_DEADLINES",
                "SET_DEADLINE",
                "OLDEST_SEQ",
                "CLAIM_COMMAND",
                "COMPLETE_COMMAND",
                "RELEASE_COMMAND",
                "PARK",
                "TAKE_PARKED",
                "EXPIRED_PARKED",
                "OUTBOX_ADD",
                "OUTBOX_CLAIM",
                "OUTBOX_DONE",
                "OUTBOX_RETRY",
                "DUE_DEADLINES",
                "CLEAR_DEADLINE",
                "TRY_LOCK",
                "UNLOCK",
            )
        }

    @classmethod
    async def open(cls, url: str, *, retention: Retention | None = None) -> RedisStore:
        plain_url, prefix = split_url(url)
        store = cls(make_client(plain_url), prefix, retention or Retention())
        try:
            await store.ping()
        except StoreUnavailable:
            await store.close()
            raise
        return store

    def _boundary(self) -> contextlib.AbstractAsyncContextManager[None]:
        return boundary("Redis", self._r)

    async def _eval(self, name: str, keys: list[str], args: list[Any]) -> Any:
        async with self._boundary():
            return await self._scripts[name](keys=keys, args=args)

    # -- keys -----------------------------------------------------------------------------
    def _of(self, sid: str, name: str) -> str:
        """A key of session `sid` (hash tag: the session id)."""
        return f"{self._p}{{{sid}}}:{name}"

    def _session(self, sid: str) -> str:
        return self._of(sid, "s")

    def _seq(self, sid: str) -> str:
        return self._of(sid, "seq")

    def _events(self, sid: str) -> str:
        return self._of(sid, "ev")

    def _command(self, sid: str, cid: str) -> str:
        return self._of(sid, f"cmd:{cid}")

    def _route(self, kind: str, key: str) -> str:
        return f"{self._p}r:{kind}:{key}"

    def _parked_route(self, kind: str, key: str) -> str:
        return f"{self._i}pk:r:{kind}:{key}"

    def _dedupe(self, key: str | None) -> str:
        """The dedupe mark in the index slot (for no key, an unused name: scripts take a fixed
        KEYS list)."""
        return f"{self._i}d:{key}" if key is not None else f"{self._i}d"

    def _session_dedupe(self, sid: str, key: str | None) -> str:
        """The dedupe mark in the session's slot, set in the same script as the append."""
        return self._of(sid, f"d:{key}" if key is not None else "d")

    def _item(self, item_id: str) -> str:
        return f"{self._i}ob:i:{item_id}"

    # -- lifecycle ------------------------------------------------------------------------
    async def ping(self) -> None:
        async with self._boundary():
            await self._r.ping()

    async def close(self) -> None:
        await close_client(self._r)

    # -- sessions -------------------------------------------------------------------------
    async def create_session(self, session_id: str, doc: JSON, *, now: float) -> int:
        # Index first: a crash after it leaves an activity entry without a session (the idle
        # sweep finds nothing to end), never a session the sweep cannot see.
        async with self._boundary():
            await self._r.zadd(f"{self._i}act", {session_id: now}, nx=True)
        created = await self._eval("CREATE_SESSION", [self._session(session_id)], [_dumps(doc)])
        if not created:
            raise Conflict(f"session {session_id} exists")
        return 1

    async def get_session(self, session_id: str) -> tuple[JSON, int] | None:
        async with self._boundary():
            doc, version = await self._r.hmget(self._session(session_id), ["doc", "v"])
        if doc is None or version is None:
            return None
        return json.loads(doc), int(version)

    async def update_session(self, session_id: str, doc: JSON, *, expected_version: int) -> int:
        version = await self._eval(
            "UPDATE_SESSION", [self._session(session_id)], [_dumps(doc), expected_version]
        )
        if not version:
            raise Conflict(f"session {session_id} is not at version {expected_version}")
        return int(version)

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
        retention = self._retention
        if await self._marked(dedupe_key):
            return None
        result = await self._eval(
            "UPDATE_AND_APPEND",
            [
                self._session(session_id),
                self._seq(session_id),
                self._events(session_id),
                self._session_dedupe(session_id, dedupe_key),
            ],
            [
                _dumps(doc),
                expected_version,
                repr(now),
                retention.count,
                repr(now - retention.age),
                "" if dedupe_key is None else _ms(dedupe_ttl),
                *_bodies(events),
            ],
        )
        if result == -1:
            return None
        if not result:
            raise Conflict(f"session {session_id} is not at version {expected_version}")
        await self._mark(dedupe_key, dedupe_ttl)
        version, last = int(result[0]), int(result[1])
        return version, _seqs_upto(last, len(events))

    async def _marked(self, dedupe_key: str | None) -> bool:
        """Whether the index slot's dedupe mark is set (a parked copy, or an append anywhere)."""
        if dedupe_key is None:
            return False
        async with self._boundary():
            return bool(await self._r.exists(self._dedupe(dedupe_key)))

    async def _mark(self, dedupe_key: str | None, ttl: float) -> None:
        """Set the index slot's mark after the session's own mark was set with the append: a
        crash between the two leaves the session's mark, which still stops a redelivery."""
        if dedupe_key is not None:
            async with self._boundary():
                await self._r.set(self._dedupe(dedupe_key), "1", px=_ms(ttl))

    async def delete_session(self, session_id: str) -> None:
        """Routes, then deadlines, then the session's keys, then its activity entry: until
        the last step the idle sweep still sees the session and deletes it again."""
        async with self._boundary():
            routes = {str(r) for r in await self._r.smembers(self._of(session_id, "routes"))}
            kinds = {str(k) for k in await self._r.smembers(self._of(session_id, "dls"))}
        for route in sorted(routes):
            await self._eval("DELETE_ROUTE", [route], [session_id])
        if kinds:
            await self._eval(
                "CLEAR_DEADLINES",
                [f"{self._i}dl", f"{self._i}dl:at"],
                [_deadline_member(session_id, kind) for kind in sorted(kinds)],
            )
        await self._eval(
            "DELETE_SESSION_KEYS",
            [self._of(session_id, name) for name in ("s", "seq", "ev", "cmds", "routes", "dls")],
            [self._of(session_id, "cmd:")],
        )
        async with self._boundary():
            await self._r.zrem(f"{self._i}act", session_id)

    # -- routes ---------------------------------------------------------------------------
    async def put_route(
        self, kind: str, key: str, session_id: str, *, ttl: float | None = None
    ) -> None:
        route = self._route(kind, key)
        async with self._boundary():  # remembered first, so delete_session finds every route it set
            await self._r.sadd(self._of(session_id, "routes"), route)
            await self._r.set(route, session_id, px=None if ttl is None else _ms(ttl))

    async def get_route(self, kind: str, key: str) -> str | None:
        async with self._boundary():
            value = await self._r.get(self._route(kind, key))
        return None if value is None else str(value)

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
        bodies = _bodies(events)
        retention = self._retention
        if await self._marked(dedupe_key):
            return []
        last = int(
            await self._eval(
                "APPEND",
                [
                    self._seq(session_id),
                    self._events(session_id),
                    self._session_dedupe(session_id, dedupe_key),
                ],
                [
                    repr(now),
                    retention.count,
                    repr(now - retention.age),
                    "" if dedupe_key is None else _ms(dedupe_ttl),
                    *bodies,
                ],
            )
        )
        if last == 0:
            return []
        await self._mark(dedupe_key, dedupe_ttl)
        return _seqs_upto(last, len(events))

    async def read_events(self, session_id: str, after: int, limit: int) -> list[JSON]:
        async with self._boundary():
            members: list[Any] = await self._r.zrangebyscore(
                self._events(session_id), f"({after}", "+inf", start=0, num=limit
            )
        return [json.loads(m.split("|", 1)[1]) for m in members]

    async def last_seq(self, session_id: str) -> int:
        async with self._boundary():
            value = await self._r.get(self._seq(session_id))
        return 0 if value is None else int(value)

    async def oldest_seq(self, session_id: str) -> int:
        return int(
            await self._eval("OLDEST_SEQ", [self._events(session_id), self._seq(session_id)], [])
        )

    async def trim_events(self, session_id: str, upto_seq: int) -> None:
        async with self._boundary():
            await self._r.zremrangebyscore(self._events(session_id), "-inf", upto_seq)

    # -- idempotency ----------------------------------------------------------------------
    async def claim_command(self, session_id: str, command_id: str, *, ttl: float) -> ClaimResult:
        record = await self._eval(
            "CLAIM_COMMAND",
            [self._command(session_id, command_id), self._of(session_id, "cmds")],
            [_ms(ttl), command_id],
        )
        if record is None:
            return ClaimResult(ClaimState.NEW)
        if record == "P":
            return ClaimResult(ClaimState.PENDING)
        return ClaimResult(ClaimState.DONE, json.loads(record[1:]))

    async def complete_command(
        self, session_id: str, command_id: str, answer: JSON, *, ttl: float
    ) -> None:
        await self._eval(
            "COMPLETE_COMMAND",
            [self._command(session_id, command_id), self._of(session_id, "cmds")],
            [_ms(ttl), command_id, _dumps(answer)],
        )

    async def release_command(self, session_id: str, command_id: str) -> None:
        await self._eval("RELEASE_COMMAND", [self._command(session_id, command_id)], [])

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
                _dumps(event),
                repr(now + ttl),
                json.dumps(routes),
                "" if dedupe_key is None else _ms(dedupe_ttl),
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
            [item_id, session_id, dialog_key, _dumps(payload), repr(now)],
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
        member = _deadline_member(session_id, kind)
        async with (
            self._boundary()
        ):  # remembered first, so delete_session finds every deadline it set
            await self._r.sadd(self._of(session_id, "dls"), kind)
        await self._eval("SET_DEADLINE", [f"{self._i}dl", f"{self._i}dl:at"], [member, repr(at)])

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
            [_deadline_member(session_id, kind), "" if at is None else repr(at)],
        )
        if cleared:  # a crash before this leaves a stale kind: delete_session's ZREM is a no-op
            async with self._boundary():
                await self._r.srem(self._of(session_id, "dls"), kind)

    # -- locks ----------------------------------------------------------------------------
    async def try_lock(self, name: str, owner: str, *, ttl: float) -> bool:
        taken = await self._eval("TRY_LOCK", [f"{self._p}lock:{name}"], [owner, _ms(ttl)])
        return bool(taken)

    async def unlock(self, name: str, owner: str) -> None:
        await self._eval("UNLOCK", [f"{self._p}lock:{name}"], [owner])


def _bodies(events: list[JSON]) -> list[str]:
    """Each event's JSON without a caller-given "seq" and without its leading "{" (the append
    script puts "seq" first)."""
    return [_dumps({k: v for k, v in e.items() if k != "seq"})[1:] for e in events]


def _seqs_upto(last: int, count: int) -> list[int]:
    """The `count` consecutive seqs ending at `last`."""
    return list(range(last - count + 1, last + 1)) if count else []


def _deadline_member(session_id: str, kind: str) -> str:
    if "\0" in kind:
        raise ValueError("a deadline kind cannot contain NUL")
    return f"{kind}\0{session_id}"
