"""The scale-out store: Redis, standalone or Redis Cluster.

Keys start with the URL's `prefix` (default `axp:`) and carry a Redis Cluster hash tag: a
session's keys share the tag `{<session id>}`, the cross-session indexes (activity, deadlines,
parking, outbox, dedupe marks) share one index tag. A step that changes keys of one tag is one
command or one Lua script (`redis_scripts`); a step that spans a session and an index is a few
ordered steps, each ordered so that a crash between them leaves nothing lost (docs/storage.md
gives the reasoning per index). The same code runs on a single server.

The parts: `redis_keys` (client, scripts, key names), `redis_queues` (parking, outbox,
activity, deadlines, locks), and here the sessions, their events and command claims.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from axp_chat_connector.bus.base import CARRY_MAX_BYTES
from axp_chat_connector.errors import StoreUnavailable
from axp_chat_connector.store.base import (
    DEDUPE_TTL,
    JSON,
    ClaimResult,
    ClaimState,
    Conflict,
    DeadlineAt,
    Retention,
)
from axp_chat_connector.store.redis_connect import close_client, make_client, split_url
from axp_chat_connector.store.redis_keys import deadline_member, dumps, ms
from axp_chat_connector.store.redis_queues import RedisQueues


class RedisStore(RedisQueues):
    """`Store` on Redis. Open with `await RedisStore.open(url)`."""

    sole_writer = False

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
        created = await self._eval("CREATE_SESSION", [self._session(session_id)], [dumps(doc)])
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
            "UPDATE_SESSION", [self._session(session_id)], [dumps(doc), expected_version]
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
        deadlines: Sequence[DeadlineAt] = (),
        notice: str | None = None,
    ) -> tuple[int, list[int]] | None:
        """One round trip on a single server (the script checks and sets both dedupe marks
        and sets the timers too). On a cluster up to three: `EXISTS` of the index slot's mark,
        the session's script (the write, its own mark, the timers' kinds), then one index step
        for the timers and the index mark (`SET_DEADLINES`; a plain `SET` when there are no
        timers). Those steps cannot share a pipeline: each runs only on the previous one's
        answer."""
        retention = self._retention
        if notice is not None and not self._one_server:
            raise ValueError("a bus notice goes with the write on a single Redis server only")
        timers = list(dict(deadlines).items())  # one per kind: the last one given wins
        # built before the write: a bad kind fails with nothing written
        index_keys, index_args = self._deadline_step(session_id, timers, dedupe_key, dedupe_ttl)
        keys = [
            self._session(session_id),
            self._seq(session_id),
            self._events(session_id),
            self._session_dedupe(session_id, dedupe_key),
            self._of(session_id, "dls"),
        ]
        args: list[Any] = [
            dumps(doc),
            expected_version,
            repr(now),
            retention.count,
            repr(now - retention.age),
            "" if dedupe_key is None else ms(dedupe_ttl),
            notice or "",
            CARRY_MAX_BYTES,
            len(timers),
            *(kind for kind, _ in timers),
        ]
        if self._one_server:
            keys += [index_keys[2], index_keys[0], index_keys[1]]
            args += index_args[1:]
        elif await self._marked(dedupe_key):
            return None
        result = await self._eval("UPDATE_AND_APPEND", keys, [*args, *_bodies(events)])
        if result == -1:
            return None
        if not result:
            raise Conflict(f"session {session_id} is not at version {expected_version}")
        if not self._one_server:
            if timers:
                await self._eval("SET_DEADLINES", index_keys, index_args)
            else:
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
                await self._r.set(self._dedupe(dedupe_key), "1", px=ms(ttl))

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
                [deadline_member(session_id, kind) for kind in sorted(kinds)],
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
            await self._r.set(route, session_id, px=None if ttl is None else ms(ttl))

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
                    "" if dedupe_key is None else ms(dedupe_ttl),
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
            [ms(ttl), command_id],
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
            [ms(ttl), command_id, dumps(answer)],
        )

    async def release_command(self, session_id: str, command_id: str) -> None:
        await self._eval("RELEASE_COMMAND", [self._command(session_id, command_id)], [])

    # -- parked webhook events ------------------------------------------------------------


def _bodies(events: list[JSON]) -> list[str]:
    """Each event's JSON without a caller-given "seq" and without its leading "{" (the append
    script puts "seq" first)."""
    return [dumps({k: v for k, v in e.items() if k != "seq"})[1:] for e in events]


def _seqs_upto(last: int, count: int) -> list[int]:
    """The `count` consecutive seqs ending at `last`."""
    return list(range(last - count + 1, last + 1)) if count else []
