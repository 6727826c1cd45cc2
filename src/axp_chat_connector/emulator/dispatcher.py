"""Webhook delivery like AXP's: one POST per event, in order per dialog, retried with backoff.

The emulator's API side builds the flat Notification event bodies (AXP-DIGITAL-API §3.4) and
calls `Dispatcher.publish`; the dispatcher POSTs each event to every matching subscription.

The delivery rules (success, retry schedule, order per dialog, cost) and the faults are written
down in `emulator/delivery.py`, beside the pure functions that implement them; this module is
the I/O: lanes of worker tasks, the POSTs, the delivery log.

"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import structlog

from axp_chat_connector.background import spawn
from axp_chat_connector.emulator.delivery import (
    DEFAULT_POLICY,
    MAX_IN_FLIGHT,
    REORDER_WINDOW,
    SUCCESS_STATUS,
    DeliveryFaults,
    DeliveryRecord,
    DispatcherStats,
    RetryPolicy,
    SubscriptionSource,
    SubscriptionTarget,
    dialog_key,
    failure_reason,
    retry_delay,
    subscription_matches,
    take_faults,
)

_log = structlog.get_logger(__name__)

_HEADERS: Final = {"Content-Type": "application/json"}


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
        policy: RetryPolicy = DEFAULT_POLICY,
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
        self._faults, plan = take_faults(self._faults, event_type, completes_held=key in self._held)
        if plan.drop:
            for job in jobs:
                self._record(
                    job, attempt=0, result=_Attempt(None, None, 0.0, _now()), outcome="dropped"
                )
                self._counts["dropped"] += 1
                _log.info("webhook.dropped", **_ids(job))
            return
        for job in jobs:
            job.duplicate = plan.duplicate
            job.delay = plan.delay
        held = self._held.pop(key, None)
        if held is not None:  # this event is the one the held event waited for
            held.timer.cancel()
            self._enqueue(jobs)
            self._enqueue(held.jobs)
            return
        if plan.reorder:
            timer = asyncio.get_running_loop().call_later(
                self._reorder_window, self._release_held, key
            )
            self._held[key] = _Held(jobs, timer)
            self._idle.clear()
            return
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
            except (TimeoutError, httpx.HTTPError) as exc:
                error = failure_reason(exc)
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
