"""On a single Redis server the store publishes a write's bus notice in the write's own script:
the bus's subscribers hear the events as logged, once, and the write stays one round trip.
Elsewhere (SQLite, a cluster, another server) the caller rings the bus, as before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from axp_chat_connector.bus import open_bus
from axp_chat_connector.bus.base import CARRY_MAX_BYTES, BusMessage, NewEvents
from axp_chat_connector.bus.redis import RedisBus
from axp_chat_connector.composition_sessions import _write_notices
from axp_chat_connector.protocol.ids import SessionId
from axp_chat_connector.sessions.lifecycle import SessionState
from axp_chat_connector.sessions.record import SessionRecord, to_doc
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.store import open_store
from axp_chat_connector.store.redis import RedisStore

from .test_redis_round_trips import Counted

pytestmark = pytest.mark.redis

NOW = 1_800_000_000.0
RECORD = SessionRecord(
    session_id=SessionId("s-1"),
    state=SessionState.ACTIVE,
    display_name="Ada",
    identifiers={},
    parameters={},
    axp_session_id=None,
)


@pytest.fixture
async def store_and_bus(
    redis_url: str, redis_prefix: str
) -> AsyncIterator[tuple[RedisStore, RedisBus]]:
    store = await open_store(f"{redis_url}?prefix={redis_prefix}")
    bus = await open_bus(f"{redis_url}?prefix={redis_prefix}")
    assert isinstance(store, RedisStore)
    assert isinstance(bus, RedisBus)
    try:
        yield store, bus
    finally:
        await bus.close()
        await store.close()


class Heard:
    def __init__(self) -> None:
        self.messages: list[BusMessage] = []
        self.changed = asyncio.Event()

    def __call__(self, message: BusMessage) -> None:
        self.messages.append(message)
        self.changed.set()

    async def at_least(self, count: int) -> list[BusMessage]:
        async with asyncio.timeout(5):
            while len(self.messages) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.messages


async def _write(
    store: RedisStore, version: int, events: list[dict[str, Any]], notice: str, key: str = ""
) -> Any:
    return await store.update_session_and_append(
        "s1",
        {"v": version + 1},
        expected_version=version,
        events=events,
        now=NOW,
        dedupe_key=key or f"k{version}",
        notice=notice,
    )


async def test_the_write_script_announces_its_events_once(
    store_and_bus: tuple[RedisStore, RedisBus],
) -> None:
    store, bus = store_and_bus
    heard = Heard()
    await bus.subscribe("s1", heard)
    await store.create_session("s1", {"v": 1}, now=NOW)
    await _write(store, 1, [{"type": "warmup"}], bus.channel("s1"))  # the script is loaded
    counted = Counted(store)

    text = "héllo ✓"
    assert await _write(store, 2, [{"type": "m", "text": text}, {"type": "t"}], bus.channel("s1"))
    assert counted.sent == ["EVALSHA"]  # the notice cost no round trip of its own
    big = "é" * (CARRY_MAX_BYTES // 2)  # short in characters, too long in UTF-8 bytes
    assert await _write(store, 3, [{"type": "m", "text": big}], bus.channel("s1"))
    assert (
        await _write(store, 4, [{"type": "m"}], bus.channel("s1"), key="k3") is None
    )  # a duplicate

    messages = await heard.at_least(3)
    carried = [{"seq": 2, "type": "m", "text": text}, {"seq": 3, "type": "t"}]
    assert messages[:3] == [
        NewEvents("s1", 1, ({"seq": 1, "type": "warmup"},)),
        NewEvents("s1", 3, tuple(carried)),
        NewEvents("s1", 4),  # the seq alone: the pumps read the log
    ]
    await _write(store, 4, [{"type": "x"}], "elsewhere")  # announced on that channel only
    await _write(store, 5, [{"type": "last"}], bus.channel("s1"))
    messages = await heard.at_least(4)
    assert messages[3:] == [NewEvents("s1", 6, ({"seq": 6, "type": "last"},))]


async def test_records_let_the_store_ring_the_bus_where_it_can(
    store_and_bus: tuple[RedisStore, RedisBus],
) -> None:
    store, bus = store_and_bus
    channels = _write_notices(store, bus)
    assert channels is not None
    assert channels("s-1") == bus.channel("s-1")
    published: list[int] = []
    publish = bus.publish

    async def counted(session_id: str, seq: int, events: Any = ()) -> None:
        published.append(seq)
        await publish(session_id, seq, events)

    bus.publish = counted  # type: ignore[method-assign]
    heard = Heard()
    await bus.subscribe("s-1", heard)
    await store.create_session("s-1", to_doc(RECORD), now=NOW)
    for notices, version in ((None, 1), (channels, 2)):
        records = SessionRecords(store=store, bus=bus, clock=lambda: NOW, notices=notices)
        assert await records.write(RECORD, version, [{"type": "m", "n": version}]) == [version]

    messages = await heard.at_least(2)
    assert published == [1]  # the second write's notice went with the write
    assert messages == [
        NewEvents("s-1", 1, ({"seq": 1, "type": "m", "n": 1},)),
        NewEvents("s-1", 2, ({"seq": 2, "type": "m", "n": 2},)),
    ]


async def test_elsewhere_the_caller_rings_the_bus(
    store_and_bus: tuple[RedisStore, RedisBus], tmp_path: Path
) -> None:
    store, _ = store_and_bus
    sqlite = await open_store(f"sqlite:///{tmp_path}/s.db")
    local = await open_bus("local://")
    try:
        assert _write_notices(sqlite, local) is None
        assert _write_notices(store, local) is None
        with pytest.raises(ValueError, match="SQLite"):
            await sqlite.update_session_and_append(
                "s1", {}, expected_version=1, events=[], now=NOW, notice="c"
            )
    finally:
        await local.close()
        await sqlite.close()
