"""What every part of the session layer shares: its settings, the store/bus/AXP handles, and the
few steps they all take (read-modify-write a session, append events and ring the bus, end a
chat once).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.bus.base import Bus
from axp_chat_connector.errors import AxpError, AxpNotFound, NotFound
from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.codes import (
    DEFAULT_IDENTIFIER_KINDS,
    ChatEndReason,
    EndedBy,
    SessionEndReason,
)
from axp_chat_connector.sessions.identity import IdTokenPolicy
from axp_chat_connector.sessions.lifecycle import ChatState, Input, Outcome, SessionState, step
from axp_chat_connector.sessions.record import SessionRecord, from_doc, to_doc
from axp_chat_connector.store.base import Conflict, Store

_log = structlog.get_logger(__name__)

Clock = Callable[[], float]

WEBHOOK_STARTED: ContextVar[float | None] = ContextVar("webhook_started", default=None)
"""`time.perf_counter()` when the webhook being handled came in (None outside webhooks)."""

# deadline kinds (the sweeper's timers)
CHAT_IDLE_WARNING = "chat_idle_warning"
CHAT_IDLE = "chat_idle"
TOKEN_RENEW = "token_renew"  # noqa: S105 (a timer name)
MESSAGE_HOLD = "message_hold"
PURGE = "purge"


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    token_secret: str
    token_ttl: timedelta = timedelta(hours=24)
    token_renew_before: timedelta = timedelta(hours=1)
    guest_mode: bool = False
    id_token_policy: IdTokenPolicy | None = None
    identifier_kinds: frozenset[str] = DEFAULT_IDENTIFIER_KINDS
    heartbeat: int = 25
    chat_idle_timeout: float = 600.0
    idle_warning: float = 60.0
    session_idle_timeout: float = 900.0
    hold_window: float = 1.0
    park_ttl: float = 60.0
    dedupe_ttl: float = 86400.0
    dedupe_claim_ttl: float = 30.0
    idempotency_ttl: float = 86400.0
    outbox_lease: float = 30.0
    outbox_max_attempts: int = 8
    outbox_backoff_base: float = 0.5
    outbox_backoff_max: float = 30.0
    settle_wait: float = 3.0
    ended_session_keep: float = 3600.0
    sweep_interval: float = 0.5


class SessionCore:
    """Shared handles and steps; the service, the outbox and the sweeper each hold one."""

    def __init__(
        self,
        *,
        store: Store,
        bus: Bus,
        axp: AxpClient,
        config: ServiceConfig,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.bus = bus
        self.axp = axp
        self.config = config
        self.clock = clock
        self.on_webhook_appended: Callable[[str, int, float], None] | None = None
        """(session id, seq, when the webhook came in): for the webhook-to-client metric."""

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def load(self, session_id: str) -> tuple[SessionRecord, int]:
        found = await self.store.get_session(session_id)
        if found is None:
            raise NotFound("no such session")
        doc, version = found
        return from_doc(doc), version

    async def save(self, record: SessionRecord, version: int) -> int:
        return await self.store.update_session(
            record.session_id, to_doc(record), expected_version=version
        )

    async def change(
        self,
        session_id: str,
        edit: Callable[[SessionRecord], Awaitable[SessionRecord | None] | SessionRecord | None],
        *,
        loaded: tuple[SessionRecord, int] | None = None,
        attempts: int = 8,
    ) -> SessionRecord | None:
        """Read-modify-write with compare-and-set; `edit` returns the new record or None (no
        change). Retried on a conflict with another writer (another instance, a webhook).
        `loaded` is a (record, version) just read, to save the first read."""
        for _ in range(attempts):
            record, version = loaded or await self.load(session_id)
            loaded = None
            result = edit(record)
            updated = await result if isinstance(result, Awaitable) else result
            if updated is None:
                return None
            try:
                await self.save(updated, version)
            except Conflict:
                continue
            return updated
        raise Conflict(f"session {session_id} kept changing")

    async def append(self, session_id: str, new: list[dict[str, Any]]) -> list[int]:
        """Append durable events and ring the bus."""
        if not new:
            return []
        seqs = await self.store.append_events(session_id, new, now=self.clock())
        await self._appended(session_id, seqs)
        return seqs

    async def change_and_append(
        self,
        session_id: str,
        edit: Callable[[SessionRecord], tuple[SessionRecord, list[dict[str, Any]]] | None],
        *,
        loaded: tuple[SessionRecord, int] | None = None,
        attempts: int = 8,
    ) -> tuple[SessionRecord, list[int]] | None:
        """`change`, where `edit` also names the events the change causes: the new document
        and the events are written in one atomic step (a crash between the two cannot leave a
        state that says "done" with its event missing). None when `edit` changed nothing."""
        for _ in range(attempts):
            record, version = loaded or await self.load(session_id)
            loaded = None
            result = edit(record)
            if result is None:
                return None
            updated, new = result
            try:
                if new:
                    _, seqs = await self.store.update_session_and_append(
                        session_id,
                        to_doc(updated),
                        expected_version=version,
                        events=new,
                        now=self.clock(),
                    )
                else:
                    await self.save(updated, version)
                    seqs = []
            except Conflict:
                continue
            await self._appended(session_id, seqs)
            return updated, seqs
        raise Conflict(f"session {session_id} kept changing")

    async def _appended(self, session_id: str, seqs: list[int]) -> None:
        if not seqs:
            return
        started = WEBHOOK_STARTED.get()
        if started is not None and self.on_webhook_appended is not None:
            for seq in seqs:
                self.on_webhook_appended(session_id, seq, started)
        await self.bus.publish(session_id, seqs[-1])

    async def close_chat(
        self, session_id: str, ended_event: dict[str, Any], *, extra: Sequence[dict[str, Any]] = ()
    ) -> bool:
        """Step CHAT_CLOSED; when it proceeds (the chat was live), record it together with
        `extra` events and `chat.ended`, once. False when the chat had already ended."""

        def edit(record: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]] | None:
            move = step(record.phase, Input.CHAT_CLOSED)
            if move.outcome is not Outcome.PROCEED:
                return None
            return _chat_ended(record, move.phase.chat), [*extra, ended_event]

        if await self.change_and_append(session_id, edit) is None:
            return False
        for kind in (CHAT_IDLE_WARNING, CHAT_IDLE, MESSAGE_HOLD):
            await self.store.clear_deadline(session_id, kind)
        _log.info("chat.ended", session_id=session_id, by=ended_event.get("by"))
        return True

    async def finish_session(self, session_id: str, reason: SessionEndReason) -> None:
        """Record the session ENDED with `session.ended` (once), clear its timers, and let it
        be purged after `ended_session_keep`."""
        ended = events.session_ended(self.now(), reason=reason)

        def edit(current: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]] | None:
            if current.state is SessionState.ENDED:
                return None
            chat = ChatState.ENDED if current.chat is not ChatState.NONE else current.chat
            return replace(current, state=SessionState.ENDED, chat=chat), [ended]

        if await self.change_and_append(session_id, edit) is None:
            return
        now = self.clock()
        for kind in (TOKEN_RENEW, CHAT_IDLE, CHAT_IDLE_WARNING):
            await self.store.clear_deadline(session_id, kind)
        await self.store.set_deadline(session_id, PURGE, now + self.config.ended_session_keep)
        _log.info("session.ended", session_id=session_id, reason=reason.value)

    async def end_chat_and_session(self, record: SessionRecord) -> None:
        """AXP forgot the customer's session while a chat was open (PROTOCOL §3):
        `chat.ended` (system) then `session.ended` (UNKNOWN)."""
        ended = chat_ended_event(
            record, self.now(), by=EndedBy.SYSTEM, reason=ChatEndReason.SYSTEM_CLOSED
        )
        await self.close_chat(record.session_id, ended)
        await self.finish_session(record.session_id, SessionEndReason.UNKNOWN)

    async def axp_session_gone(self, record: SessionRecord) -> bool:
        """After a 404 from a call naming the customer's AXP session, an engagement and a
        dialog: ask AXP (Get Session) whether the session itself is gone. True when it is."""
        if record.axp_session_id is None:
            return True
        try:
            await self.axp.get_session(record.axp_session_id)
        except AxpNotFound:
            return True
        except AxpError:
            return False
        return False


def _chat_ended(record: SessionRecord, chat: ChatState) -> SessionRecord:
    return replace(record, chat=chat, participants=frozenset())


def chat_ended_event(
    record: SessionRecord, now: datetime, *, by: EndedBy, reason: ChatEndReason
) -> dict[str, Any]:
    return events.chat_ended(
        now, engagement_id=record.engagement_id, dialog_id=record.dialog_id, by=by, reason=reason
    )
