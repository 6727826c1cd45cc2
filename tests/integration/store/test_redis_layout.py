"""The Redis key layout on a real Redis Cluster: a session's keys share its slot, the
cross-session indexes share one slot, and sessions spread over the shards."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from axp_chat_connector.store import open_store

pytestmark = pytest.mark.redis

NOW = 1_800_000_000.0


async def test_keys_are_hash_tagged_per_session_and_per_index(redis_cluster_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex[:16]}:"
    store = await open_store(f"{redis_cluster_url}?prefix={prefix}")
    sessions = [f"s-{i}" for i in range(12)]
    try:
        for sid in sessions:
            await store.create_session(sid, {"n": 1}, now=NOW)
            await store.append_events(sid, [{"t": 1}], now=NOW, dedupe_key=f"k-{sid}")
            await store.claim_command(sid, "c1", ttl=60)
            await store.set_deadline(sid, "purge", NOW + 60)
            await store.outbox_add(sid, f"i-{sid}", f"d-{sid}", {}, now=NOW)
        await store.park_event([("dialog", "unknown")], {"e": 1}, ttl=60, now=NOW)
    finally:
        await store.close()

    admin = RedisCluster.from_url(redis_cluster_url.replace("redis+cluster", "redis"))
    await admin.initialize()
    try:
        keys = [
            key.decode()
            for node in admin.get_primaries()
            async for key in admin.scan_iter(match=f"{prefix}*", target_nodes=node)
        ]
        owners = {await _owner(admin, sid) for sid in sessions}
    finally:
        await admin.aclose()

    index_slot = key_slot(f"{prefix}i".encode())
    for key in keys:
        tag = key[key.index("{") + 1 : key.index("}")]
        expected = key_slot(tag.encode())
        assert key_slot(key.encode()) == expected, key
        assert tag in sessions or expected == index_slot, key
    per_session = {k for k in keys if any(f"{{{sid}}}" in k for sid in sessions)}
    assert len(per_session) == len(sessions) * 7  # s, seq, ev, cmd:c1, cmds, dls, d:k-…
    assert len(owners) > 1, "12 sessions all on one shard"


async def _owner(admin: RedisCluster, sid: str) -> str:
    node = admin.get_node_from_key(sid)
    assert node is not None
    return str(node.name)
