"""The process's registry of local connections by session, between the bus and the transports.

One bus subscription per session that has local members (WebSocket connections, held long
polls), however many members it has; it stays `subscription_linger` seconds after the last
member left, so a long poll's next request (or a quick reconnect) finds it. A `NewEvents`
notice wakes each member (`wake(seq, events)`: a member behind `seq` writes the carried events
or reads the log from its own cursor); an `Ephemeral` event is encoded once and handed to the
members attached at that moment. Members are plain objects
with sync methods: the hub runs no task per member or per session.

When several local members share a session, `encode` keeps the text of each durable event so
that it is encoded once for all of them (`max_events_per_read` texts at most per session).
A single task (`start`/`stop`) re-checks every `recheck_seconds` that no member is behind its
session's last seq, so a lost bus notice only delays delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

import structlog

from axp_chat_connector.background import spawn
from axp_chat_connector.bus.base import Bus, BusMessage, NewEvents, Subscription
from axp_chat_connector.errors import ConnectorError
from axp_chat_connector.protocol.codec import encode
from axp_chat_connector.transports.limits import TransportLimits
from axp_chat_connector.transports.service import ClientService

_log = structlog.get_logger(__name__)


class Member(Protocol):
    """A local connection of a session."""

    @property
    def cursor(self) -> int:
        """The last seq it has delivered (or, for a long poll, was asked to start after)."""
        ...

    def wake(self, seq: int, events: tuple[dict[str, Any], ...] = ()) -> None:
        """The session's log has reached `seq` (`events`: the last ones up to it, when the
        notice carried them): catch up if behind. Must not block or raise."""
        ...

    def ephemeral(self, event: dict[str, Any], text: str) -> None:
        """An event that is not kept, already encoded. Must not block or raise."""
        ...


class _Session:
    __slots__ = ("linger", "members", "ready", "subscription", "texts")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.members: list[Member] = []
        self.subscription: Subscription | None = None
        self.ready: asyncio.Future[None] | None = loop.create_future()
        self.texts: dict[int, str] | None = None
        self.linger: asyncio.TimerHandle | None = None
        """While no member is attached: the timer that closes the subscription."""


class Hub:
    def __init__(self, bus: Bus, service: ClientService, limits: TransportLimits) -> None:
        self.bus = bus
        self.service = service
        self.limits = limits
        self._sessions: dict[str, _Session] = {}
        self._recheck: asyncio.Task[None] | None = None

    # -- members --------------------------------------------------------------------------

    async def attach(self, session_id: str, member: Member) -> None:
        """Register `member`; on return the session's bus subscription is active, so a member
        that attaches first and then reads the log misses nothing."""
        entry = self._sessions.get(session_id)
        if entry is not None:
            entry.members.append(member)
            if entry.linger is not None:  # it was lingering: subscribed still
                entry.linger.cancel()
                entry.linger = None
            if entry.ready is not None:
                try:
                    await asyncio.shield(entry.ready)
                except BaseException:
                    self.detach(session_id, member)
                    raise
            return
        entry = _Session(asyncio.get_running_loop())
        entry.members.append(member)
        self._sessions[session_id] = entry
        ready = entry.ready
        assert ready is not None
        try:
            subscription = await self.bus.subscribe(session_id, self._on_message)
        except BaseException as exc:
            if self._sessions.get(session_id) is entry:
                del self._sessions[session_id]
            entry.members.clear()
            if isinstance(exc, Exception):
                ready.set_exception(exc)
                ready.exception()  # retrieved: waiters re-raise it themselves
            else:
                ready.cancel()
            raise
        entry.ready = None
        ready.set_result(None)
        if self._sessions.get(session_id) is entry and entry.members:
            entry.subscription = subscription
        else:
            subscription.close()

    def detach(self, session_id: str, member: Member) -> None:
        entry = self._sessions.get(session_id)
        if entry is None:
            return
        with contextlib.suppress(ValueError):
            entry.members.remove(member)
        if entry.members:
            return
        linger = self.limits.subscription_linger
        if linger > 0 and entry.subscription is not None:
            if entry.linger is None:
                loop = asyncio.get_running_loop()
                entry.linger = loop.call_later(linger, self._expire, session_id, entry)
            return
        self._close(session_id, entry)

    def _expire(self, session_id: str, entry: _Session) -> None:
        entry.linger = None
        if not entry.members:
            self._close(session_id, entry)

    def _close(self, session_id: str, entry: _Session) -> None:
        if self._sessions.get(session_id) is entry:
            del self._sessions[session_id]
        if entry.linger is not None:
            entry.linger.cancel()
            entry.linger = None
        if entry.subscription is not None:
            entry.subscription.close()
            entry.subscription = None

    def members(self, session_id: str) -> list[Member]:
        entry = self._sessions.get(session_id)
        return list(entry.members) if entry is not None else []

    def __len__(self) -> int:
        """Sessions with local members (not those whose subscription lingers)."""
        return sum(1 for entry in self._sessions.values() if entry.members)

    # -- frames ---------------------------------------------------------------------------

    def encode(self, session_id: str, event: dict[str, Any]) -> str:
        """The text of a durable event, encoded once for all local members of its session."""
        entry = self._sessions.get(session_id)
        if entry is None or len(entry.members) < 2:
            return encode(event)
        seq = event.get("seq")
        if not isinstance(seq, int):
            return encode(event)
        texts = entry.texts
        if texts is None:
            texts = entry.texts = {}
        else:
            text = texts.get(seq)
            if text is not None:
                return text
            if len(texts) >= self.limits.max_events_per_read:
                floor = min(member.cursor for member in entry.members)
                for old in [s for s in texts if s <= floor]:
                    del texts[old]
                if len(texts) >= self.limits.max_events_per_read:
                    texts.clear()
        text = texts[seq] = encode(event)
        return text

    def _on_message(self, message: BusMessage) -> None:
        entry = self._sessions.get(message.session_id)
        if entry is None:
            return
        if isinstance(message, NewEvents):
            for member in tuple(entry.members):
                member.wake(message.seq, message.events)
            return
        text = encode(message.event)
        for member in tuple(entry.members):
            member.ephemeral(message.event, text)

    # -- re-check -------------------------------------------------------------------------

    def start(self) -> None:
        if self._recheck is None and self.limits.recheck_seconds > 0:
            self._recheck = spawn(self._recheck_forever(), name="hub.recheck")

    async def stop(self) -> None:
        for session_id, entry in list(self._sessions.items()):
            if not entry.members:
                self._close(session_id, entry)
        task, self._recheck = self._recheck, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def recheck(self) -> int:
        """Wake the members that are behind their session's last seq; how many were."""
        woken = 0
        for session_id, entry in list(self._sessions.items()):
            if not entry.members:
                continue
            try:
                last = await self.service.last_seq(session_id)
            except ConnectorError as exc:
                _log.warning("hub.recheck_failed", session_id=session_id, error=exc.code)
                continue
            for member in tuple(entry.members):
                if member.cursor < last:
                    woken += 1
                    member.wake(last)
        return woken

    async def _recheck_forever(self) -> None:
        while True:
            await asyncio.sleep(self.limits.recheck_seconds)
            await self.recheck()
