"""AXP's webhook events into a session: dedupe → route (or park) → map → order → append.

Also the one place a customer send is *settled* (echoed once, by whichever comes first: AXP's
answer to Send Message, or AXP's MESSAGES callback carrying our `providerMessageId`), and the
messageIndex hold that keeps a dialog's messages in AXP's order.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final

import structlog

from axp_chat_connector.axp.models import chat_in_gen
from axp_chat_connector.errors import AxpError, BadRequest, Busy
from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.codes import ChatEndReason, EndedBy, ParticipantType
from axp_chat_connector.sessions import ordering
from axp_chat_connector.sessions.core import (
    CHAT_IDLE_WARNING,
    MESSAGE_HOLD,
    WEBHOOK_STARTED,
    SessionCore,
    chat_ended_event,
)
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
from axp_chat_connector.store.base import ClaimState

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


class Inbound:
    def __init__(self, core: SessionCore) -> None:
        self.core = core
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
            _log.info("webhook.unknown_type", event_type=body.get("eventType"))
            return "ignored"
        store, config = self.core.store, self.core.config
        key = dedupe_key(event)
        if key is not None:
            claim = await store.claim_command(WEBHOOK_KEYS, key, ttl=config.dedupe_claim_ttl)
            if claim.state is ClaimState.DONE:
                self._count("duplicate")
                _log.info("webhook.duplicate", event_type=body.get("eventType"))
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
                WEBHOOK_KEYS, key, {"outcome": outcome}, ttl=config.dedupe_ttl
            )
        self._count(outcome)
        return outcome

    async def _take(self, event: AxpEvent, body: dict[str, Any]) -> str:
        store = self.core.store
        keys = [(ROUTE_KIND[kind], value) for kind, value in route_keys(event)]
        session_id = await self._route(keys)
        if session_id is None:
            await store.park_event(keys, body, ttl=self.core.config.park_ttl, now=self.core.clock())
            # the chat may have been recorded meanwhile: look again, take back what was parked
            session_id = await self._route(keys)
            if session_id is None:
                _log.info("webhook.parked", event_type=body.get("eventType"))
                return "parked"
            for kind, value in keys:
                for parked in await store.take_parked(kind, value):
                    await self.apply(session_id, parked)
            return "appended"
        await self.apply(session_id, body, event)
        return "appended"

    async def _route(self, keys: list[tuple[str, str]]) -> str | None:
        for kind, value in keys:
            session_id = await self.core.store.get_route(kind, value)
            if session_id is not None:
                return session_id
        return None

    async def unpark(self, session_id: str, record: SessionRecord) -> None:
        """The chat is recorded: route the events that beat it here, oldest first."""
        store = self.core.store
        keys = [("dialog", record.dialog_id), ("provider_dialog", record.provider_dialog_id)]
        keys += [("correlation", c) for c in record.chat_correlation_ids]
        if record.axp_session_id:
            keys.append(("axp_session", record.axp_session_id))
        for kind, value in keys:
            if value is None:
                continue
            for parked in await store.take_parked(kind, value):
                await self.apply(session_id, parked)

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
        first = await self.core.load(session_id)
        record = first[0]
        loaded: tuple[SessionRecord, int] | None = first
        if record.chat is ChatState.STARTING:
            await self._park_until_open(session_id, event, body)
            return
        base = record.chat_view()
        mapped = map_event(event, base, self.core.now())
        pending: list[dict[str, Any]] = []
        is_message = body.get("eventType") == "MESSAGES"
        emitted_message = False
        for decision in mapped.decisions:
            match decision:
                case Emit(event=out) if is_message:
                    emitted_message = True
                    await self._offer(session_id, mapped, out, loaded)
                    loaded = None
                    if body.get("senderParticipantType") in _CC_TYPES:
                        await self._arm_chat_idle(session_id)
                case Emit(event=out):
                    pending.append(out)
                case Broadcast(event=out):
                    await self.core.bus.publish_ephemeral(session_id, out)
                case EndChat(event=out):
                    await self._view(session_id, mapped, base)
                    await self.core.close_chat(session_id, out, extra=pending)
                    pending = []
                case CheckEngagement(engagement_id=engagement_id, dialog_id=dialog_id):
                    await self._view(session_id, mapped, base)
                    await self.core.append(session_id, pending)
                    pending = []
                    await self._check_engagement(session_id, engagement_id, dialog_id)
                case SettleOutbox(provider_message_id=pmid, index=index, message_id=message_id):
                    emitted_message = True
                    echo = self.echo(record, pmid, body.get("body") or {}, index, message_id)
                    await self.settle(session_id, pmid, index, echo, dialog_id=mapped.dialog_id)
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
        await self.core.append(session_id, pending)

    async def _park_until_open(
        self, session_id: str, event: AxpEvent, body: dict[str, Any]
    ) -> None:
        """The chat is being started: keep the event until `chat.started` is out (a bot's
        greeting can beat the Create Engagement answer), then look again in case the chat
        opened meanwhile (its unparking may have run before this event was parked)."""
        store = self.core.store
        keys = [(ROUTE_KIND[k], v) for k, v in route_keys(event)]
        await store.park_event(keys, body, ttl=self.core.config.park_ttl, now=self.core.clock())
        record, _ = await self.core.load(session_id)
        if record.chat is not ChatState.STARTING:
            for kind, value in keys:
                for parked in await store.take_parked(kind, value):
                    await self.apply(session_id, parked)

    async def _view(self, session_id: str, mapped: Mapped, base: ChatView) -> None:
        """Write back the mapping's changes to `base` (the view it was given) onto the record
        as it is now, which may have changed since (a send accepted meanwhile is kept)."""
        view = mapped.chat

        def edit(current: SessionRecord) -> SessionRecord | None:
            updated = current.with_view(view, base)
            return None if updated == current else updated

        await self.core.change(session_id, edit)

    async def _check_engagement(self, session_id: str, engagement_id: str, dialog_id: str) -> None:
        try:
            engagement = await self.core.axp.get_engagement(engagement_id)
            over = chat_over(engagement, dialog_id)
        except AxpError as exc:
            _log.warning("chat.check_failed", session_id=session_id, error=exc.code)
            return
        if over:
            record, _ = await self.core.load(session_id)
            ended = chat_ended_event(
                record, self.core.now(), by=EndedBy.AGENT, reason=ChatEndReason.AGENT_CLOSED
            )
            await self.core.close_chat(session_id, ended)

    async def _arm_chat_idle(self, session_id: str) -> None:
        """(Re)start the chat inactivity clock: one timer, the warning; the sweeper sets the
        end when the warning fires, and a customer send clears both."""
        config, now = self.core.config, self.core.clock()
        await self.core.store.set_deadline(
            session_id, CHAT_IDLE_WARNING, now + config.chat_idle_timeout - config.idle_warning
        )

    # -- the messageIndex hold -------------------------------------------------------------
    async def _offer(
        self,
        session_id: str,
        mapped: Mapped,
        item: dict[str, Any] | None,
        loaded: tuple[SessionRecord, int] | None,
    ) -> None:
        await self.offer(session_id, mapped.dialog_id, mapped.index, item, loaded=loaded)

    async def offer(
        self,
        session_id: str,
        dialog_id: str | None,
        index: int | None,
        item: dict[str, Any] | None,
        *,
        loaded: tuple[SessionRecord, int] | None = None,
        settling: str | None = None,
    ) -> None:
        """Pass a message (or None: an index with nothing to show) through the dialog's hold.

        `settling`: the `providerMessageId` of the send this echo settles; it leaves the
        session's outbox in the same write, so AXP's callback for it sees it either still
        pending (and leaves it to us) or settled with its index already through the hold."""
        window = timedelta(seconds=self.core.config.hold_window)
        now = self.core.now()
        deadline: datetime | None = None

        def edit(current: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]] | None:
            nonlocal deadline
            outbox = current.outbox
            if settling is not None and settling in outbox:
                outbox = {k: v for k, v in outbox.items() if k != settling}
            if dialog_id is not None and current.dialog_id not in (None, dialog_id):
                deadline = None  # an older dialog: no order to keep
                shown = [] if item is None else [item]
                if outbox is current.outbox and not shown:
                    return None
                return replace(current, outbox=outbox), shown
            out: ordering.Released[dict[str, Any] | None] = ordering.offer(
                current.hold, index, item, now, window
            )
            deadline = out.deadline
            shown = [m for m in out.items if m is not None]
            if out.hold == current.hold and outbox is current.outbox and not shown:
                return None  # nothing to remember: no write
            return replace(current, hold=out.hold, outbox=outbox), shown

        await self.core.change_and_append(session_id, edit, loaded=loaded)
        if deadline is not None:
            await self.core.store.set_deadline(session_id, MESSAGE_HOLD, deadline.timestamp())

    async def expire_hold(self, session_id: str) -> None:
        window = timedelta(seconds=self.core.config.hold_window)
        now = self.core.now()
        deadline: datetime | None = None

        def edit(current: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]] | None:
            nonlocal deadline
            out = ordering.expire(current.hold, now, window)
            deadline = out.deadline
            if not out.items:
                return None
            return replace(current, hold=out.hold), [m for m in out.items if m is not None]

        await self.core.change_and_append(session_id, edit)
        if deadline is not None:
            await self.core.store.set_deadline(session_id, MESSAGE_HOLD, deadline.timestamp())

    # -- settling customer sends -----------------------------------------------------------
    def echo(
        self,
        record: SessionRecord,
        provider_message_id: str,
        body: dict[str, Any],
        index: int | None,
        message_id: str | None,
    ) -> dict[str, Any]:
        """The CUSTOMER `message` event echoing an accepted send."""
        command_id = record.outbox.get(provider_message_id) or provider_message_id.split(":", 1)[-1]
        element_text = body.get("elementText") or {}
        sender = events.participant(
            record.customer_participant_id or record.session_id,
            ParticipantType.CUSTOMER.value,
            record.display_name,
        )
        return events.message(
            self.core.now(),
            sender=sender,
            element_type=str(body.get("elementType") or "text"),
            text=element_text.get("text"),
            format=element_text.get("textFormat") or "PLAINTEXT",
            message_id=message_id,
            client_message_id=command_id,
            index=index,
            payload=body.get("payload"),
        )

    async def settle(
        self,
        session_id: str,
        provider_message_id: str,
        index: int | None,
        outcome: dict[str, Any],
        *,
        dialog_id: str | None = None,
    ) -> bool:
        """Echo (or fail) a send exactly once; False when it was settled already."""
        store = self.core.store
        if not await store.first_seen(
            f"settle:{provider_message_id}", ttl=self.core.config.dedupe_ttl
        ):
            return False

        if outcome.get("type") == "message":
            await self.offer(session_id, dialog_id, index, outcome, settling=provider_message_id)
            return True

        def drop(current: SessionRecord) -> SessionRecord | None:
            if provider_message_id not in current.outbox:
                return None
            rest = {k: v for k, v in current.outbox.items() if k != provider_message_id}
            return replace(current, outbox=rest)

        await self.core.change(session_id, drop)
        await self.core.append(session_id, [outcome])
        return True

    def history_message(
        self, message: chat_in_gen.Message, record: SessionRecord, now: datetime
    ) -> dict[str, Any]:
        """A List Messages entry as a `message` event without seq."""
        body = message.body
        element_text = body.elementText
        client_message_id = None
        if message.providerMessageId and message.providerMessageId.startswith(
            f"{record.session_id}:"
        ):
            client_message_id = message.providerMessageId.split(":", 1)[1]
        event = events.message(
            now,
            sender=events.participant(
                message.senderParticipantId,
                message.senderParticipantType,
                message.senderParticipantName or None,
            ),
            element_type=body.elementType,
            text=None if element_text is None else element_text.text,
            format=(element_text and element_text.textFormat) or "PLAINTEXT",
            message_id=message.messageId,
            client_message_id=client_message_id,
            index=message.messageIndex,
            fallback_text=message.fallbackText,
            payload=body.payload,
        )
        if message.receivedAt:
            event["at"] = str(message.receivedAt)
        return event
