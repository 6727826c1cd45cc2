"""Webhook intake: one authenticated AXP event into its session.

parse → route (or park until its chat is recorded) → `mapping.map_event` decides →
`changes.changes` applies the decisions to the record → ONE atomic write (the record, its
events and the event's dedupe key: `update_session_and_append(dedupe_key=…)`) → ring the bus,
set timers. The receiver (`receiver.py`) calls `take` and answers 200 (503 on
`StoreUnavailable`).

Dedupe: the key is marked in the same atomic step that stores the event (its write, or its
parking), so a failed write never leaves a marked key that would drop AXP's redelivery after a
`503`; of two copies handled at once, one writes and the other's compare-and-set loses, and on
its retry it finds the key marked (a duplicate): neither is lost, neither shown twice.
"""

from __future__ import annotations

import time
from typing import Any, Final

import structlog

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.bus.base import Bus
from axp_chat_connector.errors import AxpError, BadRequest, Conflict
from axp_chat_connector.protocol.codes import ChatEndReason, EndedBy
from axp_chat_connector.sessions.axp_events import (
    AxpEvent,
    RouteKind,
    UnknownEvent,
    dedupe_key,
    parse_webhook_event,
    route_keys,
)
from axp_chat_connector.sessions.closing import Closing, chat_ended_event
from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.hold import MessageHold
from axp_chat_connector.sessions.mapping import (
    CheckEngagement,
    Park,
    chat_over,
    map_event,
)
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.sessions.timers import Timers
from axp_chat_connector.store.base import RouteKey, Store
from axp_chat_connector.webhooks.changes import Changes, changes
from axp_chat_connector.webhooks.metrics import WebhookAppended

_log = structlog.get_logger(__name__)

ROUTE_KIND: Final[dict[RouteKind, str]] = {
    RouteKind.DIALOG: "dialog",
    RouteKind.PROVIDER_DIALOG: "provider_dialog",
    RouteKind.SESSION: "axp_session",
    RouteKind.CORRELATION: "correlation",
}
_ATTEMPTS: Final = 8


