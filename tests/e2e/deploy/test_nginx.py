"""Three `serve` instances on one Redis behind a real nginx running the configuration
docs/deployment.md publishes; AXP (the emulator) reaches them only through nginx. One instance is
killed (SIGKILL) mid-chat: its customers resume on another with nothing lost or doubled, on
both sides; a send it had accepted is delivered by another instance; its timers fire elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.e2e.chat.clients import Agent, Frame, PollClient, WsClient, eventually, wait_for
from tests.e2e.deploy.nginx import UPSTREAM_HEADER, nginx_binary, running_nginx
from tests.servers import TIME_SCALE, connector_env, free_port, spawn

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

OUTBOX_TAKEOVER = 60 * TIME_SCALE
"""Seconds for a dead instance's outbox lease (30 s) to end and another to deliver."""
TIMERS = 30 * TIME_SCALE
"""Seconds for the short idle timers (8 s) to fire, with room for a loaded machine."""


@dataclass
class Cluster:
    url: str  # nginx: the public URL, the only one customers and AXP use
    emulator: str
    instances: dict[str, subprocess.Popen[bytes]]  # "127.0.0.1:port" -> process

    def kill(self, address: str) -> None:
        process = self.instances[address]
        process.send_signal(signal.SIGKILL)
        process.wait(10)


def serving(address: str, env: dict[str, str]) -> contextlib.AbstractContextManager[Any]:
    port = address.rsplit(":", 1)[1]
    return spawn(["serve", "--port", port], f"http://{address}/readyz", env=env, timeout=30)


@contextlib.contextmanager
def cluster(redis_url: str, **settings: str) -> Iterator[Cluster]:
    nginx_binary()  # skip (or fail under CI) before starting anything
    emulator_port, nginx_port = free_port(), free_port()
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    public = f"http://127.0.0.1:{nginx_port}"
    emulator = f"http://127.0.0.1:{emulator_port}"
    more = {"AXP_CHAT_BUS_URL": redis_url, "AXP_CHAT_AXP_BACKOFF_BASE": "0.05", **settings}
    env = connector_env(emulator, public, redis_url, **more)
    emulator_env = {
        "AXP_EMULATOR_ALLOW_HTTP_CALLBACKS": "true",
        "AXP_EMULATOR_WEBHOOK_BACKOFF_BASE": "0.1",
        "AXP_EMULATOR_WEBHOOK_BACKOFF_MAX": "1",
    }
    with contextlib.ExitStack() as stack:
        health = f"{emulator}/emulator/v1/health"
        emulator_args = ["emulator", "--port", str(emulator_port)]
        stack.enter_context(spawn(emulator_args, health, env=emulator_env, timeout=30))
        stack.enter_context(running_nginx(addresses, nginx_port))
        instances = {a: stack.enter_context(serving(a, env)) for a in addresses}
        yield Cluster(public, emulator, instances)


@pytest.fixture
async def opened() -> AsyncIterator[list[Agent | PollClient]]:
    """HTTP clients a test opened (it appends them), closed after it."""
    clients: list[Agent | PollClient] = []
    yield clients
    for client in clients:
        await client.aclose()


def instance_of(client: WsClient) -> str:
    """The instance nginx sent this WebSocket to (the last one it tried)."""
    connection = client._conn  # the handshake's response is only on the connection
    assert connection is not None
    assert connection.response is not None
    return connection.response.headers[UPSTREAM_HEADER].split(", ")[-1]


@dataclass
class Customer:
    """One customer with an accepted chat, over WebSocket (`ws`) or long polling (`poll`)."""

    name: str
    engagement_id: str
    dialog_id: str
    token: str
    ws: WsClient | None = None
    poll: PollClient | None = None
    earlier: list[Frame] = field(default_factory=list)  # events of closed WebSockets

    @property
    def events(self) -> list[Frame]:
        live = self.ws.events if self.ws else self.poll.events if self.poll else []
        return [*self.earlier, *live]

    def texts(self, sender: str) -> list[str]:
        return [
            e["text"] for e in self.events if e["type"] == "message" and e["from"]["type"] == sender
        ]

    async def has(self, what: str, predicate: Any) -> Frame:
        if self.ws is not None:
            return await self.ws.event(predicate, what)
        assert self.poll is not None
        return await self.poll.until(predicate, what)

    async def send(self, text: str) -> Frame:
        command = {"type": "send", "id": f"{self.name}-{text}".replace(" ", "-"), "text": text}
        if self.ws is not None:
            return await self.ws.command("send", id_=command["id"], text=text)
        assert self.poll is not None
        (answer,) = await self.poll.commands(command)
        return answer


