"""The scenarios, each bounded in count and time: fixed push rates, the search for the highest
rate with p99 < 100 ms, idle connections, customer `send`, the reconnect storm, scale-out.

A `Target` is one server reached over one transport: how to open a client of it, and how to
address a push to a client.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed

from benchmarks.clients import Client
from benchmarks.connector_clients import ConnectorWs, Customer, resume_ws, send_and_wait
from benchmarks.loadgen import Push, RateResult, Tracker, post_open_loop, quantile, run_rate
from benchmarks.report import progress
from benchmarks.servers import cpu_seconds, rss_kb

P99_BOUND_MS = 100.0
OPEN_CONCURRENCY = 100
"""Clients being opened at once (connects, logins)."""
IDLE_SETTLE_SECONDS = 1.0


@dataclass
class Target:
    name: str
    ports: list[int]
    pids: list[int]
    make_push: Callable[[int, Client, str], Push]
    clients: list[Client] = field(default_factory=list)
    tracker: Tracker = field(default_factory=Tracker)
    seed: int = 18

    def pushes(self, label: str) -> Callable[[int], Push]:
        """Push i goes to a random client (seeded: every server gets the same sequence)."""
        chooser = random.Random(self.seed)

        def make(i: int) -> Push:
            return self.make_push(i, chooser.choice(self.clients), f"bench-{label}-{i}")

        return make


class OpenFailed(Exception):
    """More than `MAX_OPEN_FAILURES` of the clients could not be opened."""


MAX_OPEN_FAILURES = 0.01


async def open_many(
    opener: Callable[[int], Awaitable[Client]], count: int, first: int = 0
) -> list[Client]:
    """Open clients first..first+count-1, `OPEN_CONCURRENCY` at a time. A few failures (at
    most 1 %) leave those clients out; more raise `OpenFailed` (the opened ones closed)."""
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one(n: int) -> Client:
        async with gate:
            return await opener(n)

    results = await asyncio.gather(
        *(one(n) for n in range(first, first + count)), return_exceptions=True
    )
    clients: list[Client] = [r for r in results if not isinstance(r, BaseException)]
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        progress(f"  {len(failures)} of {count} clients failed to open: {failures[0]!r}")
    if len(failures) > MAX_OPEN_FAILURES * count:
        await close_all(clients)
        raise OpenFailed(f"{len(failures)} of {count} clients failed to open: {failures[0]!r}")
    return clients


async def close_all(clients: Sequence[Client]) -> None:
    for start in range(0, len(clients), 500):
        await asyncio.gather(*(c.close() for c in clients[start : start + 500]))


QUIET_SHARE, QUIET_SECONDS = 0.2, 30.0


async def quiet(pids: Sequence[int]) -> None:
    """Wait (at most `QUIET_SECONDS`) until the servers use under 20 % of a core over half a
    second: work left from the last scenario (closing thousands of sockets) must not count
    against the next."""
    deadline = time.monotonic() + QUIET_SECONDS
    while time.monotonic() < deadline:
        before = sum(cpu_seconds(pid) for pid in pids)
        await asyncio.sleep(0.5)
        if sum(cpu_seconds(pid) for pid in pids) - before < QUIET_SHARE * 0.5:
            return


async def fixed_rates(target: Target, rates: Sequence[float], seconds: float) -> list[RateResult]:
    await quiet(target.pids)
    results = []
    for rate in rates:
        make = target.pushes(f"{rate:g}")
        results.append(await run_rate(target.ports, make, target.tracker, rate, seconds))
        progress(f"  {target.name} {results[-1].brief()}")
    return results


def within_bound(result: RateResult) -> bool:
    return result.p99_ms < P99_BOUND_MS and result.lost == 0 and result.duplicated == 0


async def search_rate(
    target: Target, start: float, limit: float, seconds: float, bisections: int = 2
) -> dict[str, Any]:
    """The highest rate with p99 < 100 ms (and nothing lost): double from `start` until a
    rate fails or passes `limit` (the generator's ceiling), then bisect `bisections` times."""
    steps: list[RateResult] = []

    async def attempt(rate: float) -> bool:
        result = await run_rate(
            target.ports, target.pushes(f"s{rate:g}"), target.tracker, rate, seconds
        )
        steps.append(result)
        progress(f"  {target.name} search {result.brief()}")
        return within_bound(result)

    await quiet(target.pids)
    good, bad = 0.0, None
    rate = start
    while rate <= limit:
        if not await attempt(rate):
            bad = rate
            break
        good, rate = rate, rate * 2
    for _ in range(bisections if bad is not None else 0):
        assert bad is not None
        middle = round((good + bad) / 2)
        if await attempt(middle):
            good = middle
        else:
            bad = middle
    return {
        "best_rate": good,
        "first_failing_rate": bad,
        "capped_by_generator": bad is None,
        "steps": [step.as_dict() for step in steps],
    }


IDLE_CHUNK = 500
"""Idle connections opened between two looks at the time budget."""


async def idle_connections(
    opener: Callable[[int], Awaitable[Client]], pid: int, counts: Sequence[int], budget: float
) -> list[dict[str, Any]]:
    """Open connections up to each of `counts` (cumulatively), then report the server's RSS
    growth per connection since before the first, and the time the increment took to open.
    Stops early when the time `budget` is spent, noting how many were open by then."""
    results: list[dict[str, Any]] = []
    clients: list[Client] = []
    base = rss_kb(pid)
    deadline = time.monotonic() + budget
    try:
        for count in counts:
            began = time.perf_counter()
            while len(clients) < count and time.monotonic() < deadline:
                chunk = min(IDLE_CHUNK, count - len(clients))
                clients += await open_many(opener, chunk, first=len(clients))
            opened = time.perf_counter() - began
            if len(clients) < count:
                results.append({"connections": count, "timed_out_at": len(clients)})
                progress(f"  idle: budget spent at {len(clients)} of {count}")
                break
            progress(f"  idle: {count} open in {opened:.1f} s")
            await asyncio.sleep(IDLE_SETTLE_SECONDS)
            kb_each = (rss_kb(pid) - base) / count
            results.append({"connections": count, "kb_each": kb_each, "open_seconds": opened})
    finally:
        await close_all(clients)
    return results


async def send_latency(
    clients: Sequence[ConnectorWs], tracker: Tracker, rate: float, seconds: float
) -> dict[str, float]:
    """Customers `send` at `rate` (round robin over `clients`): time to the `ok` (durably
    accepted) and to the echo (AXP accepted it: 202), lost and duplicated echoes."""
    tracker.reset()
    duplicated_before = tracker.duplicated
    accepted: list[float] = []
    failures = 0

    async def one(client: ConnectorWs, n: int) -> None:
        nonlocal failures
        try:
            accepted.append(await send_and_wait(client, tracker, f"send {n}"))
        except (RuntimeError, TimeoutError):
            failures += 1

    tasks = []
    begin = time.perf_counter()
    for n in range(int(rate * seconds)):
        if (delay := begin + n / rate - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(clients[n % len(clients)], n)))
    await asyncio.gather(*tasks)
    deadline = time.monotonic() + 10
    while tracker.due and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    return {
        "rate": rate,
        "sent": len(tasks),
        "failed": failures,
        "ok_p50_ms": 1000 * quantile(accepted, 0.5),
        "ok_p99_ms": 1000 * quantile(accepted, 0.99),
        "echo_p50_ms": 1000 * quantile(tracker.latencies, 0.5),
        "echo_p99_ms": 1000 * quantile(tracker.latencies, 0.99),
        "echo_max_ms": 1000 * max(tracker.latencies, default=float("nan")),
        "lost": len(tracker.due),
        "duplicated": tracker.duplicated - duplicated_before,
    }


