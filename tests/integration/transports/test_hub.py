"""The hub on the real local bus: one subscription per session, wakes, ephemeral fan-out."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from axp_chat_connector.bus.base import Bus, Listener, Subscription
from axp_chat_connector.bus.local import LocalBus
from axp_chat_connector.errors import StoreUnavailable
from axp_chat_connector.transports.hub import Hub
from axp_chat_connector.transports.limits import TransportLimits
from tests.integration.transports.conftest import eventually
from tests.integration.transports.fakes import FakeService


class Member:
    def __init__(self, cursor: int = 0) -> None:
        self.cursor = cursor
        self.woken: list[int] = []
        self.texts: list[str] = []

    def wake(self, seq: int, events: tuple[dict[str, Any], ...] = ()) -> None:
        self.woken.append(seq)

    def ephemeral(self, event: dict[str, Any], text: str) -> None:
        self.texts.append(text)


class GatedBus:
    """A local bus whose `subscribe` waits for a gate (or fails), like a slow Redis."""

    def __init__(self) -> None:
        self.inner = LocalBus()
        self.gate = asyncio.Event()
        self.fail = False
        self.subscribes = 0

    async def publish(
        self, session_id: str, seq: int, events: tuple[dict[str, Any], ...] = ()
    ) -> None:
        await self.inner.publish(session_id, seq)

    async def publish_ephemeral(self, session_id: str, event: dict[str, Any]) -> None:
        await self.inner.publish_ephemeral(session_id, event)

    async def subscribe(self, session_id: str, listener: Listener) -> Subscription:
        self.subscribes += 1
        await self.gate.wait()
        if self.fail:
            raise StoreUnavailable("bus down")
        return await self.inner.subscribe(session_id, listener)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


def make_hub(bus: Bus) -> Hub:
    return Hub(bus, FakeService(bus), TransportLimits(recheck_seconds=0, subscription_linger=0))


async def test_one_subscription_per_session_closed_with_the_last_member() -> None:
    bus = LocalBus()
    hub = make_hub(bus)
    a, b = Member(), Member()
    await hub.attach("s", a)
    await hub.attach("s", b)
    await bus.publish("s", 3)
    assert (a.woken, b.woken) == ([3], [3])
    hub.detach("s", a)
    await bus.publish("s", 4)
    assert (a.woken, b.woken) == ([3], [3, 4])
    hub.detach("s", b)
    assert len(hub) == 0
    assert not bus._listeners.has("s")
    hub.detach("s", b)  # twice: nothing happens


async def test_the_subscription_lingers_after_the_last_member_and_is_reused() -> None:
    bus = GatedBus()
    bus.gate.set()
    hub = Hub(bus, FakeService(bus), TransportLimits(recheck_seconds=0, subscription_linger=0.2))
    first, second = Member(), Member()
    await hub.attach("s", first)
    hub.detach("s", first)
    assert len(hub) == 0  # no member, but the subscription stays for the next one
    await hub.attach("s", second)
    assert bus.subscribes == 1
    await bus.publish("s", 5)
    assert second.woken == [5]
    hub.detach("s", second)
    await eventually(lambda: not bus.inner._listeners.has("s"))  # closed after the linger
    assert bus.subscribes == 1


async def test_ephemeral_events_are_encoded_once_for_the_members_attached_now() -> None:
    bus = LocalBus()
    hub = make_hub(bus)
    a, b, late = Member(), Member(), Member()
    await hub.attach("s", a)
    await hub.attach("s", b)
    await bus.publish_ephemeral("s", {"type": "typing"})
    await hub.attach("s", late)
    assert a.texts == b.texts == ['{"type":"typing"}']
    assert a.texts[0] is b.texts[0]
    assert late.texts == []


async def test_a_member_joining_while_the_subscription_is_pending_waits_for_it() -> None:
    bus = GatedBus()
    hub = make_hub(bus)
    a, b = Member(), Member()
    first = asyncio.create_task(hub.attach("s", a))
    second = asyncio.create_task(hub.attach("s", b))
    await eventually(lambda: len(hub.members("s")) == 2 and bus.subscribes == 1)
    assert not first.done()
    assert not second.done()
    bus.gate.set()
    await asyncio.gather(first, second)
    assert bus.subscribes == 1
    await bus.publish("s", 1)
    assert (a.woken, b.woken) == ([1], [1])


async def test_a_failed_subscription_fails_every_waiting_member_and_leaves_nothing() -> None:
    bus = GatedBus()
    bus.fail = True
    hub = make_hub(bus)
    first = asyncio.create_task(hub.attach("s", Member()))
    second = asyncio.create_task(hub.attach("s", Member()))
    await eventually(lambda: len(hub.members("s")) == 2)
    bus.gate.set()
    for task in (first, second):
        with pytest.raises(StoreUnavailable):
            await task
    assert len(hub) == 0


async def test_a_member_leaving_before_the_subscription_lands_leaves_no_subscription() -> None:
    bus = GatedBus()
    hub = make_hub(bus)
    member = Member()
    attach = asyncio.create_task(hub.attach("s", member))
    await eventually(lambda: bus.subscribes == 1)
    hub.detach("s", member)
    bus.gate.set()
    await attach
    assert len(hub) == 0
    assert not bus.inner._listeners.has("s")


async def test_recheck_wakes_only_members_behind_the_last_seq() -> None:
    bus = LocalBus()
    service = FakeService(bus)
    hub = Hub(bus, service, TransportLimits(recheck_seconds=0))
    session = service.new_session()
    for _ in range(3):
        await service.append(session)
    behind, current = Member(cursor=1), Member(cursor=3)
    await hub.attach(session, behind)
    await hub.attach(session, current)
    assert await hub.recheck() == 1
    assert (behind.woken, current.woken) == ([3], [])