def chat_of(started: Frame) -> tuple[str, str]:
    return started["engagementId"], started["dialogId"]


async def accepted_chat(
    url: str, agent: Agent, name: str, *, websocket: bool, opened: list[Agent | PollClient]
) -> Customer:
    who = {"displayName": name, "identifiers": {"emailAddresses": [f"{name}@example.com"]}}
    if websocket:
        ws = await WsClient(url).open()
        login, started = await ws.ok("login", customer=who), await ws.ok("start")
        customer = Customer(name, *chat_of(started), login["token"], ws=ws)
    else:
        poll = PollClient(url)
        opened.append(poll)
        login, started = await poll.ok("login", customer=who), await poll.ok("start")
        customer = Customer(name, *chat_of(started), login["token"], poll=poll)
    await agent.engagement(customer.dialog_id)
    await agent.act(customer.engagement_id, "accept", agentName="Grace")
    await customer.has("the agent joining", lambda e: e["type"] == "participant.joined")
    return customer


async def said_by_customer(agent: Agent, customer: Customer) -> list[str]:
    """The customer's messages in the agent's transcript, in order."""
    return [
        m["body"]["elementText"]["text"]
        for m in await agent.received(customer.engagement_id)
        if m["senderParticipantType"] == "CUSTOMER"
    ]


async def resume(customer: Customer, url: str) -> None:
    """Reconnect a customer whose WebSocket closed, through nginx, after its last seq."""
    assert customer.ws is not None
    await wait_for(lambda: customer.ws is not None and customer.ws.closed is not None, what="close")
    customer.earlier.extend(customer.ws.events)
    customer.ws = await WsClient(url).open()
    await customer.ws.ok("resume", token=customer.token, after=customer.earlier[-1]["seq"])


def assert_each_event_once(customer: Customer) -> None:
    seqs = [e["seq"] for e in customer.events]
    assert seqs == list(range(1, len(seqs) + 1)), f"{customer.name}: gapless, each once: {seqs}"


async def chatting_customers(
    cluster: Cluster, agent: Agent, opened: list[Agent | PollClient]
) -> list[Customer]:
    """Three customers on WebSockets and two on long polling, each with a message both ways."""
    customers = [
        await accepted_chat(cluster.url, agent, f"{kind}{n}", websocket=kind == "ws", opened=opened)
        for kind, n in (("ws", 0), ("poll", 0), ("ws", 1), ("poll", 1), ("ws", 2))
    ]
    for customer in customers:
        assert (await customer.send("hello"))["status"] == "accepted"
        await agent.say(customer.engagement_id, f"hi {customer.name}")
    for customer in customers:
        reply = f"hi {customer.name}"
        await customer.has("the reply", lambda e, reply=reply: e.get("text") == reply)
    return customers


async def assert_forwarded_by_nginx(cluster: Cluster) -> None:
    """The instance builds URLs with the client's host and port (`Host $http_host`), and
    /metrics is for the internal network only."""
    async with httpx.AsyncClient(base_url=cluster.url) as http:
        redirect = await http.get("/widget")  # Starlette: "add the slash", as an absolute URL
        assert redirect.headers["location"] == f"{cluster.url}/widget/"
        assert (await http.get("/metrics")).status_code == 403


async def accepted_before_the_crash(agent: Agent, customer: Customer) -> None:
    """AXP answers the customer's send 429 "retry in 20 s": the instance holding it waits,
    leased; it is killed meanwhile, so another instance must take the send over."""
    retry_later = {"operation": "sendDigitalMessage", "status": 429, "retryAfter": 20}
    await agent.faults(operations=[retry_later])
    assert (await customer.send("sent before the crash"))["status"] == "accepted"

    async def attempted() -> bool:
        return not (await agent.http.get("/faults")).json()["operations"]

    await eventually(attempted, what="the send to reach AXP and get its 429")


