"""The `Bus` protocol: "session S has events up to seq N", and ephemeral events (typing).

The bus is a doorbell, not a mailbox. Durable events live in the store's event log; a
`NewEvents` notice wakes the session's connection pumps, which read the log after their own
cursor. A notice may carry the events it announces (already durable, as the log holds them): a
pump whose cursor is right before them writes them without reading the log. Notices may be lost,
duplicated or arrive out of order (a Redis reconnect, a slow subscriber): pumps also re-read the
log on a timer, so a lost notice delays, never loses. `Ephemeral` events go only to the
listeners subscribed at that moment; losing one loses nothing.

Listeners are plain sync callables run on the event loop: they must return quickly (set an
`asyncio.Event`, put into a bounded queue) and not raise. One listener per connection; no task
per connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

CARRY_MAX_BYTES = 16_384
"""A notice over Redis carries its events when their JSON (`[seq, [events]]`, UTF-8) is at most
this long (the messages of a chat are short; a long one is read from the log)."""


def notice_text(seq: int, events: tuple[dict[str, Any], ...]) -> str:
    """What a Redis notice says: `[seq, [events]]`, or the seq alone (no events given, or
    longer than `CARRY_MAX_BYTES`). The Redis store's write script builds the same text."""
    if events:
        carried = json.dumps([seq, events], separators=(",", ":"), ensure_ascii=False)
        if len(carried.encode()) <= CARRY_MAX_BYTES:
            return carried
    return str(seq)


@dataclass(frozen=True, slots=True)
class NewEvents:
    """The session's log has events up to `seq`; `events`, when the publisher sent them, are
    the last ones up to `seq` (each with its `seq`, as `read_events` returns them)."""

    session_id: str
    seq: int
    events: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Ephemeral:
    """An event that is not kept (e.g. `typing`), for the connections open now."""

    session_id: str
    event: dict[str, Any]


BusMessage = NewEvents | Ephemeral
Listener = Callable[[BusMessage], None]


class Subscription(Protocol):
    def close(self) -> None:
        """Stop delivering to this listener (idempotent, never raises)."""
        ...


class Bus(Protocol):
    async def publish(
        self, session_id: str, seq: int, events: tuple[dict[str, Any], ...] = ()
    ) -> None:
        """Tell every instance's listeners of the session that its log reached `seq`, with
        the `events` just appended up to it (durable already; a bus may drop them: too big)."""
        ...

    async def publish_ephemeral(self, session_id: str, event: dict[str, Any]) -> None:
        """Deliver a not-kept event to the session's listeners on every instance."""
        ...

    async def subscribe(self, session_id: str, listener: Listener) -> Subscription:
        """Call `listener` for each message of the session until the subscription is closed.

        On return the subscription is active (Redis: the channel subscription is confirmed,
        or, if Redis does not answer in time, will be made on reconnection), so a pump that
        subscribes first and then reads the log misses nothing."""
        ...

    async def ping(self) -> None:
        """Raise `StoreUnavailable` unless the bus backend answers."""
        ...

    async def close(self) -> None: ...
