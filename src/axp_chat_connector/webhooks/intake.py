"""Webhook intake: one authenticated AXP event into its session.

parse → route (a `RouteCache` hit, else the store; or park until its chat is recorded) →
`mapping.map_event` decides → `changes.changes` applies the decisions to the record → ONE
atomic write (the record, its events, the event's dedupe key and the timers it arms:
`update_session_and_append(dedupe_key=…, deadlines=…)`) → ring the bus. The receiver
(`receiver.py`) calls `take` and answers 200 (503 on `StoreUnavailable`).

Dedupe: the key is marked in the same atomic step that stores the event (its write, or its
parking), so a failed write never leaves a marked key that would drop AXP's redelivery after a
`503`; of two copies handled at once, one writes and the other's compare-and-set loses, and on
its retry it finds the key marked (a duplicate): neither is lost, neither shown twice.
"""

from __future__ import annotations

import time
from typing import Any, Final, NamedTuple

import structlog

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.bus.base import Bus
from axp_chat_connector.errors import AxpError, BadRequest, Conflict, NotFound
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
from axp_chat_connector.sessions.records import Loaded, SessionRecords
from axp_chat_connector.sessions.timers import (
    CHAT_IDLE_WARNING,
    MESSAGE_HOLD,
    Timers,
    chat_idle_warning_at,
)
from axp_chat_connector.store.base import DeadlineAt, RouteKey, Store
from axp_chat_connector.webhooks.changes import Changes, changes
from axp_chat_connector.webhooks.metrics import WebhookAppended
from axp_chat_connector.webhooks.route_cache import RouteCache

_log = structlog.get_logger(__name__)

ROUTE_KIND: Final[dict[RouteKind, str]] = {
    RouteKind.DIALOG: "dialog",
    RouteKind.PROVIDER_DIALOG: "provider_dialog",
    RouteKind.SESSION: "axp_session",
    RouteKind.CORRELATION: "correlation",
}
_ATTEMPTS: Final = 8