class WebhookIntake:
    def __init__(
        self,
        *,
        records: SessionRecords,
        hold: MessageHold,
        closing: Closing,
        timers: Timers,
        store: Store,
        bus: Bus,
        axp: AxpClient,
        config: ServiceConfig,
        appended: WebhookAppended | None = None,
    ) -> None:
        self.records = records
        self.hold = hold
        self.closing = closing
        self.timers = timers
        self.store = store
        self.bus = bus
        self.axp = axp
        self.config = config
        self.appended = appended
        """(session id, seq, when the webhook came in) of each event appended: a metric."""
        self.counters: dict[str, int] = {}

    async def take(self, body: dict[str, Any], started: float | None = None) -> str:
        """One authenticated callback body; the outcome (appended, duplicate, parked, ignored).
        `started`: `time.perf_counter()` when the POST arrived (for the latency metric)."""
        started = time.perf_counter() if started is None else started
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
        keys = _keys(event)
        key = dedupe_key(event)
        session_id = await self._route(keys)
        if session_id is None:
            outcome = await self._park(event, body, key, started)
        else:
            outcome = await self._apply(session_id, event, body, key, started)
        if outcome == "duplicate":
            _log.info("webhook.duplicate", event_type=event.eventType)
        self._count(outcome)
        return outcome

    def _count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1

    async def _route(self, keys: list[RouteKey]) -> str | None:
        for kind, value in keys:
            session_id = await self.store.get_route(kind, value)
            if session_id is not None:
                return session_id
        return None

    async def _park(
        self, event: AxpEvent, body: dict[str, Any], key: str | None, started: float
    ) -> str:
        """No session has the event's route (yet): keep it, then look once more (the chat may
        have been recorded meanwhile) and take back what was parked if it was."""
        keys = _keys(event)
        ttl, now = self.config.park_ttl, self.records.clock()
        if not await self.store.park_event(keys, body, ttl=ttl, now=now, dedupe_key=key):
            return "duplicate"
        session_id = await self._route(keys)
        if session_id is None:
            _log.info("webhook.parked", event_type=event.eventType)
            return "parked"
        await self._take_parked(session_id, keys, started)
        return "appended"

    async def _take_parked(self, session_id: str, keys: list[RouteKey], started: float) -> None:
        for kind, value in keys:
            for body in await self.store.take_parked(kind, value):
                event = parse_webhook_event(body)
                if not isinstance(event, UnknownEvent):
                    # its dedupe key was marked when it was parked
                    await self._apply(session_id, event, body, None, started)

    async def unpark(self, session_id: str, record: SessionRecord) -> None:
        """The chat is recorded: route the events that beat it here, oldest first."""
        keys: list[tuple[str, str | None]] = [
            ("dialog", record.dialog_id),
            ("provider_dialog", record.provider_dialog_id),
            *(("correlation", c) for c in record.chat_correlation_ids),
            ("axp_session", record.axp_session_id),
        ]
        routed = [(kind, value) for kind, value in keys if value is not None]
        await self._take_parked(session_id, routed, time.perf_counter())

    async def _apply(
        self,
        session_id: str,
        event: AxpEvent,
        body: dict[str, Any],
        key: str | None,
        started: float,
    ) -> str:
        """Map the routed event against the session as it is, and write what it changes in
        one step (retried when another writer moved the session first)."""
        already_settled = False
        for _ in range(_ATTEMPTS):
            record, version = await self.records.load(session_id)
            now = self.records.now()
            mapped = map_event(event, record.chat_view(), now)
            if any(isinstance(d, Park) for d in mapped.decisions):
                return await self._park_until_open(session_id, event, body, key, started)
            window = self.hold.window
            change = changes(record, mapped, now, window, already_settled=already_settled)
            seqs: list[int] | None = []
            if not change.writes(record):
                change.settled = None  # the hold has seen its index go by: settled before
            else:
                try:
                    seqs = await self.records.write(
                        change.record, version, change.events, dedupe_key=change.dedupe_key or key
                    )
                except Conflict:
                    continue
            if seqs is None and change.settled is not None:
                already_settled = True  # the outbox settled it first: only the index goes by
                continue
            if seqs is None:
                return "duplicate"
            await self._after(session_id, change, seqs, started)
            return "duplicate" if already_settled and not seqs else "appended"
        raise Conflict(f"session {session_id} kept changing")

    async def _park_until_open(
        self,
        session_id: str,
        event: AxpEvent,
        body: dict[str, Any],
        key: str | None,
        started: float,
    ) -> str:
        """The chat is being started: keep the event until `chat.started` is out (a bot's
        greeting can beat the Create Engagement answer), then look again in case the chat
        opened meanwhile (its unparking may have run before this event was parked)."""
        keys = _keys(event)
        ttl, now = self.config.park_ttl, self.records.clock()
        if not await self.store.park_event(keys, body, ttl=ttl, now=now, dedupe_key=key):
            return "duplicate"
        record, _ = await self.records.load(session_id)
        mapped = map_event(event, record.chat_view(), self.records.now())
        if not any(isinstance(d, Park) for d in mapped.decisions):
            await self._take_parked(session_id, keys, started)
        return "parked"

    async def _after(
        self, session_id: str, change: Changes, seqs: list[int], started: float
    ) -> None:
        """What follows the write: metrics, ephemeral events, timers, the settled send's
        outbox item, and asking AXP whether the chat is over."""
        if self.appended is not None:
            for seq in seqs:
                self.appended(session_id, seq, started)
        for ephemeral in change.broadcasts:
            await self.bus.publish_ephemeral(session_id, ephemeral)
        await self.hold.set_timer(session_id, change.hold_deadline)
        if change.arm_chat_idle:
            await self.timers.arm_chat_idle(session_id)
        if change.chat_closed:
            await self.timers.chat_ended(session_id)
        if change.settled is not None:
            await self.store.outbox_done(change.settled)  # the worker need not send it again
        if change.check is not None:
            await self._check_engagement(session_id, change.check)

    async def _check_engagement(self, session_id: str, check: CheckEngagement) -> None:
        try:
            engagement = await self.axp.get_engagement(check.engagement_id)
            over = chat_over(engagement, check.dialog_id)
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
