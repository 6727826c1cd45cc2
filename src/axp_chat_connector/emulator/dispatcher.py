"""Webhook delivery like AXP's: one POST per event, in order per dialog, retried with backoff.

The emulator's API side builds the flat Notification event bodies (AXP-DIGITAL-API §3.4) and
calls `Dispatcher.publish`; the dispatcher POSTs each event to every matching subscription.

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

import asyncio
import json
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import structlog

from axp_chat_connector.background import spawn

_log = structlog.get_logger(__name__)

JITTER: Final = 0.1  # retry delays are multiplied by a random factor in [1 - JITTER, 1 + JITTER]
REORDER_WINDOW: Final = 1.0  # seconds a reordered event waits for the next one of its dialog
GLOBAL_KEY: Final = "*"  # the ordering key of events with neither dialogId nor engagementId
SUCCESS_STATUS: Final = 200
# POSTs in flight at once; waiting for a slot does not count against the attempt's timeout.
MAX_IN_FLIGHT: Final = 32
_HEADERS: Final = {"Content-Type": "application/json"}
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


@dataclass(slots=True, eq=False)
class _Job:
    """One event for one subscription."""

    delivery_id: str
    target: SubscriptionTarget
    key: str
    event_type: str
    dialog_id: str | None
    body: dict[str, Any]  # as sent (parsed back from `content`), shared by the records
    content: bytes
    delay: float = 0.0
    duplicate: bool = False
    settled: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True, eq=False)
class _Lane:
    """The pending events of one (subscription, dialog); the head one is in flight."""

    jobs: deque[_Job] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


@dataclass(slots=True, eq=False)
class _Held:
    """An event held back by the reorder fault until the next one of its dialog."""

    jobs: list[_Job]
    timer: asyncio.TimerHandle


@dataclass(frozen=True, slots=True)
class _Attempt:
    status: int | None
    error: str | None
    latency_ms: float
    at: str


class Dispatcher:
    def __init__(
        self,
        *,
        subscriptions: SubscriptionSource,
        policy: RetryPolicy = RetryPolicy(),
        client: httpx.AsyncClient | None = None,
        log_limit: int = 10_000,
        reorder_window: float = REORDER_WINDOW,
    ) -> None:
        if policy.attempts < 1 or policy.timeout <= 0 or policy.base_delay < 0:
            raise ValueError("RetryPolicy needs attempts >= 1, timeout > 0 and base_delay >= 0")
        if log_limit < 0:
            raise ValueError("log_limit must be >= 0")
        self._subscriptions = subscriptions
        self._policy = policy
        self._client = client
        self._own_client = client is None
        self._reorder_window = reorder_window
        self._records: deque[DeliveryRecord] = deque(maxlen=log_limit)
        self._faults = DeliveryFaults()
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._held: dict[str, _Held] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._running = False
        self._counts = {"delivered": 0, "failed": 0, "retried": 0, "dropped": 0, "duplicated": 0}

    async def start(self) -> None:
        """Start the delivery workers (called from the emulator app's lifespan)."""
        if self._running:
            return
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._policy.timeout,
                follow_redirects=False,
                trust_env=False,  # never route callbacks through a proxy from the environment
                limits=httpx.Limits(
                    max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT
                ),
            )
            self._own_client = True
        self._running = True

    async def stop(self) -> None:
        """Stop delivering; pending retries are abandoned."""
        self._running = False
        for held in self._held.values():
            held.timer.cancel()
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        abandoned = [job for lane in self._lanes.values() for job in lane.jobs]
        abandoned += [job for held in self._held.values() for job in held.jobs]
        for job in abandoned:
            job.settled.set()  # flush() callers stop waiting
        if abandoned:
            _log.warning("webhook.abandoned", deliveries=len(abandoned))
        self._lanes.clear()
        self._held.clear()
        self._idle.set()
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def publish(self, body: dict[str, Any]) -> None:
        """Queue one event (a flat Notification body with eventType, accountId,
        channelProviderId, ...). It goes to every subscription of (accountId, channelProviderId)
        whose eventTypes match: MESSAGES and ALL get every message, CUSTOMER_MESSAGES only
        senderParticipantType CUSTOMER, CC_MESSAGES only the others; ALL gets every type.
        Events of one dialog (dialogId, else engagementId) are delivered in publish order, each
        one settled (delivered or given up) before the next starts; dialogs are independent.

        Call it on the event loop between `start` and `stop`; otherwise the event is discarded
        (logged). A body without a string eventType, or one that is not JSON, is discarded
        (logged), never raised."""
        event_type = body.get("eventType") if isinstance(body, dict) else None
        if not isinstance(event_type, str):
            _log.error("webhook.invalid_event", reason="no eventType")
            return
        if not self._running:
            _log.warning("webhook.not_running", event_type=event_type)
            return
        try:
            content = json.dumps(
                body, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode()
        except (TypeError, ValueError) as exc:
            _log.error("webhook.invalid_event", event_type=event_type, reason=type(exc).__name__)
            return
        account_id, provider_id = body.get("accountId"), body.get("channelProviderId")
        targets = [
            target
            for target in self._subscriptions(
                account_id if isinstance(account_id, str) else "",
                provider_id if isinstance(provider_id, str) else "",
            )
            if subscription_matches(target.event_types, body)
        ]
        if not targets:
            _log.debug("webhook.no_subscriber", event_type=event_type)
            return
        sent: dict[str, Any] = json.loads(content)
        key = dialog_key(body)
        dialog_id = body.get("dialogId") if isinstance(body.get("dialogId"), str) else None
        jobs = [
            _Job(
                delivery_id=str(uuid.uuid4()),
                target=target,
                key=key,
                event_type=event_type,
                dialog_id=dialog_id,
                body=sent,
                content=content,
            )
            for target in targets
        ]
        self._publish_jobs(event_type, key, jobs)

    def _publish_jobs(self, event_type: str, key: str, jobs: list[_Job]) -> None:
        """Apply the faults to one event's jobs, then queue, hold or drop them."""
        faults = self._faults
        applies = not faults.event_types or event_type in faults.event_types
        if applies and faults.drop > 0:
            self._faults = replace(faults, drop=faults.drop - 1)
            for job in jobs:
                self._record(
                    job, attempt=0, result=_Attempt(None, None, 0.0, _now()), outcome="dropped"
                )
                self._counts["dropped"] += 1
                _log.info("webhook.dropped", **_ids(job))
            return
        if applies and faults.duplicate > 0:
            faults = replace(faults, duplicate=faults.duplicate - 1)
            for job in jobs:
                job.duplicate = True
        if applies and faults.delay_count > 0:
            faults = replace(faults, delay_count=faults.delay_count - 1)
            for job in jobs:
                job.delay = max(0, faults.delay_ms) / 1000
        held = self._held.pop(key, None)
        if held is not None:  # this event is the one the held event waited for
            held.timer.cancel()
            self._faults = faults
            self._enqueue(jobs)
            self._enqueue(held.jobs)
            return
        if applies and faults.reorder > 0:
            self._faults = replace(faults, reorder=faults.reorder - 1)
            timer = asyncio.get_running_loop().call_later(
                self._reorder_window, self._release_held, key
            )
            self._held[key] = _Held(jobs, timer)
            self._idle.clear()
            return
        self._faults = faults
        self._enqueue(jobs)

    def _release_held(self, key: str) -> None:
        held = self._held.pop(key, None)
        if held is not None and self._running:
            self._enqueue(held.jobs)
        self._check_idle()

    def _enqueue(self, jobs: Iterable[_Job]) -> None:
        for job in jobs:
            lane_key = (job.target.subscription_id, job.key)
            lane = self._lanes.get(lane_key)
            if lane is None:
                lane = self._lanes[lane_key] = _Lane()
            lane.jobs.append(job)
            if lane.task is None:
                lane.task = spawn(self._run_lane(lane_key, lane), name=f"webhook-lane:{job.key}")
        self._idle.clear()

    async def _run_lane(self, lane_key: tuple[str, str], lane: _Lane) -> None:
        """Deliver the lane's events one by one; remove the lane when it is empty."""
        while lane.jobs:
            job = lane.jobs[0]
            try:
                await self._deliver(job)
            except Exception as exc:  # a bug must not wedge the dialog: log it, go on
                _log.error("webhook.internal_error", **_ids(job), error=repr(exc), exc_info=exc)
            lane.jobs.popleft()
            job.settled.set()
        del self._lanes[lane_key]
        self._check_idle()

    async def _deliver(self, job: _Job) -> None:
        if job.delay > 0:
            await asyncio.sleep(job.delay)
        policy = self._policy
        for attempt in range(1, policy.attempts + 1):
            result = await self._attempt(job)
            if result.status == SUCCESS_STATUS:
                self._record(job, attempt, result, "delivered")
                self._counts["delivered"] += 1
                _log.info("webhook.delivered", **_ids(job), **_fields(attempt, result))
                break
            if attempt == policy.attempts:
                self._record(job, attempt, result, "failed")
                self._counts["failed"] += 1
                _log.warning("webhook.failed", **_ids(job), **_fields(attempt, result))
                return
            self._record(job, attempt, result, "retrying")
            self._counts["retried"] += 1
            delay = retry_delay(policy, attempt, random.uniform(-1.0, 1.0))
            _log.info("webhook.retry", **_ids(job), **_fields(attempt, result), delay_s=delay)
            await asyncio.sleep(delay)
        if job.duplicate:
            result = await self._attempt(job)
            self._record(job, attempt + 1, result, "duplicate")
            self._counts["duplicated"] += 1
            _log.info("webhook.duplicate_sent", **_ids(job), **_fields(attempt + 1, result))

    async def _attempt(self, job: _Job) -> _Attempt:
        """One POST; never raises for what the receiver or the network did."""
        client = self._client
        assert client is not None, "start() creates the client"
        status: int | None = None
        error: str | None = None
        async with self._slots:
            at = _now()
            started = time.monotonic()
            try:
                async with asyncio.timeout(self._policy.timeout):
                    response = await client.post(
                        job.target.callback_url, content=job.content, headers=_HEADERS
                    )
                status = response.status_code
            except (TimeoutError, httpx.TimeoutException):
                error = "timeout"
            except httpx.ConnectError:
                error = "connect error"
            except httpx.RemoteProtocolError:
                error = "protocol error"
            except (httpx.InvalidURL, httpx.UnsupportedProtocol):
                error = "invalid url"
            except httpx.HTTPError as exc:
                error = f"transport error ({type(exc).__name__})"
            latency_ms = round((time.monotonic() - started) * 1000, 3)
        return _Attempt(status, error, latency_ms, at)

    def _record(self, job: _Job, attempt: int, result: _Attempt, outcome: str) -> None:
        self._records.append(
            DeliveryRecord(
                delivery_id=job.delivery_id,
                subscription_id=job.target.subscription_id,
                callback_url=job.target.callback_url,
                event_type=job.event_type,
                dialog_id=job.dialog_id,
                body=job.body,
                attempt=attempt,
                status=result.status,
                error=result.error,
                latency_ms=result.latency_ms,
                at=result.at,
                outcome=outcome,
            )
        )

    def _check_idle(self) -> None:
        if not self._lanes and not self._held:
            self._idle.set()

    async def flush(self, dialog_id: str, timeout: float) -> None:
        """Wait until every event published so far for `dialog_id` is settled, or `timeout`."""
        waits = [
            lane.jobs[-1].settled  # lanes are FIFO: the last one settles after the others
            for (_, key), lane in self._lanes.items()
            if key == dialog_id and lane.jobs
        ]
        held = self._held.get(dialog_id)
        if held is not None:
            waits += [job.settled for job in held.jobs]
        try:
            async with asyncio.timeout(timeout):
                for settled in waits:
                    await settled.wait()
        except TimeoutError:
            _log.warning("webhook.flush_timeout", dialog_id=dialog_id, timeout_s=timeout)

    async def idle(self, timeout: float) -> bool:
        """Wait until nothing is pending in any dialog; False if `timeout` passed first."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def set_faults(self, faults: DeliveryFaults) -> None:
        self._faults = faults

    def faults(self) -> DeliveryFaults:
        return self._faults

    def deliveries(self) -> list[DeliveryRecord]:
        """The delivery log, oldest first (bounded by `log_limit`)."""
        return list(self._records)

    def stats(self) -> DispatcherStats:
        pending = sum(len(lane.jobs) for lane in self._lanes.values())
        pending += sum(len(held.jobs) for held in self._held.values())
        return DispatcherStats(lanes=len(self._lanes), pending=pending, **self._counts)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ids(job: _Job) -> dict[str, Any]:
    return {
        "subscription_id": job.target.subscription_id,
        "delivery_id": job.delivery_id,
        "event_type": job.event_type,
        "dialog_id": job.dialog_id,
    }


def _fields(attempt: int, result: _Attempt) -> dict[str, Any]:
    return {
        "attempt": attempt,
        "status": result.status,
        "error": result.error,
        "latency_ms": result.latency_ms,
    }
