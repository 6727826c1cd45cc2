"""The `Store` protocol: the only durable state shared by connector instances.

Every method is a coroutine and is atomic on its own. Values are JSON-able dicts: the store
does not know the protocol's types. Backend failures surface as
`axp_chat_connector.errors.StoreUnavailable`; `Conflict` is the only other error a caller
handles (re-read and retry).

Times (`now`, `at`, `not_before`, …) are Unix seconds as floats, passed in by the caller, so
tests control them. Methods that take a `ttl` but no `now` use the backend's own clock (the
SQLite store's injectable `clock`, Redis's native key expiry).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from axp_chat_connector.errors import Conflict as Conflict  # re-exported: the store's one error

JSON = dict[str, Any]
"""A JSON object as stored: only dicts, lists, str, int, float, bool and None inside."""

ROUTE_KINDS = ("dialog", "provider_dialog", "axp_session", "correlation")
"""Route kinds used by the webhook receiver (any short string without ':' works)."""


class ClaimState(enum.Enum):
    NEW = "new"
    """Nobody ran this command: the caller runs it, then `complete_command` or `release_command`."""
    PENDING = "pending"
    """Another execution holds the claim and has not finished."""
    DONE = "done"
    """It ran; `ClaimResult.answer` is the stored answer."""


@dataclass(frozen=True, slots=True)
class ClaimResult:
    state: ClaimState
    answer: JSON | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A customer send waiting for delivery to AXP, in order per `dialog_key`."""

    item_id: str
    session_id: str
    dialog_key: str
    payload: JSON
    attempts: int
    not_before: float
    created_at: float
    lease_owner: str | None
    lease_until: float | None
    last_error: str | None = None
    taken_over: bool = False
    """Claimed after another owner's lease ran out: that owner may have sent it already."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """A timer of a session: `kind` is e.g. "chat_idle_warning", "token_renew"."""

    session_id: str
    kind: str
    at: float


@dataclass(frozen=True, slots=True)
class Retention:
    """How many events of a session are kept: at most `count`, none older than `age` s."""

    count: int = 1000
    age: float = 86400.0

    def __post_init__(self) -> None:
        if self.count < 1 or self.age <= 0:
            raise ValueError("retention count must be >= 1 and age > 0")


DEDUPE_TTL = 86400.0
"""Default lifetime of a dedupe key given to `append_events` / `park_event`."""

RouteKey = tuple[str, str]
"""(kind, key), e.g. ("dialog", "d-123")."""

DeadlineAt = tuple[str, float]
"""(kind, at): a session's timer to set, as `set_deadline(session, kind, at)` sets it."""