class Routed(NamedTuple):
    session_id: str
    loaded: Loaded
    remembered: bool
    """`loaded` is what this process last knew of the session (`SessionRecords.recall`), not
    a read: maybe stale."""


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
        routes: RouteCache | None = None,
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
        self.routes = RouteCache() if routes is None else routes

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
        outcome = await self._deliver(event, body, key, started, keys)
        if outcome == "duplicate":
            _log.info("webhook.duplicate", event_type=event.eventType)
        self._count(outcome)
        return outcome

    def _count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1

    async def _deliver(
        self,
        event: AxpEvent,
        body: dict[str, Any],
        key: str | None,
        started: float,
        keys: list[RouteKey],
    ) -> str:
        """Apply the event to its session, or park it (no route yet)."""
        routed = await self._routed(keys)
        if routed is not None and routed.remembered:
            try:
                return await self._apply(
                    routed.session_id, event, body, key, started, routed.loaded, remembered=True
                )
            except NotFound:  # deleted since this process last wrote it
                self.routes.forget(keys)
                routed = await self._routed(keys, fresh=True)
        if routed is None:
            return await self._park(event, body, key, started)
        return await self._apply(routed.session_id, event, body, key, started, routed.loaded)

    async def _routed(self, keys: list[RouteKey], *, fresh: bool = False) -> Routed | None:
        """The event's session, as this process remembers it or else read, or None (no route
        yet). A cached route whose session is gone (deleted since) is forgotten and looked up
        in the store again, so the answer is the one the store alone would give. `fresh`:
        the store's answers only (no cached route, no remembered session)."""
        routed = await self._route(keys, cached=not fresh)
        if routed is None:
            return None
        session_id, cached = routed
        remembered = None if fresh else self.records.recall(session_id)
        if remembered is not None:
            return Routed(session_id, remembered, remembered=True)
        try:
            loaded = await self.records.load(session_id, remember=True)
        except NotFound:
            if not cached:
                raise
            self.routes.forget(keys)
            return await self._routed(keys, fresh=True)
        return Routed(session_id, loaded, remembered=False)

    async def _route(self, keys: list[RouteKey], *, cached: bool = True) -> tuple[str, bool] | None:
        """(session id, whether it came from the cache) of the first key that has a route,
        in the keys' order (as the store alone would answer); the store's hits are cached."""
        for route in keys:
            session_id = self.routes.get(route) if cached else None
            if session_id is not None:
                return session_id, True
            session_id = await self.store.get_route(*route)
            if session_id is not None:
                self.routes.put(route, session_id)
                return session_id, False
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
        routed = await self._route(keys, cached=False)  # the store: it just missed
        if routed is None:
            _log.info("webhook.parked", event_type=event.eventType)
            return "parked"
        await self._take_parked(routed[0], keys, started)
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
        loaded: Loaded | None = None,
        *,
        remembered: bool = False,
    ) -> str:
        """Map the routed event against the session as it is (`loaded`: just read), and write
        what it changes in one step with the timers it arms (retried when another writer moved
        the session first). `remembered`: `loaded` is what this process last knew, perhaps
        stale: it decides only through a write whose compare-and-set succeeds; any other
        outcome is decided again from a fresh read."""
        already_settled = False
        for _ in range(_ATTEMPTS):
            record, version = loaded or await self.records.load(session_id, remember=True)
            trusted = not remembered
            loaded, remembered = None, False
            now = self.records.now()
            mapped = map_event(event, record.chat_view(), now)
            if any(isinstance(d, Park) for d in mapped.decisions):
                if not trusted:
                    continue
                return await self._park_until_open(session_id, event, body, key, started)
            window = self.hold.window
            change = changes(record, mapped, now, window, already_settled=already_settled)
            timers = self._timers(change)
            seqs: list[int] | None = []
            if not change.writes(record):
                if not trusted:
                    continue
                change.settled = None  # the hold has seen its index go by: settled before
            else:
                try:
                    seqs = await self.records.write(
                        change.record,
                        version,
                        change.events,
                        dedupe_key=change.dedupe_key or key,
                        deadlines=timers,
                    )
                except Conflict:
                    continue
                timers = []  # set with the write
                if seqs is None and not trusted:
                    continue  # a duplicate, as the memory computed it: look again
            if seqs is None and change.settled is not None:
                already_settled = True  # the outbox settled it first: only the index goes by
                continue
            if seqs is None:
                return "duplicate"
            await self._after(session_id, change, seqs, started, timers)
            return "duplicate" if already_settled and not seqs else "appended"
        raise Conflict(f"session {session_id} kept changing")

    def _timers(self, change: Changes) -> list[DeadlineAt]:
        """The timers `change` arms: the hold's next look, the chat idle warning (computed as
        `Timers.arm_chat_idle` does)."""
        timers: list[DeadlineAt] = []
        if change.hold_deadline is not None:
            timers.append((MESSAGE_HOLD, change.hold_deadline.timestamp()))
        if change.arm_chat_idle:
            at = chat_idle_warning_at(self.timers.clock(), self.timers.config)
            timers.append((CHAT_IDLE_WARNING, at))
        return timers

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
        self,
        session_id: str,
        change: Changes,
        seqs: list[int],
        started: float,
        timers: list[DeadlineAt],
    ) -> None:
        """What follows the write: metrics, ephemeral events, the timers not set with a write
        (`timers`: when nothing was written), closing the chat's timers, the settled send's
        outbox item, and asking AXP whether the chat is over."""
        if self.appended is not None:
            for seq in seqs:
                self.appended(session_id, seq, started)
        for ephemeral in change.broadcasts:
            await self.bus.publish_ephemeral(session_id, ephemeral)
        for kind, at in timers:
            await self.store.set_deadline(session_id, kind, at)
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