async def held_polls(cluster: Cluster, customers: list[Customer]) -> list[asyncio.Task[Any]]:
    """A held long poll for each long-polling customer, once the instances hold them all."""
    polls = [c.poll for c in customers if c.poll is not None]
    held = [asyncio.create_task(poll.poll(wait=25)) for poll in polls]

    async def holding() -> bool:
        async with httpx.AsyncClient() as http:
            pages = [(await http.get(f"http://{a}/metrics")).text for a in cluster.instances]
        return sum(map(_held_now, pages)) == len(polls)

    await eventually(holding, what="the instances to hold the polls")
    return held


def _held_now(metrics: str) -> float:
    found = re.search(r'^axp_chat_connections\{transport="longpoll"\} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


async def test_a_killed_instance_loses_and_doubles_nothing(
    redis_url: str, opened: list[Agent | PollClient]
) -> None:
    with cluster(redis_url) as running:
        agent = Agent(running.emulator)
        opened.append(agent)
        await assert_forwarded_by_nginx(running)
        customers = await chatting_customers(running, agent, opened)
        assert customers[0].ws is not None
        victim = instance_of(customers[0].ws)
        on_victim = [c for c in customers if c.ws is not None and instance_of(c.ws) == victim]
        await accepted_before_the_crash(agent, customers[0])
        held = await held_polls(running, customers)

        running.kill(victim)
        for customer in customers:
            await agent.say(customer.engagement_id, "while you were away")
        for customer in on_victim:
            await resume(customer, running.url)
        await asyncio.gather(*held)  # a poll held by the dead instance was retried by nginx
        for customer in customers:
            await customer.has("the message", lambda e: e.get("text") == "while you were away")
        await wait_for(
            lambda: "sent before the crash" in customers[0].texts("CUSTOMER"),
            timeout=OUTBOX_TAKEOVER,
            what="the send accepted by the dead instance, delivered by another",
        )
        for customer in customers:
            assert (await customer.send("after the crash"))["status"] == "accepted"
            await customer.has("the echo", lambda e: e.get("text") == "after the crash")

        for customer in customers:
            sent = ["hello", "after the crash"]
            if customer is customers[0]:
                sent.insert(1, "sent before the crash")
            assert customer.texts("CUSTOMER") == sent, customer.name
            assert await said_by_customer(agent, customer) == sent, customer.name
            assert customer.texts("AGENT") == [f"hi {customer.name}", "while you were away"]
            assert_each_event_once(customer)
        survivors = [c for c in customers if c.ws is not None and c not in on_victim]
        assert all(c.ws is not None and c.ws.closed is None for c in survivors)


async def test_a_killed_instances_timers_fire_on_another(
    redis_url: str, opened: list[Agent | PollClient]
) -> None:
    """The chat's idle timers are set while the customer is on one instance, which dies; the
    warning and the end come from another, once each."""
    settings = {"AXP_CHAT_CHAT_IDLE_TIMEOUT": "8", "AXP_CHAT_IDLE_WARNING": "4"}
    with cluster(redis_url, **settings) as running:
        agent = Agent(running.emulator)
        opened.append(agent)
        customer = await accepted_chat(running.url, agent, "idle", websocket=True, opened=opened)
        await agent.say(customer.engagement_id, "still there?")
        await customer.has("the message", lambda e: e.get("text") == "still there?")
        assert customer.ws is not None
        running.kill(instance_of(customer.ws))
        await resume(customer, running.url)

        def of_type(kind: str) -> list[Frame]:
            return [e for e in customer.events if e["type"] == kind]

        await wait_for(lambda: of_type("chat.ended"), timeout=TIMERS, what="the chat ending")
        (ended,) = of_type("chat.ended")
        assert (ended["by"], ended["reason"]) == ("system", "USER_INACTIVE")
        (idle,) = of_type("chat.idle")
        assert idle["seq"] < ended["seq"]
        assert_each_event_once(customer)

        async def terminated() -> bool:
            return bool((await agent.dialog(customer.dialog_id))["dialogStatus"] == "TERMINATED")

        assert await eventually(terminated, what="the dialog to end at AXP")
