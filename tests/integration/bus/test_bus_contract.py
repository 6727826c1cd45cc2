"""Bus contract: fan-out, unsubscribe, ephemeral events, order, isolation of sessions."""

from __future__ import annotations

import asyncio

from axp_chat_connector.bus import Bus, BusMessage, Ephemeral, NewEvents

from .conftest import Collector


async def test_publish_reaches_every_listener_of_the_session_only(bus: Bus) -> None:
    listeners = [Collector() for _ in range(100)]
    for listener in listeners:
        await bus.subscribe("s1", listener)
    other = Collector()
    await bus.subscribe("s2", other)

    await bus.publish("s1", 7)
    await bus.publish("s2", 1)
    for listener in listeners:
        await listener.wait_for(1)
    await other.wait_for(1)
    assert {tuple(listener.messages) for listener in listeners} == {(NewEvents("s1", 7),)}
    assert other.messages == [NewEvents("s2", 1)]


async def test_ephemeral_events_reach_the_listeners(bus: Bus) -> None:
    listener = Collector()
    await bus.subscribe("s1", listener)
    await bus.publish_ephemeral("s1", {"type": "typing", "from": {"type": "AGENT"}})
    await bus.publish("s1", 3)
    await listener.wait_for(2)
    assert listener.messages == [
        Ephemeral("s1", {"type": "typing", "from": {"type": "AGENT"}}),
        NewEvents("s1", 3),
    ]


async def test_notices_from_one_publisher_arrive_in_order(bus: Bus) -> None:
    listener = Collector()
    await bus.subscribe("s1", listener)
    for seq in range(1, 51):
        await bus.publish("s1", seq)
    await listener.wait_for(50)
    assert listener.seqs == list(range(1, 51))


async def test_closed_subscription_gets_nothing_more(bus: Bus) -> None:
    leaving, staying = Collector(), Collector()
    subscription = await bus.subscribe("s1", leaving)
    await bus.subscribe("s1", staying)
    await bus.publish("s1", 1)
    await leaving.wait_for(1)
    subscription.close()
    subscription.close()  # idempotent
    await bus.publish("s1", 2)
    await staying.wait_for(2)
    assert leaving.seqs == [1]
    assert staying.seqs == [1, 2]


async def test_resubscribing_after_the_last_listener_left_works(bus: Bus) -> None:
    for round_ in range(3):
        listener = Collector()
        subscription = await bus.subscribe("s1", listener)
        await bus.publish("s1", round_)
        await listener.wait_for(1)
        assert listener.seqs == [round_]
        subscription.close()


async def test_a_failing_listener_does_not_starve_the_others(bus: Bus) -> None:
    def broken(message: BusMessage) -> None:
        raise RuntimeError("listener bug")

    good = Collector()
    await bus.subscribe("s1", broken)
    await bus.subscribe("s1", good)
    await bus.publish("s1", 1)
    await bus.publish("s1", 2)
    await good.wait_for(2)
    assert good.seqs == [1, 2]


async def test_many_sessions_subscribe_at_once(bus: Bus) -> None:
    listeners = {f"s{i}": Collector() for i in range(2000)}
    subscriptions = await asyncio.gather(*(bus.subscribe(s, c) for s, c in listeners.items()))
    for i in range(0, 2000, 97):
        await bus.publish(f"s{i}", i)
    for i in range(0, 2000, 97):
        await listeners[f"s{i}"].wait_for(1)
        assert listeners[f"s{i}"].seqs == [i]
    for subscription in subscriptions:
        subscription.close()
    await bus.ping()
