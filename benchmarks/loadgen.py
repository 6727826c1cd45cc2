"""The open-loop load generator: HTTP POSTs due at a fixed rate, each addressed to one client,
and the bookkeeping of what arrived where (latency, lost, duplicated).

Latency is measured from when a POST was *due* (not when it was written), so a generator or a
server that falls behind shows it. Every loop is bounded: a rate runs `seconds`, then waits at
most `drain_seconds` for the last deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks.rawhttp import HttpConnection

POST_CONNECTIONS = 32
"""Keep-alive connections the generator posts over (spread over the targets)."""
SETTLE_SECONDS = 5.0
"""Pause after a rate that left deliveries undone, so the next one starts on a quiet server."""
BEHIND_BATCH = 16
"""Behind schedule, the generator queues this many POSTs between two yields to its workers."""
JSON = {"Content-Type": "application/json"}


@dataclass
class Tracker:
    """Tokens due at a client, and what became of them."""

    due: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    duplicated: int = 0

    def expect(self, token: str, at: float) -> None:
        self.due[token] = at

    def arrived(self, token: str) -> None:
        now = time.perf_counter()
        at = self.due.pop(token, None)
        if at is None:
            if token in self.seen:
                self.duplicated += 1
            return
        self.seen.add(token)
        self.latencies.append(now - at)
        self.arrivals.append(now)

    def reset(self) -> None:
        self.due.clear()
        self.latencies.clear()
        self.arrivals.clear()


@dataclass(frozen=True, slots=True)
class Push:
    """One POST: to target `target` (an index into the poster's ports), `path`, `body`; the
    client should then receive `token`."""

    target: int
    path: str
    body: bytes
    token: str


@dataclass
class PostStats:
    sent: int = 0
    answered: int = 0
    failed: int = 0
    answer_latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0


def quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def worst_gap(arrivals: Sequence[float]) -> float:
    """The longest time with no delivery at all between two deliveries: a stall of the
    server's loop (a GC pause, say) shows here even when it is too rare to move the p99."""
    ordered = sorted(arrivals)
    return max((b - a for a, b in itertools.pairwise(ordered)), default=0.0)


async def _post_worker(
    port: int,
    queue: asyncio.Queue[tuple[Push, float] | None],
    stats: PostStats,
    tracker: Tracker | None,
) -> None:
    connection = await HttpConnection(port).open()
    try:
        while (job := await queue.get()) is not None:
            push, due = job
            if tracker is not None:
                tracker.expect(push.token, due)
            answer = await connection.request("POST", push.path, push.body, JSON)
            stats.answer_latencies.append(time.perf_counter() - due)
            stats.answered += 1
            if answer.status != 200:
                stats.failed += 1
                if tracker is not None:
                    tracker.due.pop(push.token, None)
    finally:
        await connection.close()


async def post_open_loop(
    ports: Sequence[int],
    make_push: Callable[[int], Push],
    rate: float,
    seconds: float,
    tracker: Tracker | None = None,
    drain_seconds: float = 10.0,
) -> PostStats:
    """POST `make_push(i)` for i in 0..rate*seconds, each due at start + i/rate, spread over
    `POST_CONNECTIONS` keep-alive connections to `ports` (round robin by `Push.target`)."""
    stats = PostStats()
    queues: list[asyncio.Queue[tuple[Push, float] | None]] = [asyncio.Queue() for _ in ports]
    per_port = max(1, POST_CONNECTIONS // len(ports))
    workers = [
        asyncio.create_task(_post_worker(port, queue, stats, tracker))
        for port, queue in zip(ports, queues, strict=True)
        for _ in range(per_port)
    ]
    total = int(rate * seconds)
    begin = time.perf_counter()
    for i in range(total):
        due = begin + i / rate
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        elif i % BEHIND_BATCH == 0:
            await asyncio.sleep(0)  # behind schedule: let the workers post what is queued
        push = make_push(i)
        queues[push.target % len(ports)].put_nowait((push, due))
        stats.sent += 1
    for queue in queues:
        for _ in range(per_port):
            queue.put_nowait(None)
    _, late = await asyncio.wait(workers, timeout=seconds + drain_seconds)
    for task in late:
        task.cancel()
    for task in workers:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    stats.elapsed = time.perf_counter() - begin
    return stats


async def wait_delivered(tracker: Tracker, drain_seconds: float) -> None:
    deadline = time.monotonic() + drain_seconds
    while tracker.due and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


@dataclass(frozen=True, slots=True)
class RateResult:
    rate: float
    sent: int
    delivered: int
    lost: int
    duplicated: int
    failed: int
    achieved: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    answer_p99_ms: float
    worst_gap_ms: float

    def brief(self) -> str:
        return (
            f"@{self.rate:g}/s: p50 {self.p50_ms:.1f} p99 {self.p99_ms:.1f} max {self.max_ms:.1f}"
            f" ms, delivered {self.delivered}/{self.sent}, lost {self.lost}"
        )

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__slots__}


async def run_rate(
    ports: Sequence[int],
    make_push: Callable[[int], Push],
    tracker: Tracker,
    rate: float,
    seconds: float,
    drain_seconds: float = 10.0,
) -> RateResult:
    """One fixed rate: POST for `seconds`, wait for the deliveries, count."""
    tracker.reset()
    duplicated_before = tracker.duplicated
    stats = await post_open_loop(ports, make_push, rate, seconds, tracker, drain_seconds)
    await wait_delivered(tracker, drain_seconds)
    await asyncio.sleep(0.2)  # a duplicate, if any, arrives right behind its original
    latencies = tracker.latencies
    result = RateResult(
        rate=rate,
        sent=stats.sent,
        delivered=len(latencies),
        lost=len(tracker.due) + (stats.sent - stats.answered),
        duplicated=tracker.duplicated - duplicated_before,
        failed=stats.failed,
        achieved=len(latencies) / stats.elapsed if stats.elapsed else 0.0,
        p50_ms=1000 * quantile(latencies, 0.50),
        p99_ms=1000 * quantile(latencies, 0.99),
        max_ms=1000 * max(latencies, default=float("nan")),
        answer_p99_ms=1000 * quantile(stats.answer_latencies, 0.99),
        worst_gap_ms=1000 * worst_gap(tracker.arrivals),
    )
    if result.lost:  # overloaded: let the server work off its backlog before the next rate
        tracker.reset()
        await asyncio.sleep(SETTLE_SECONDS)
    return result


async def generator_ceiling(port: int, seconds: float, rate: float = 20_000) -> float:
    """POSTs answered per second by the null server when asked for far more than the
    generator can send: the generator's own ceiling."""
    body = b'{"t":"x"}'
    stats = await post_open_loop([port], lambda i: Push(0, "/null", body, ""), rate, seconds)
    return stats.answered / stats.elapsed if stats.elapsed else 0.0
