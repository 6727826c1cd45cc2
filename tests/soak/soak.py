"""A seeded random soak: many concurrent chats over WebSocket, long polling and SSE (when the
connector serves it), with AXP and webhook faults drawn from a schedule and connections cut at
random; at the end every chat is checked end to end and the counts are printed.

    python -m tests.soak.soak --chats 40 --rounds 20 --seed 7     # the long run

`tests/soak/test_soak.py` runs a short one in the test command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.chat import agent_texts
from tests.faults.conftest import FaultAgent, fault_stack, injected
from tests.soak.customers import CUSTOMER, Customer, PollCustomer, SseCustomer, WsCustomer, has_sse

SETTLE_TIMEOUT = 45.0
"""How long the end of a chat may take to arrive once the last fault is cleared (s)."""
SCHEDULE: list[dict[str, Any]] = [
    {"webhooks": {"duplicate": 2, "eventTypes": ["MESSAGES"]}},
    {"webhooks": {"reorder": 1, "eventTypes": ["MESSAGES"]}},
    {"webhooks": {"delayMs": 300, "delayCount": 2}},
    {"operations": [{"operation": "sendDigitalMessage", "status": 503, "count": 1}]},
    {"operations": [{"operation": "sendDigitalMessage", "status": 429, "count": 1}]},
    {"operations": [{"operation": "sendDigitalMessage", "status": 504, "afterEffect": True}]},
    {"latency": [{"operation": "sendDigitalMessage", "ms": 400, "count": 2}]},
    {"operations": [{"operation": "sendDigitalMessage", "status": 401, "count": 1}]},
]


@dataclass
class Tally:
    chats: int = 0
    faults_injected: int = 0
    cuts: int = 0
    events_checked: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    failed_sends: int = 0
    transports: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"soak: chats {self.chats} {self.transports}, faults injected {self.faults_injected}, "
            f"connection cuts {self.cuts}, events checked {self.events_checked}, "
            f"lost {self.lost}, duplicated {self.duplicated}, out of order {self.out_of_order}, "
            f"sends failed (told) {self.failed_sends}"
        )


@dataclass
class Chat:
    customer: Customer
    engagement_id: str = ""
    sent: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)


async def fault_schedule(
    agent: FaultAgent, rng: random.Random, stop: asyncio.Event, tally: Tally
) -> None:
    while not stop.is_set():
        faults = rng.choice(SCHEDULE)
        await agent.faults(**faults)
        tally.faults_injected += injected(faults)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(0.3, 1.2))


async def chat(
    number: int, base_url: str, agent: FaultAgent, kinds: list[type[Customer]], rounds: int,
    seed: int, tally: Tally,
) -> Chat:  # fmt: skip
    rng = random.Random(seed * 10_007 + number)
    customer = rng.choice(kinds)(base_url)
    tally.transports[customer.transport] = tally.transports.get(customer.transport, 0) + 1
    result = Chat(customer)
    email = f"soak-{seed}-{number}@example.com"  # one AXP customer (engagement) per chat
    await customer.ok("login", customer={**CUSTOMER, "identifiers": {"emailAddresses": [email]}})
    await customer.connect()
    started = await customer.ok("start", conversation=f"soak {number}")
    result.engagement_id = started["engagementId"]
    await agent.engagement(started["dialogId"])
    await agent.act(result.engagement_id, "accept", agentName="Soak agent")
    await customer.wait_event("the agent", lambda e: e["type"] == "participant.joined", 20)
    for round_ in range(rounds):
        result.sent.append(f"s{number}-{round_}")
        await customer.ok("send", id_=result.sent[-1], text=result.sent[-1])
        if rng.random() < 0.6:
            result.said.append(f"a{number}-{round_}")
            await agent.say(result.engagement_id, result.said[-1])
        if rng.random() < 0.25:
            tally.cuts += 1
            await customer.cut()
        await asyncio.sleep(rng.uniform(0, 0.4))  # the schedule's pause, not a wait
    return result


async def settle(one: Chat, agent: FaultAgent) -> None:
    """Wait (bounded) until every send is settled and every agent message arrived; what has
    not by then counts as lost."""

    def done(_: Any) -> bool:
        seen = one.customer.seen.values()
        settled = {e.get("clientMessageId") for e in seen}
        texts = {e.get("text") for e in seen if e["type"] == "message"}
        return set(one.sent) <= settled and set(one.said) <= texts

    with contextlib.suppress(AssertionError):
        await one.customer.wait_event("everything", done, SETTLE_TIMEOUT)


async def check(one: Chat, agent: FaultAgent, tally: Tally) -> None:
    customer = one.customer
    events = [customer.seen[s] for s in sorted(customer.seen)]
    tally.events_checked += len(events)
    tally.out_of_order += customer.disorder
    tally.lost += (max(customer.seen) - min(customer.seen) + 1) - len(customer.seen)
    for send_id in one.sent:
        settled = [e for e in events if e.get("clientMessageId") == send_id]
        tally.lost += not settled
        tally.duplicated += max(0, len(settled) - 1)
        tally.failed_sends += sum(1 for e in settled if e["type"] == "message.failed")
    from_agent = [
        e["text"] for e in events if e["type"] == "message" and e["from"]["type"] == "AGENT"
    ]
    compare(from_agent, one.said, tally)
    delivered = {
        e["clientMessageId"] for e in events if e["type"] == "message" and e.get("clientMessageId")
    }
    at_agent = await agent_texts(agent, one.engagement_id)
    tally.events_checked += len(at_agent)
    compare(at_agent, [t for t in one.sent if t in delivered], tally)


def compare(seen: list[str], expected: list[str], tally: Tally) -> None:
    picked = [t for t in seen if t in expected]
    tally.lost += len(set(expected) - set(picked))
    tally.duplicated += len(picked) - len(set(picked))
    firsts = list(dict.fromkeys(picked))
    tally.out_of_order += firsts != [t for t in expected if t in firsts]


async def soak(base_url: str, emulator_url: str, *, chats: int, rounds: int, seed: int) -> Tally:
    tally = Tally(chats=chats)
    rng = random.Random(seed)
    kinds: list[type[Customer]] = [WsCustomer, PollCustomer]
    if await has_sse(base_url):
        kinds.append(SseCustomer)
    agent = FaultAgent(emulator_url)
    stop = asyncio.Event()
    schedule = asyncio.create_task(fault_schedule(agent, rng, stop, tally))
    try:
        done = await asyncio.gather(
            *(chat(n, base_url, agent, kinds, rounds, seed, tally) for n in range(chats))
        )
    finally:
        stop.set()
        await schedule
        await agent.clear_faults()
    try:
        await asyncio.gather(*(settle(one, agent) for one in done))
        for one in done:
            await check(one, agent, tally)
    finally:
        for one in done:
            await one.customer.close()
        await agent.aclose()
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data, fault_stack(Path(data)) as stack:
        tally = asyncio.run(
            soak(
                stack.connector_url,
                stack.emulator_url,
                chats=args.chats,
                rounds=args.rounds,
                seed=args.seed,
            )
        )
    print(tally.line())
    raise SystemExit(0 if tally.lost == tally.duplicated == tally.out_of_order == 0 else 1)


if __name__ == "__main__":
    main()
