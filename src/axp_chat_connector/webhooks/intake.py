"""Webhook intake: one authenticated AXP event into its session.

parse → dedupe → route (or park until the chat is recorded) → `mapping.map_event` → carry out
its decisions (the messageIndex hold, settling our own sends, ending the chat) → append.
The receiver (`receiver.py`) calls `take` and answers 200 (or 503 on `StoreUnavailable`/`Busy`).
"""

from __future__ import annotations

import time
from typing import Any, Final

import structlog

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.axp.models.notification_in_gen import MessageEvent
from axp_chat_connector.errors import AxpError, BadRequest, Busy
from axp_chat_connector.protocol.codes import ChatEndReason, EndedBy
from axp_chat_connector.sessions.closing import Closing, chat_ended_event
from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.hold import MessageHold
from axp_chat_connector.sessions.lifecycle import ChatState
from axp_chat_connector.sessions.mapping import (
    AxpEvent,
    Broadcast,
    ChatView,
    CheckEngagement,
    ConfirmStart,
    Emit,
    EndChat,
    Mapped,
    Park,
    RouteKind,
    SettleOutbox,
    UnknownEvent,
    chat_over,
    dedupe_key,
    map_event,
    parse_webhook_event,
    route_keys,
)
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.records import WEBHOOK_STARTED, Loaded, SessionRecords
from axp_chat_connector.sessions.settlement import Settlement
from axp_chat_connector.sessions.timers import Timers
from axp_chat_connector.store.base import ClaimState, RouteKey, Store

_log = structlog.get_logger(__name__)

ROUTE_KIND: Final[dict[RouteKind, str]] = {
    RouteKind.DIALOG: "dialog",
    RouteKind.PROVIDER_DIALOG: "provider_dialog",
    RouteKind.SESSION: "axp_session",
    RouteKind.CORRELATION: "correlation",
}
_CC_TYPES: Final = frozenset({"AGENT", "BOT", "SUPERVISOR", "SYSTEM"})
WEBHOOK_KEYS: Final = "~webhooks"
"""The idempotency namespace of webhook dedupe keys (no connector session has this id)."""
DEDUPE_CLAIM_TTL: Final = 30.0


