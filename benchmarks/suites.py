"""One suite per server: the scenarios of the plan, run in turn against a started server, each
returning a JSON-ready dict (one per server and transport)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks import probes
from benchmarks.clients import Client
from benchmarks.connector_clients import (
    ConnectorWs,
    Customer,
    SseMissing,
    StreamClient,
    open_customer,
    open_logged_in,
    open_poll,
    open_sse,
    webhook_body,
)
from benchmarks.loadgen import Push, Tracker, run_rate
from benchmarks.scenarios import (
    Target,
    close_all,
    fixed_rates,
    idle_connections,
    open_many,
    reconnect_storm,
    search_rate,
    send_latency,
)
from benchmarks.servers import ConnectorStack, Process


@dataclass(frozen=True)
class Plan:
    """Sizes of one run: `FULL` or `SMOKE` (see run.py)."""

    clients: int
    rates: tuple[float, ...]
    poll_rates: tuple[float, ...]
    seconds: float
    search: bool
    search_start: float
    idle_counts: tuple[int, ...]
    idle_budget: float
    send_clients: int
    send_rate: float
    send_seconds: float
    scale_rate: float
    redis_instances: tuple[int, ...]
    ceiling_seconds: float
    storm_clients: int = 0
    """How many customers the reconnect storm resumes on SQLite and on the largest Redis
    layout (at least `clients`: the rest are opened for it, then closed); the other layouts
    resume their `clients`."""
    storm_rate: float = 500.0
    smoke: bool = False


Opener = Callable[[int, str, Tracker], Awaitable[Client]]


def peer_push(i: int, client: Client, token: str) -> Push:
    return Push(0, f"/push/{client.address}", json.dumps({"t": token}).encode(), token)


async def peer_suite(
    name: str, transport: str, server: Process, opener: Opener, plan: Plan, ceiling: float
) -> dict[str, Any]:
    target = Target(name, [server.port], [server.pid], peer_push)
    tracker = target.tracker
    result: dict[str, Any] = {"server": name, "transport": transport}
    if transport == "ws":
        result["idle"] = await idle_connections(
            lambda n: opener(server.port, f"idle{n}", tracker),
            server.pid,
            plan.idle_counts,
            plan.idle_budget,
        )
    target.clients = await open_many(lambda n: opener(server.port, str(n), tracker), plan.clients)
    try:
        rates = plan.rates if transport == "ws" else plan.poll_rates
        result["rates"] = [r.as_dict() for r in await fixed_rates(target, rates, plan.seconds)]
        if plan.search and transport == "ws":
            result["search"] = await search_rate(target, plan.search_start, ceiling, plan.seconds)
    finally:
        await close_all(target.clients)
    return result


@dataclass
class ConnectorRun:
    """A started connector stack and its customers (set up once, over WebSocket)."""

    stack: ConnectorStack
    customers: dict[str, Customer]

    def push(self, i: int, client: Client, token: str) -> Push:
        customer = self.customers[client.address]
        return Push(i, self.stack.callback_path, webhook_body(customer, token), token)

    def target(self, name: str, clients: list[Client], tracker: Tracker) -> Target:
        pids = [p.pid for p in self.stack.instances]
        return Target(name, self.stack.ports, pids, self.push, clients, tracker)


def connector_name(stack: ConnectorStack) -> str:
    count = len(stack.instances)
    return f"connector {stack.store}" + (f" x{count}" if count > 1 else "")


async def open_customers(
    stack: ConnectorStack, count: int, tracker: Tracker, label: str
) -> list[ConnectorWs]:
    """`count` customers with an accepted chat, spread over the instances."""
    ports = stack.ports
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=stack.emulator_url, timeout=30, limits=limits) as http:

        async def one(n: int) -> Client:
            return await open_customer(ports[n % len(ports)], http, f"{label}{n}", tracker)

        clients = await open_many(one, count)
    return [c for c in clients if isinstance(c, ConnectorWs)]


def storm_size(stack: ConnectorStack, plan: Plan) -> int:
    """The reconnect storm's customer count for `stack` (see `Plan.storm_clients`)."""
    largest = stack.store == "sqlite" or len(stack.instances) == max(plan.redis_instances)
    return max(plan.clients, plan.storm_clients) if largest else plan.clients


