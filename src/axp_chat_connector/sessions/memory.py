"""`SessionMemory`: the session documents this process last read or wrote for AXP's webhooks.

A webhook reads its session and writes it back with the event (compare-and-set on the
version). When this process wrote the session last, the read only gives back what it wrote:
the memory keeps that (record, version) so the next webhook skips the read. It is never
trusted on its own: a remembered record may be stale (another writer, a deleted session), and
only a write whose compare-and-set succeeds proves it was current. So a caller uses a
remembered record only to compute a write; any other outcome (nothing to write, a duplicate,
a conflict) is decided again from a fresh read (`webhooks/intake.py`).

Bounded: the `limit` most recently used sessions (an active chat is written every few
seconds; a session the memory dropped costs one read).
"""

from __future__ import annotations

from axp_chat_connector.sessions.record import SessionRecord

Loaded = tuple[SessionRecord, int]
"""A record and the version it was read or written at."""

DEFAULT_LIMIT = 10_000


class SessionMemory:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("the session memory holds at least one session")
        self.limit = limit
        self._known: dict[str, Loaded] = {}

    def __len__(self) -> int:
        return len(self._known)

    def recall(self, session_id: str) -> Loaded | None:
        """The (record, version) last remembered for the session, or None."""
        return self._known.get(session_id)

    def remember(self, session_id: str, loaded: Loaded) -> None:
        """Keep `loaded` as the session's newest known state (the oldest one goes when full)."""
        known = self._known
        known.pop(session_id, None)  # to the newest end
        known[session_id] = loaded
        if len(known) > self.limit:
            del known[next(iter(known))]

    def refresh(self, session_id: str, loaded: Loaded) -> None:
        """`remember`, for a session the memory holds already (others stay out)."""
        if session_id in self._known:
            self.remember(session_id, loaded)

    def forget(self, session_id: str) -> None:
        self._known.pop(session_id, None)
