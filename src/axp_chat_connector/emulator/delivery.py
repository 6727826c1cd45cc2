"""The pure rules of webhook delivery: who receives an event, its lane, the retry schedule,
and what counts as a success; plus the values `Dispatcher` takes and reports. No I/O here.

Delivery (AXP-DIGITAL-API §3.3; where Avaya is silent the choice is ours and marked *ours*):

- One `POST callbackUrl` per event and subscription, the event as a compact JSON object,
  `Content-Type: application/json`. No batching, no extra headers, redirects not followed.
- Success is **HTTP 200** received within `RetryPolicy.timeout` (5 s) of the attempt's start,
  connection included. Avaya asks for "200 OK"; *ours*: any other status, 2xx (201, 204) and
  4xx included, counts as a failure and is retried, as do timeouts and connection errors.
- Retry schedule (*ours*; Avaya only says "re-sent after a delay"): after failed attempt n the
  next attempt starts after `min(max_delay, base_delay * factor ** (n - 1))`, multiplied by a
  random jitter factor in [0.9, 1.1] (±10 %). With the defaults (6 attempts, base 1 s, factor 2,
  cap 60 s) the waits are about 1, 2, 4, 8 and 16 s: an event is given up about 31 s after its
  first attempt plus the attempts' own time (at most 6 times 5 s), about 61 s at worst. A given-up
  event is logged (`webhook.failed`) and recorded with outcome "failed"; the subscription stays.
- Order: per subscription, the events of one dialog (key: the body's `dialogId`, else its
  `engagementId`, else one global key) are delivered strictly in publish order, each settled
  (delivered or given up) before the next one's first attempt. Dialogs, and subscriptions, are
  independent: a dead dialog or a dead callback URL blocks only itself.
- Cost: a dialog that has nothing pending costs nothing. A "lane" (a FIFO and one worker task)
  exists per (subscription, dialog) only while it has events, and is removed when it drains.
  At most `MAX_IN_FLIGHT` (32) POSTs are in flight at once; an attempt's timeout starts when it
  gets its slot, so a queue of busy dialogs is not blamed on the receiver.

Faults (`set_faults`, the webhook side of `POST /emulator/v1/faults`) are consumed at publish
time, in publish order, by events of the types in `event_types` (empty: every type) that have
at least one subscriber; one event consumes one unit of each fault that applies to it, whatever
its number of subscriptions:

- `drop`: the event is not delivered at all (one record per subscription, outcome "dropped",
  attempt 0). It does not count as the "next event" of a held (reordered) one.
- `duplicate`: once delivered, the event is POSTed again right away; the second POST is one
  attempt without retries, recorded with outcome "duplicate" and the next attempt number.
- `delay_ms`/`delay_count`: the event waits `delay_ms` before its first attempt; later events of
  its dialog wait behind it.
- `reorder`: the event is held back until the next event of its dialog is published, which is
  then queued first (pairs swap: A B C D with reorder=2 arrive B A D C). The follower consumes
  no reorder unit. If no next event comes within `reorder_window` (1 s), the held event is
  queued anyway.

Delivery log: one `DeliveryRecord` per attempt (and per dropped delivery), oldest first, bounded
by `log_limit`. Logs carry ids, event type, status and latency, never the body (message text)
or the callback URL (it may hold the subscriber's secret).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import httpx

JITTER: Final = 0.1  # retry delays are multiplied by a random factor in [1 - JITTER, 1 + JITTER]
REORDER_WINDOW: Final = 1.0  # seconds a reordered event waits for the next one of its dialog
GLOBAL_KEY: Final = "*"  # the ordering key of events with neither dialogId nor engagementId
SUCCESS_STATUS: Final = 200
# POSTs in flight at once; waiting for a slot does not count against the attempt's timeout.
MAX_IN_FLIGHT: Final = 32
_MESSAGES: Final = "MESSAGES"
_ALL: Final = "ALL"
_CUSTOMER: Final = "CUSTOMER"


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


DEFAULT_POLICY: Final = RetryPolicy()


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


@dataclass(frozen=True, slots=True)
class DispatcherStats:
    """Counters since construction, and what is pending now."""

    lanes: int  # (subscription, dialog) pairs with pending events
    pending: int  # deliveries queued, in flight or held for reordering
    delivered: int
    failed: int  # given up after every attempt
    retried: int  # failed attempts followed by another attempt
    dropped: int
    duplicated: int


def dialog_key(body: dict[str, Any]) -> str:
    """The ordering key of an event: its dialogId, else its engagementId, else `GLOBAL_KEY`."""
    for name in ("dialogId", "engagementId"):
        value = body.get(name)
        if isinstance(value, str) and value:
            return value
    return GLOBAL_KEY


def subscription_matches(event_types: Iterable[str], body: dict[str, Any]) -> bool:
    """Whether a subscription to `event_types` receives the event `body` (§3.1 table)."""
    types = frozenset(event_types)
    event_type = body.get("eventType")
    if not isinstance(event_type, str):
        return False
    if _ALL in types or event_type in types:
        return True
    if event_type != _MESSAGES:
        return False
    from_customer = body.get("senderParticipantType") == _CUSTOMER
    return ("CUSTOMER_MESSAGES" if from_customer else "CC_MESSAGES") in types


def retry_delay(policy: RetryPolicy, attempt: int, spread: float = 0.0) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based); `spread` in [-1, 1] scales the
    jitter (0: none)."""
    exponent = max(0, attempt - 1)
    try:
        delay = policy.base_delay * policy.factor**exponent
    except OverflowError:
        delay = policy.max_delay
    return max(0.0, min(policy.max_delay, delay) * (1 + JITTER * spread))


def failure_reason(exc: TimeoutError | httpx.HTTPError) -> str:
    """What an attempt that got no answer reports as its error ("timeout", "connect error", ...)."""
    match exc:
        case TimeoutError() | httpx.TimeoutException():
            return "timeout"
        case httpx.ConnectError():
            return "connect error"
        case httpx.RemoteProtocolError():
            return "protocol error"
        case httpx.InvalidURL() | httpx.UnsupportedProtocol():
            return "invalid url"
        case _:
            return f"transport error ({type(exc).__name__})"


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What the faults do to one event (to each of its deliveries)."""

    drop: bool = False
    duplicate: bool = False
    delay: float = 0.0  # seconds before the first attempt
    reorder: bool = False  # hold it until the next event of its dialog


def take_faults(
    faults: DeliveryFaults, event_type: str, *, completes_held: bool
) -> tuple[DeliveryFaults, FaultPlan]:
    """Consume the units of `faults` that apply to one published event; what is left, and what
    they do to it. `completes_held`: the event follows a held (reordered) one of its dialog, so
    it releases that one and takes no reorder unit itself. A dropped event takes nothing else."""
    if faults.event_types and event_type not in faults.event_types:
        return faults, FaultPlan()
    if faults.drop > 0:
        return replace(faults, drop=faults.drop - 1), FaultPlan(drop=True)
    duplicate = faults.duplicate > 0
    if duplicate:
        faults = replace(faults, duplicate=faults.duplicate - 1)
    delay = 0.0
    if faults.delay_count > 0:
        faults = replace(faults, delay_count=faults.delay_count - 1)
        delay = max(0, faults.delay_ms) / 1000
    reorder = not completes_held and faults.reorder > 0
    if reorder:
        faults = replace(faults, reorder=faults.reorder - 1)
    return faults, FaultPlan(duplicate=duplicate, delay=delay, reorder=reorder)
