"""Keys with a lifetime: dedupe, command idempotency, routes, locks."""

from __future__ import annotations

import asyncio

from axp_chat_connector.store import ClaimResult, ClaimState, Store

from .conftest import StoreBackend

NOW = 1_800_000_000.0


async def test_a_dedupe_key_is_forgotten_after_its_ttl(backend: StoreBackend) -> None:
    store = await backend.open()
    ttl = backend.ttl(60)
    assert await store.append_events("s1", [{}], now=NOW, dedupe_key="k", dedupe_ttl=ttl) == [1]

    async def appended_again() -> bool:
        return bool(await store.append_events("s1", [{}], now=NOW, dedupe_key="k"))

    await backend.after_ttl(ttl, appended_again)
    assert await store.append_events("s1", [{}], now=NOW, dedupe_key="k") == []


async def test_claim_command_new_pending_done(store: Store) -> None:
    assert await store.claim_command("s1", "c1", ttl=60) == ClaimResult(ClaimState.NEW)
    assert await store.claim_command("s1", "c1", ttl=60) == ClaimResult(ClaimState.PENDING)
    assert await store.claim_command("s2", "c1", ttl=60) == ClaimResult(ClaimState.NEW)
    await store.complete_command("s1", "c1", {"type": "ok", "re": "c1", "seq": 3}, ttl=600)
    assert await store.claim_command("s1", "c1", ttl=60) == ClaimResult(
        ClaimState.DONE, {"type": "ok", "re": "c1", "seq": 3}
    )
    await store.release_command("s1", "c1")  # a done command is not released
    assert (await store.claim_command("s1", "c1", ttl=60)).state is ClaimState.DONE


async def test_released_command_can_be_claimed_again(store: Store) -> None:
    assert (await store.claim_command("s1", "c1", ttl=60)).state is ClaimState.NEW
    await store.release_command("s1", "c1")
    assert (await store.claim_command("s1", "c1", ttl=60)).state is ClaimState.NEW


async def test_concurrent_claims_give_one_new(backend: StoreBackend) -> None:
    first, second = await backend.open(), await backend.open()
    results = await asyncio.gather(
        *((first if i % 2 else second).claim_command("s1", "c1", ttl=60) for i in range(30))
    )
    states = [r.state for r in results]
    assert states.count(ClaimState.NEW) == 1
    assert states.count(ClaimState.PENDING) == 29


async def test_abandoned_claim_lapses_after_its_ttl(backend: StoreBackend) -> None:
    store = await backend.open()
    ttl = backend.ttl(30)
    assert (await store.claim_command("s1", "c1", ttl=ttl)).state is ClaimState.NEW

    async def new_again() -> bool:
        return (await store.claim_command("s1", "c1", ttl=60)).state is ClaimState.NEW

    await backend.after_ttl(ttl, new_again)


async def test_routes_put_get_replace(store: Store) -> None:
    assert await store.get_route("dialog", "d1") is None
    await store.put_route("dialog", "d1", "s1")
    await store.put_route("provider_dialog", "d1", "s2")
    assert await store.get_route("dialog", "d1") == "s1"
    assert await store.get_route("provider_dialog", "d1") == "s2"
    await store.put_route("dialog", "d1", "s3")
    assert await store.get_route("dialog", "d1") == "s3"


async def test_route_with_ttl_expires(backend: StoreBackend) -> None:
    store = await backend.open()
    ttl = backend.ttl(300)
    await store.put_route("correlation", "c1", "s1", ttl=ttl)

    async def gone() -> bool:
        return await store.get_route("correlation", "c1") is None

    await backend.after_ttl(ttl, gone)


async def test_lock_is_exclusive_extendable_and_released_by_its_owner(
    backend: StoreBackend,
) -> None:
    first, second = await backend.open(), await backend.open()
    results = await asyncio.gather(
        *((first if i % 2 else second).try_lock("provision", f"o{i}", ttl=60) for i in range(10))
    )
    assert results.count(True) == 1
    owner = f"o{results.index(True)}"
    other = "o-other"
    assert await first.try_lock("provision", owner, ttl=60) is True  # extend
    assert await second.try_lock("provision", other, ttl=60) is False
    await second.unlock("provision", other)  # not the owner: no effect
    assert await second.try_lock("provision", other, ttl=60) is False
    await first.unlock("provision", owner)
    assert await second.try_lock("provision", other, ttl=60) is True


async def test_lock_lapses_after_its_ttl(backend: StoreBackend) -> None:
    store = await backend.open()
    ttl = backend.ttl(30)
    assert await store.try_lock("l", "a", ttl=ttl) is True

    async def free() -> bool:
        return await store.try_lock("l", "b", ttl=60)

    await backend.after_ttl(ttl, free)
