"""`SessionService`: the one place that awaits AXP and the store for a session.

Transports (WebSocket, long polling) are thin over it: they parse frames with
`protocol.codec.parse_command`, check `lifecycle.admit` for the connection's binding, call
`execute`, write `Answer.frame`, and pump events with `events_after` when woken by the bus.
The webhook receiver calls `on_webhook` after authenticating and parsing a callback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from axp_chat_connector.protocol.frames import Command


@dataclass(frozen=True, slots=True)
class Bound:
    """A `login` or `resume` succeeded: the connection now belongs to `session_id` and must
    deliver every durable event with seq > `after` (in order), then follow the bus."""

    session_id: str
    after: int


@dataclass(frozen=True, slots=True)
class Answer:
    frame: dict[str, Any]
    """The `ok` or `error` frame to send (`None`-free; for an `ack` without id: {}). Empty
    dict means: send nothing."""
    bound: Bound | None = None
    """Set when the command bound the connection to a session."""
    close_code: int | None = None
    """Set when the connection must close after sending `frame` (e.g. 4409 session ended)."""


class WebhookOutcome:
    """How a webhook was taken: APPENDED, DUPLICATE, PARKED, IGNORED (all answered 200)."""

    APPENDED = "appended"
    DUPLICATE = "duplicate"
    PARKED = "parked"
    IGNORED = "ignored"


class SessionService:
    async def execute(self, command: Command, *, session_id: str | None) -> Answer:
        """Run one client command for a connection bound to `session_id` (None: unbound; only
        login and resume then). Idempotent per command id; never raises for client errors:
        they come back as `error` frames. Raises `StoreUnavailable` only when the store is down
        (the transport then answers `internal`/retryable)."""
        raise NotImplementedError

    async def session_of_token(self, token: str) -> str:
        """The session a bearer token names (long polling); raises errors.Unauthorized, or
        errors.NotFound when the session has ended."""
        raise NotImplementedError

    async def events_after(self, session_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        """Durable events with seq > `after`, in order (each carries `seq`); raises errors.Gap
        when events after `after` are no longer kept."""
        raise NotImplementedError

    async def last_seq(self, session_id: str) -> int:
        raise NotImplementedError

    async def connection_opened(self, session_id: str) -> None:
        """A connection (or a held long poll) is bound to the session: it is not idle."""
        raise NotImplementedError

    async def connection_closed(self, session_id: str) -> None:
        raise NotImplementedError

    async def on_webhook(self, body: dict[str, Any]) -> str:
        """Dedupe, route, map and append one authenticated AXP callback; a WebhookOutcome."""
        raise NotImplementedError