async def connector_suite(
    stack: ConnectorStack, plan: Plan, ceiling: float
) -> list[dict[str, Any]]:
    """WS (idle, rates, search, send, storm), then long polling and SSE with the same
    customers; for Redis, the cost per event at `plan.scale_rate` too."""
    name = connector_name(stack)
    tracker = Tracker()
    first = stack.instances[0]
    ws: dict[str, Any] = {"server": name, "transport": "ws"}
    many = len(stack.instances) > 1
    if not many:
        ws["idle"] = await idle_connections(
            lambda n: open_logged_in(first.port, f"idle{n}", tracker),
            first.pid,
            plan.idle_counts,
            plan.idle_budget,
        )
    clients = await open_customers(stack, plan.clients, tracker, "c")
    run = ConnectorRun(stack, {c.address: c.customer for c in clients})
    target = run.target(name, list(clients), tracker)
    try:
        if not many:
            pauses = probes.gc_pauses(stack.ports)
            ws["rates"] = [r.as_dict() for r in await fixed_rates(target, plan.rates, plan.seconds)]
            if plan.search:
                ws["search"] = await search_rate(target, plan.search_start, ceiling, plan.seconds)
            ws["gc_under_load"] = probes.pauses_between(pauses, probes.gc_pauses(stack.ports))
        if stack.redis is not None:
            ws["scale"] = await scale_cost(run, target, plan)
        ws["gc_pause_max_seconds"] = probes.gc_pause_max(stack.ports)
        if not many:
            ws["send"] = await send_suite(stack, plan, tracker)
    finally:
        await close_all(target.clients)
    storm_run = ConnectorRun(stack, dict(run.customers))  # the polls below keep `clients`
    extra = storm_size(stack, plan) - len(run.customers)
    if extra > 0:
        more = await open_customers(stack, extra, tracker, "storm")
        await close_all(more)
        storm_run.customers.update({c.address: c.customer for c in more})
    storm, resumed = await reconnect_storm(
        list(storm_run.customers.values()), tracker, stack.ports, storm_run.push, plan.storm_rate
    )
    ws["storm"] = storm
    await close_all(resumed)
    results = [ws]
    if not many:
        results.append(await stream_suite(run, "polling", plan, tracker))
        results.append(await stream_suite(run, "sse", plan, tracker))
    return results


async def scale_cost(run: ConnectorRun, target: Target, plan: Plan) -> dict[str, Any]:
    """One rate below every ceiling, with the server-side cost per delivered event."""
    redis_port = run.stack.redis.port if run.stack.redis else None
    pids = target.pids
    before = probes.snapshot(pids, redis_port)
    result = await run_rate(
        target.ports, target.pushes("scale"), target.tracker, plan.scale_rate, plan.seconds
    )
    after = probes.snapshot(pids, redis_port)
    return {
        "instances": len(pids),
        **result.as_dict(),
        **probes.cost_per_event(before, after, result.delivered),
    }


async def send_suite(stack: ConnectorStack, plan: Plan, tracker: Tracker) -> dict[str, Any]:
    senders = await open_customers(stack, plan.send_clients, tracker, "s")
    try:
        return await send_latency(senders, tracker, plan.send_rate, plan.send_seconds)
    finally:
        await close_all(senders)


async def stream_suite(
    run: ConnectorRun, transport: str, plan: Plan, tracker: Tracker
) -> dict[str, Any]:
    """Long polling or SSE: each customer holds one stream; the fixed polling rates."""
    name = connector_name(run.stack)
    result: dict[str, Any] = {"server": name, "transport": transport}
    opener = open_poll if transport == "polling" else open_sse
    customers = list(run.customers.values())
    try:
        first = await opener(customers[0], tracker)
    except SseMissing:
        result["note"] = "skipped: the connector answers 404 to GET /v1/sse"
        return result
    clients: list[StreamClient] = [first]
    try:
        for customer in customers[1:]:
            clients.append(await opener(customer, tracker))
        target = run.target(name, list(clients), tracker)
        rates = await fixed_rates(target, plan.poll_rates, plan.seconds)
        result["rates"] = [r.as_dict() for r in rates]
    finally:
        await close_all(clients)
    return result
