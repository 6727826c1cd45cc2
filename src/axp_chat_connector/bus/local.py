"""The in-process bus of the embedded default (one connector process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from axp_chat_connector.bus.base import BusMessage, Ephemeral, Listener, NewEvents

_log = structlog.get_logger(__name__)


class Listeners:
    """Listeners by session, and the fan-out to them (shared by the local and Redis buses)."""

    def __init__(self, on_empty: Callable[[str], None] | None = None) -> None:
        self._by_session: dict[str, set[_LocalSubscription]] = {}
        self._on_empty = on_empty

    def add(self, session_id: str, listener: Listener) -> tuple[_LocalSubscription, bool]:
        """Register; (the subscription, whether it is the session's first listener)."""
        subscription = _LocalSubscription(self, session_id, listener)
        subscriptions = self._by_session.setdefault(session_id, set())
        subscriptions.add(subscription)
        return subscription, len(subscriptions) == 1

    def remove(self, subscription: _LocalSubscription) -> bool:
        """Unregister; whether the session has no listener left."""
        subscriptions = self._by_session.get(subscription.session_id)
        if subscriptions is None or subscription not in subscriptions:
            return False
        subscriptions.discard(subscription)
        if subscriptions:
            return False
        del self._by_session[subscription.session_id]
        if self._on_empty is not None:
            self._on_empty(subscription.session_id)
        return True

    def sessions(self) -> list[str]:
        return list(self._by_session)

    def has(self, session_id: str) -> bool:
        return session_id in self._by_session

    def deliver(self, message: BusMessage) -> None:
        for subscription in list(self._by_session.get(message.session_id, ())):
            try:
                subscription.listener(message)
            except Exception:  # a listener's bug must not starve the others
                _log.exception("bus.listener_failed", session_id=message.session_id)


class _LocalSubscription:
    __slots__ = ("listener", "listeners", "session_id")

    def __init__(self, listeners: Listeners, session_id: str, listener: Listener) -> None:
        self.listeners = listeners
        self.session_id = session_id
        self.listener = listener

    def close(self) -> None:
        self.listeners.remove(self)


class LocalBus:
    """`Bus` within one process: publishing calls the session's listeners directly."""

    def __init__(self) -> None:
        self._listeners = Listeners()

    async def publish(
        self, session_id: str, seq: int, events: tuple[dict[str, Any], ...] = ()
    ) -> None:
        self._listeners.deliver(NewEvents(session_id, seq, events))

    async def publish_ephemeral(self, session_id: str, event: dict[str, Any]) -> None:
        self._listeners.deliver(Ephemeral(session_id, event))

    async def subscribe(self, session_id: str, listener: Listener) -> _LocalSubscription:
        subscription, _ = self._listeners.add(session_id, listener)
        return subscription

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
