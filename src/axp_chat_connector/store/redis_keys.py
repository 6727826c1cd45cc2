"""The Redis store's ground floor: the client, its Lua scripts and the key layout.

`RedisKeys` is the base of `redis_queues.RedisQueues` and of `redis.RedisStore`: it holds the
client, the registered scripts (`redis_scripts`), the one error boundary and the names of every
key (which hash tag each carries is explained in `redis.py`'s docstring and docs/storage.md).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from redis.asyncio.cluster import RedisCluster

from axp_chat_connector.store import redis_scripts as lua
from axp_chat_connector.store.base import JSON, Retention
from axp_chat_connector.store.redis_connect import Client, boundary


def dumps(value: JSON) -> str:
    """Compact JSON, as the scripts store it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def ms(seconds: float) -> int:
    """Seconds as whole milliseconds, at least 1 (a Redis PX of 0 is an error)."""
    return max(1, round(seconds * 1000))


def deadline_member(session_id: str, kind: str) -> str:
    """A session's deadline of one kind, as a member of the deadlines index."""
    if "\0" in kind:
        raise ValueError("a deadline kind cannot contain NUL")
    return f"{kind}\0{session_id}"


class RedisKeys:
    """The client, the scripts and the key names the Redis store's parts share."""

    def __init__(self, client: Client, prefix: str, retention: Retention) -> None:
        self._r = client
        self._p = prefix
        self._i = f"{prefix}{{{prefix}i}}:"  # the index keys' prefix, hash tag included
        self._one_server = not isinstance(client, RedisCluster)
        """A single server: a script may span a session's keys and the index keys."""
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
                "SET_DEADLINES",
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

    def _boundary(self) -> contextlib.AbstractAsyncContextManager[None]:
        return boundary("Redis", self._r)

    async def _eval(self, name: str, keys: list[str], args: list[Any]) -> Any:
        async with self._boundary():
            return await self._scripts[name](keys=keys, args=args)

    # -- keys -----------------------------------------------------------------------------
    @property
    def client(self) -> Client:
        """The store's Redis client (a bus on the same server may let the store publish)."""
        return self._r

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