class WebhookIntake:
    def __init__(
        self,
        *,
        records: SessionRecords,
        hold: MessageHold,
        settlement: Settlement,
        closing: Closing,
        timers: Timers,
        store: Store,
        axp: AxpClient,
        config: ServiceConfig,
    ) -> None:
        self.records = records
        self.hold = hold
        self.settlement = settlement
        self.closing = closing
        self.timers = timers
        self.store = store
        self.axp = axp
        self.config = config
        self.counters: dict[str, int] = {}

    def _count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1

    async def take(self, body: dict[str, Any]) -> str:
        """One authenticated callback body; the outcome (appended, duplicate, parked, ignored).

        The dedupe key is claimed first, completed once the event is stored (appended or
        parked), and released if that failed, so AXP's redelivery after a `503` is not taken
        for a duplicate. A copy arriving while the first is being handled gets `Busy` (503)."""
        WEBHOOK_STARTED.set(time.perf_counter())
        try:
            event = parse_webhook_event(body)
        except BadRequest as exc:
            self._count("invalid")
            _log.warning("webhook.invalid", event_type=body.get("eventType"), detail=exc.detail)
            return "ignored"
        if isinstance(event, UnknownEvent):
            self._count("ignored")
            _log.info("webhook.unknown_type", event_type=event.event_type)
            return "ignored"
        store = self.store
        key = dedupe_key(event)
        if key is not None:
            claim = await store.claim_command(WEBHOOK_KEYS, key, ttl=DEDUPE_CLAIM_TTL)
            if claim.state is ClaimState.DONE:
                self._count("duplicate")
                _log.info("webhook.duplicate", event_type=event.eventType)
                return "duplicate"
            if claim.state is ClaimState.PENDING:
                raise Busy("a copy of this event is being handled")
        try:
            outcome = await self._take(event, body)
        except BaseException:
            if key is not None:
                await store.release_command(WEBHOOK_KEYS, key)
            raise
        if key is not None:
            await store.complete_command(
                WEBHOOK_KEYS, key, {"outcome": outcome}, ttl=self.config.dedupe_ttl
            )
        self._count(outcome)
        return outcome

    async def _take(self, event: AxpEvent, body: dict[str, Any]) -> str:
        keys = _keys(event)
        session_id = await self._route(keys)
        if session_id is None:
            await self._park(keys, body)
            # the chat may have been recorded meanwhile: look again, take back what was parked
            session_id = await self._route(keys)
            if session_id is None:
                _log.info("webhook.parked", event_type=event.eventType)
                return "parked"
            await self._take_parked(session_id, keys)
            return "appended"
        await self.apply(session_id, body, event)
        return "appended"

    async def _route(self, keys: list[RouteKey]) -> str | None:
        for kind, value in keys:
            session_id = await self.store.get_route(kind, value)
            if session_id is not None:
                return session_id
        return None

    async def _park(self, keys: list[RouteKey], body: dict[str, Any]) -> None:
        ttl, now = self.config.park_ttl, self.records.clock()
        await self.store.park_event(keys, body, ttl=ttl, now=now)

    async def _take_parked(self, session_id: str, keys: list[RouteKey]) -> None:
        for kind, value in keys:
            for parked in await self.store.take_parked(kind, value):
                await self.apply(session_id, parked)

    async def unpark(self, session_id: str, record: SessionRecord) -> None:
        """The chat is recorded: route the events that beat it here, oldest first."""
        keys = [("dialog", record.dialog_id), ("provider_dialog", record.provider_dialog_id)]
        keys += [("correlation", c) for c in record.chat_correlation_ids]
        keys.append(("axp_session", record.axp_session_id))
        await self._take_parked(session_id, [(k, v) for k, v in keys if v is not None])

    async def apply(
        self, session_id: str, body: dict[str, Any], event: AxpEvent | None = None
    ) -> None:
        """Map one routed event and carry out what the mapping decided. `event` is `body`
        parsed, when the caller has it already (parked events are parsed again here)."""
        if event is None:
            parsed = parse_webhook_event(body)
            if isinstance(parsed, UnknownEvent):
                return
            event = parsed
        loaded: Loaded | None = await self.records.load(session_id)
        assert loaded is not None
        record = loaded[0]
        if record.chat is ChatState.STARTING:
            await self._park_until_open(session_id, event, body)
            return
        base = record.chat_view()
        mapped = map_event(event, base, self.records.now())
        pending: list[dict[str, Any]] = []
        is_message = isinstance(event, MessageEvent)
        emitted_message = False
        for decision in mapped.decisions:
            match decision:
                case Emit(event=out) if is_message:
                    emitted_message = True
                    await self._offer(session_id, mapped, out, loaded)
                    loaded = None
                    if isinstance(event, MessageEvent) and event.senderParticipantType in _CC_TYPES:
                        await self.timers.arm_chat_idle(session_id)
                case Emit(event=out):
                    pending.append(out)
                case Broadcast(event=out):
                    await self.records.bus.publish_ephemeral(session_id, out)
                case EndChat(event=out):
                    await self._view(session_id, mapped, base)
                    await self.closing.close_chat(session_id, out, extra=pending)
                    pending = []
                case CheckEngagement(engagement_id=engagement_id, dialog_id=dialog_id):
                    await self._view(session_id, mapped, base)
                    await self.records.append(session_id, pending)
                    pending = []
                    await self._check_engagement(session_id, engagement_id, dialog_id)
                case SettleOutbox(provider_message_id=pmid, index=index, message_id=message_id):
                    emitted_message = True
                    echo = self.settlement.echo(record, pmid, decision.content, index, message_id)
                    await self.settlement.settle(
                        session_id, pmid, index, echo, dialog_id=mapped.dialog_id
                    )
                case ConfirmStart():
                    pass  # `start` finds its dialog itself (List Engagements after a lost answer)
                case Park():
                    await self._park_until_open(session_id, event, body)
                    return
        if is_message and not emitted_message and mapped.index is not None:
            # a customer message: advance the hold
            await self._offer(session_id, mapped, None, loaded)
            loaded = None
        if record.with_view(mapped.chat) != record:
            await self._view(session_id, mapped, base)
        await self.records.append(session_id, pending)

    async def _offer(
        self, session_id: str, mapped: Mapped, item: dict[str, Any] | None, loaded: Loaded | None
    ) -> None:
        await self.hold.offer(session_id, mapped.dialog_id, mapped.index, item, loaded=loaded)

    async def _park_until_open(
        self, session_id: str, event: AxpEvent, body: dict[str, Any]
    ) -> None:
        """The chat is being started: keep the event until `chat.started` is out (a bot's
        greeting can beat the Create Engagement answer), then look again in case the chat
        opened meanwhile (its unparking may have run before this event was parked)."""
        keys = _keys(event)
        await self._park(keys, body)
        record, _ = await self.records.load(session_id)
        if record.chat is not ChatState.STARTING:
            await self._take_parked(session_id, keys)

    async def _view(self, session_id: str, mapped: Mapped, base: ChatView) -> None:
        """Write back the mapping's changes to `base` (the view it was given) onto the record
        as it is now, which may have changed since (a send accepted meanwhile is kept)."""
        view = mapped.chat

        def edit(current: SessionRecord) -> SessionRecord | None:
            updated = current.with_view(view, base)
            return None if updated == current else updated

        await self.records.change(session_id, edit)

    async def _check_engagement(self, session_id: str, engagement_id: str, dialog_id: str) -> None:
        try:
            engagement = await self.axp.get_engagement(engagement_id)
            over = chat_over(engagement, dialog_id)
        except AxpError as exc:
            _log.warning("chat.check_failed", session_id=session_id, error=exc.code)
            return
        if over:
            record, _ = await self.records.load(session_id)
            ended = chat_ended_event(
                record, self.records.now(), by=EndedBy.AGENT, reason=ChatEndReason.AGENT_CLOSED
            )
            await self.closing.close_chat(session_id, ended)


def _keys(event: AxpEvent) -> list[RouteKey]:
    return [(ROUTE_KIND[kind], value) for kind, value in route_keys(event)]