class Store(Protocol):
    """Sessions, routes, event logs, idempotency, dedupe, parking, outbox, timers, locks."""

    sole_writer: bool
    """Whether this process is the only one writing the store's sessions (one SQLite file:
    yes; Redis, shared by instances: no). The session layer may then remember what it wrote
    (`sessions/memory.py`)."""

    # -- sessions: one JSON document each, versioned for compare-and-set -------------------
    async def create_session(self, session_id: str, doc: JSON, *, now: float) -> int:
        """Store a new session at version 1 and mark it active at `now`.

        Raises `Conflict` if the id exists."""
        ...

    async def get_session(self, session_id: str) -> tuple[JSON, int] | None:
        """(document, version), or None."""
        ...

    async def update_session(self, session_id: str, doc: JSON, *, expected_version: int) -> int:
        """Replace the document if its version is still `expected_version`; the new version.

        Raises `Conflict` when the version moved or the session is gone."""
        ...

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
        """Compare-and-set the session document AND append `events` to its log in one atomic
        step: either both happen or neither (raises `Conflict`, nothing appended, when the
        version moved or the session is gone). Returns (new version, the seqs given; [] when
        `events` is empty). Seqs and retention exactly as `append_events`.

        With `dedupe_key`, as `append_events`: the key is marked in the same step, and a key
        already marked makes it return None with nothing written (the document is not
        compared then: the caller's version is still good). A `Conflict` leaves the key
        unmarked, so the caller's retry (or AXP's redelivery) is not taken for a duplicate.

        `deadlines`: (kind, at) timers of the session set (or moved) as `set_deadline` does,
        with the write and only if it happens (not on a duplicate nor a `Conflict`): the
        timers a write arms cost no call of their own. SQLite sets them in the write's
        transaction; Redis remembers their kinds in the write's script and sets them in the
        index step that follows it on a cluster, in the same script on a single server
        (docs/storage.md: a crash between the two leaves the write without its timers, as a
        crash before a `set_deadline` after it would).

        `notice`: a Redis pub/sub channel on the store's own single server; the write's bus
        notice (`bus.base.notice_text`) is published there in the same step, so the caller
        need not ring the bus. Any other store raises `ValueError` when given one."""
        ...

    async def delete_session(self, session_id: str) -> None:
        """Drop the session with its event log, idempotency records, routes, deadlines and
        activity. Idempotent. Outbox items and parked events are not touched."""
        ...

    # -- routes (webhook routing) ---------------------------------------------------------
    async def put_route(
        self, kind: str, key: str, session_id: str, *, ttl: float | None = None
    ) -> None: ...

    async def get_route(self, kind: str, key: str) -> str | None: ...

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
        """Append in one atomic step; the seqs given (gapless, never reused).

        The stored copy of each event carries `"seq"`; the caller's dicts are not modified.
        Retention (count and age, relative to `now`) is enforced in the same step. Publishes
        nothing: the caller then does `bus.publish(session_id, seqs[-1])`.

        With `dedupe_key`: append only if the key is not marked (within `dedupe_ttl` s of its
        marking), and mark it in the same atomic step; `[]` (nothing appended) for a
        duplicate. A webhook event is then either appended and marked, or neither (a failed
        append never leaves a marked key that would drop AXP's redelivery)."""
        ...

    async def read_events(self, session_id: str, after: int, limit: int) -> list[JSON]:
        """Kept events with seq > `after`, in seq order, at most `limit`."""
        ...

    async def last_seq(self, session_id: str) -> int:
        """The last seq given (0 if none), even if that event was trimmed since."""
        ...

    async def oldest_seq(self, session_id: str) -> int:
        """The first seq still kept; `last_seq + 1` when none is kept.

        A client that has `after` has a gap when `after + 1 < oldest_seq`."""
        ...

    async def trim_events(self, session_id: str, upto_seq: int) -> None:
        """Drop events with seq <= `upto_seq` (client acks). Seqs are never reused."""
        ...

    # -- idempotency of client commands ---------------------------------------------------
    async def claim_command(self, session_id: str, command_id: str, *, ttl: float) -> ClaimResult:
        """NEW (the caller runs it; the claim lapses after `ttl` s if never completed or
        released), PENDING (another execution holds it) or DONE (with the stored answer)."""
        ...

    async def complete_command(
        self, session_id: str, command_id: str, answer: JSON, *, ttl: float
    ) -> None:
        """Store the answer for `ttl` s; later claims get DONE with it."""
        ...

    async def release_command(self, session_id: str, command_id: str) -> None:
        """Forget a claim whose execution failed before any side effect."""
        ...

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
        """Keep `event` until one of its route keys is taken, or until `now + ttl`.

        With `dedupe_key`, as `append_events`: park and mark atomically, or return False for a
        duplicate (nothing parked). The key stays marked when the event is later taken and
        appended (append it without `dedupe_key`). Callers then look the route up again: if it
        resolved meanwhile, `take_parked` it."""
        ...

    async def take_parked(self, kind: str, key: str) -> list[JSON]:
        """Remove and return the events parked under (kind, key), oldest first (they are
        removed from their other keys too)."""
        ...

    async def expired_parked(self, now: float, limit: int) -> list[JSON]:
        """Remove and return at most `limit` parked events whose TTL passed, oldest first."""
        ...

    # -- outbox ---------------------------------------------------------------------------
    async def outbox_add(
        self, session_id: str, item_id: str, dialog_key: str, payload: JSON, *, now: float
    ) -> None:
        """Queue an item behind the others of `dialog_key`. An existing `item_id` is kept
        as it is (adding is idempotent)."""
        ...

    async def outbox_claim(
        self, owner: str, *, now: float, lease: float, limit: int
    ) -> list[OutboxItem]:
        """Lease the oldest item of at most `limit` dialogs to `owner` until `now + lease`.

        Only a dialog whose oldest item is due (`not_before <= now`) and not leased to anyone
        (or whose lease ran out) qualifies, so a dialog is delivered by one owner at a time
        and in order; the items behind a head in backoff wait. An item whose previous lease ran
        out (its owner neither finished nor released it) is returned with `taken_over`."""
        ...

    async def outbox_done(self, item_id: str) -> None:
        """Delivered (or failed for good): remove the item; its dialog's next item is due."""
        ...

    async def outbox_retry(
        self, item_id: str, *, not_before: float, attempts: int, last_error: str | None
    ) -> None:
        """Release the lease and make the item due again at `not_before`."""
        ...

    async def outbox_depth(self) -> int:
        """Items waiting in all sessions (the `axp_chat_outbox_depth` gauge)."""
        ...

    # -- activity and timers (inactivity sweeper) -----------------------------------------
    async def touch_session(self, session_id: str, *, now: float) -> None:
        """Record activity (a command or a connection) at `now`."""
        ...

    async def idle_sessions(self, before: float, limit: int) -> list[str]:
        """Sessions whose last activity is before `before`, least recent first."""
        ...

    async def set_deadline(self, session_id: str, kind: str, at: float) -> None:
        """Set (or move) the session's timer `kind` to fire at `at`."""
        ...

    async def due_deadlines(self, now: float, limit: int, *, lease: float = 30.0) -> list[Deadline]:
        """Deadlines with `at <= now`, earliest first; each returned one is hidden from other
        callers for `lease` s (so two sweepers do not both fire it) and comes back after that
        unless cleared or set again. `Deadline.at` is the time it was set for."""
        ...

    async def clear_deadline(self, session_id: str, kind: str, *, at: float | None = None) -> None:
        """Remove the timer; with `at`, only if it is still set for that time (a timer moved
        meanwhile by a command survives the sweeper's clear)."""
        ...

    # -- locks ----------------------------------------------------------------------------
    async def try_lock(self, name: str, owner: str, *, ttl: float) -> bool:
        """Take (or, for the same owner, extend) the lock for `ttl` s; False if held by
        another owner."""
        ...

    async def unlock(self, name: str, owner: str) -> None:
        """Release the lock if `owner` holds it."""
        ...

    # -- lifecycle ------------------------------------------------------------------------
    async def ping(self) -> None:
        """Raise `StoreUnavailable` unless the backend answers."""
        ...

    async def close(self) -> None: ...