STORM_ATTEMPTS = 5
STORM_BACKOFF = 1.0
"""Seconds before a customer's second resume in the storm, doubled each time up to
`STORM_BACKOFF_MAX`, jittered (as the widget reconnects)."""
STORM_BACKOFF_MAX = 8.0


async def reconnect_storm(
    customers: Sequence[Customer],
    tracker: Tracker,
    ports: Sequence[int],
    make_push: Callable[[int, Client, str], Push],
    deliver_rate: float,
) -> tuple[dict[str, float], list[ConnectorWs]]:
    """Every customer resumes at once over a new WebSocket (as after an instance died): time
    until all are bound, resume p50/p99; then one push to each, counted (lost, duplicated)."""
    began = time.perf_counter()
    times: list[float] = []
    retries = [0]

    async def one(customer: Customer) -> ConnectorWs:
        """Resume, and as a widget does, try again after a growing, jittered pause when the
        server refused or closed the socket (an overloaded server closes those it could not
        bind in time: 4408)."""
        for attempt in range(STORM_ATTEMPTS):
            try:
                client = await resume_ws(customer, tracker)
            except (OSError, RuntimeError, ConnectionClosed, TimeoutError):
                if attempt == STORM_ATTEMPTS - 1:
                    raise
                retries[0] += 1
                pause = min(STORM_BACKOFF * 2**attempt, STORM_BACKOFF_MAX)
                await asyncio.sleep(pause * random.uniform(0.5, 1.0))  # noqa: sleep-ok (backoff)
                continue
            times.append(time.perf_counter() - began)
            return client
        raise AssertionError("unreachable")

    results = await asyncio.gather(*(one(c) for c in customers), return_exceptions=True)
    clients = [r for r in results if isinstance(r, ConnectorWs)]
    all_bound = time.perf_counter() - began
    tracker.reset()
    duplicated_before = tracker.duplicated

    def push(i: int) -> Push:
        return make_push(i, clients[i], f"bench-storm-{i}")

    rate = min(deliver_rate, float(len(clients)))
    seconds = len(clients) / rate if clients else 0.0
    stats = await post_open_loop(ports, push, rate, seconds, tracker)
    deadline = time.monotonic() + 10
    while tracker.due and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    summary = {
        "clients": len(customers),
        "resumed": len(clients),
        "failed": len(customers) - len(clients),
        "retried": retries[0],
        "all_bound_seconds": all_bound,
        "resume_p50_ms": 1000 * quantile(times, 0.5),
        "resume_p99_ms": 1000 * quantile(times, 0.99),
        "lost": len(tracker.due) + (stats.sent - stats.answered) + stats.failed,
        "duplicated": tracker.duplicated - duplicated_before,
    }
    return summary, clients
