"""Route keys already resolved, kept in memory so that most webhook events of a chat cost no
`get_route` call.

Safe because a route never moves: `put_route` names a key's session once (a dialog, an AXP
session, a correlation id belong to one session), and only `delete_session` removes it. So a
cached session id is either still the store's answer or names a deleted session; the intake
finds the latter when the session does not load, `forget`s the keys and asks the store again
(which then answers as it would have without the cache). Only hits are kept: a key the store
does not know yet may be routed at any time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Final

from axp_chat_connector.store.base import RouteKey

ROUTE_CACHE_SIZE: Final = 50_000
"""Keys kept (the least recently used go first), a few per chat: ~19 MB when full of UUIDs."""


class RouteCache:
    """A bounded least-recently-used map of route key → session id."""

    def __init__(self, size: int = ROUTE_CACHE_SIZE) -> None:
        if size < 1:
            raise ValueError("the route cache holds at least one key")
        self.size = size
        self._sessions: OrderedDict[RouteKey, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, key: RouteKey) -> str | None:
        session_id = self._sessions.get(key)
        if session_id is not None:
            self._sessions.move_to_end(key)
        return session_id

    def put(self, key: RouteKey, session_id: str) -> None:
        """Remember the store's answer for `key`."""
        self._sessions[key] = session_id
        self._sessions.move_to_end(key)
        if len(self._sessions) > self.size:
            self._sessions.popitem(last=False)

    def forget(self, keys: Iterable[RouteKey]) -> None:
        """Drop `keys` (their session is gone): the next lookup asks the store."""
        for key in keys:
            self._sessions.pop(key, None)
