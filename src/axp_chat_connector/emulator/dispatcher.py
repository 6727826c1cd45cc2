"""Webhook delivery like AXP's: one POST per event, in order per dialog, retried with backoff.

INTERFACE STUB: the signatures below are the contract between the emulator's API side (which
builds the flat Notification event bodies and calls `publish`) and the dispatcher. The bodies
are to be implemented.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class SubscriptionTarget:
    subscription_id: str
    callback_url: str
    event_types: frozenset[str]  # SubscriptionEventType values: MESSAGES, CC_MESSAGES, ALL, ...


# (accountId, channelProviderId) -> the subscriptions that may receive its events.
SubscriptionSource = Callable[[str, str], Sequence[SubscriptionTarget]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Avaya documents a 200 within 5 s and "re-sent after a delay"; the schedule is ours."""

    timeout: float = 5.0  # seconds for one attempt
    attempts: int = 6  # first try included
    base_delay: float = 1.0  # delay before the 2nd attempt; multiplied by `factor` each time
    factor: float = 2.0
    max_delay: float = 60.0


@dataclass(frozen=True, slots=True)
class DeliveryFaults:
    """Faults applied to the next deliveries (webhook side of POST /emulator/v1/faults)."""

    drop: int = 0  # the next N events are never delivered (no attempt, no retry)
    duplicate: int = 0  # the next N events are delivered twice
    delay_ms: int = 0  # the next `delay_count` events wait this long before their first attempt
    delay_count: int = 0
    reorder: int = 0  # the next N events are each delivered after the event that follows them
    event_types: frozenset[str] = field(default_factory=frozenset)  # empty: every type


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One attempt, as shown by GET /emulator/v1/deliveries."""

    delivery_id: str  # one id per (event, subscription); attempts share it
    subscription_id: str
    callback_url: str
    event_type: str
    dialog_id: str | None
    body: dict[str, Any]
    attempt: int  # 1 for the first try
    status: int | None  # HTTP status, None when the attempt failed without an answer
    error: str | None  # "timeout", "connect error", ... when status is None
    latency_ms: float
    at: str  # ISO-8601 UTC time of the attempt
    outcome: str  # "delivered" | "retrying" | "failed" | "dropped" | "duplicate"


class Dispatcher:
    def __init__(
        self,
        *,
        subscriptions: SubscriptionSource,
        policy: RetryPolicy = RetryPolicy(),
        client: httpx.AsyncClient | None = None,
        log_limit: int = 10_000,
    ) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        """Start the delivery workers (called from the emulator app's lifespan)."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop delivering; pending retries are abandoned."""
        raise NotImplementedError

    def publish(self, body: dict[str, Any]) -> None:
        """Queue one event (a flat Notification body with eventType, accountId,
        channelProviderId, ...). It goes to every subscription of (accountId, channelProviderId)
        whose eventTypes match: MESSAGES and ALL get every message, CUSTOMER_MESSAGES only
        senderParticipantType CUSTOMER, CC_MESSAGES only the others; ALL gets every type.
        Events of one dialog (dialogId, else engagementId) are delivered in publish order, each
        one settled (delivered or given up) before the next starts; dialogs are independent."""
        raise NotImplementedError

    async def flush(self, dialog_id: str, timeout: float) -> None:
        """Wait until every event published so far for `dialog_id` is settled, or `timeout`."""
        raise NotImplementedError

    def set_faults(self, faults: DeliveryFaults) -> None:
        raise NotImplementedError

    def faults(self) -> DeliveryFaults:
        raise NotImplementedError

    def deliveries(self) -> list[DeliveryRecord]:
        """The delivery log, oldest first (bounded by `log_limit`)."""
        raise NotImplementedError
