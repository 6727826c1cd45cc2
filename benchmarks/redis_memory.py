"""Redis memory per active chat and per kept event: the numbers behind docs/operations.md's
capacity sizing.

    .venv/bin/python benchmarks/redis_memory.py [--chats 200] [--events 50] [--redis URL]

Writes `chats` sessions through the store, each as an open chat keeps it (the session document
of an open chat, its dialog and correlation routes, its activity mark, its token-renewal and
chat-idle timers, the chat's first events), then appends `events` agent messages of a typical
length to each. Memory is Redis's own account (`MEMORY USAGE`) of every key under a random
prefix, so other users of the same Redis do not disturb the measurement. Prints bytes per
chat (without its messages) and bytes per kept event.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis

from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.ids import (
    AxpSessionId,
    DialogId,
    EngagementId,
    ProviderDialogId,
    SessionId,
)
from axp_chat_connector.sessions import timers
from axp_chat_connector.sessions.lifecycle import ChatState, SessionState
from axp_chat_connector.sessions.record import SessionRecord, to_doc
from axp_chat_connector.store import Retention, Store, open_store

AGENT = events.participant("agent-7f3c2a", "AGENT", "Ann Example")
TEXT = "Thanks for waiting. I can see your order; it left our warehouse this morning."


def _record(session_id: str) -> SessionRecord:
    return SessionRecord(
        session_id=SessionId(session_id),
        state=SessionState.ACTIVE,
        display_name="Jane Customer",
        identifiers={"emailAddresses": ["jane.customer@example.com"]},
        parameters={},
        axp_session_id=AxpSessionId(str(uuid.uuid4())),
        customer_participant_id=str(uuid.uuid4()),
        chat=ChatState.OPEN,
        engagement_id=EngagementId(str(uuid.uuid4())),
        dialog_id=DialogId(str(uuid.uuid4())),
        provider_dialog_id=ProviderDialogId(str(uuid.uuid4())),
        chat_correlation_ids=(str(uuid.uuid4()),),
        participants=frozenset({AGENT["id"]}),
    )


async def _open_chat(store: Store, session_id: str, now: float) -> None:
    record = _record(session_id)
    await store.create_session(session_id, to_doc(record), now=now)
    assert record.provider_dialog_id is not None
    assert record.dialog_id is not None
    await store.put_route("providerDialog", record.provider_dialog_id, session_id)
    await store.put_route("dialog", record.dialog_id, session_id)
    await store.put_route("correlation", record.chat_correlation_ids[0], session_id)
    await store.touch_session(session_id, now=now)
    await store.set_deadline(session_id, timers.TOKEN_RENEW, now + 80_000)
    await store.set_deadline(session_id, timers.CHAT_IDLE_WARNING, now + 600)
    at = datetime.now(UTC)
    started = events.chat_started(
        at, engagement_id=str(record.engagement_id), dialog_id=str(record.dialog_id)
    )
    await store.append_events(
        session_id, [started, events.participant_joined(at, AGENT)], now=now, dedupe_key=None
    )


async def _agent_messages(store: Store, session_id: str, count: int, now: float) -> None:
    at = datetime.now(UTC)
    for index in range(count):
        message = events.message(
            at,
            sender=AGENT,
            element_type="TEXT",
            text=TEXT,
            message_id=str(uuid.uuid4()),
            index=index + 2,
        )
        await store.append_events(session_id, [message], now=now, dedupe_key=str(uuid.uuid4()))


async def _bytes_under(client: aioredis.Redis, prefix: str) -> int:
    total = 0
    async for key in client.scan_iter(match=f"{prefix}*", count=1000):
        total += await client.memory_usage(key) or 0
    return total


async def _delete_under(client: aioredis.Redis, prefix: str) -> None:
    async for key in client.scan_iter(match=f"{prefix}*", count=1000):
        await client.delete(key)


async def main(chats: int, per_chat: int, url: str) -> None:
    prefix = f"bench-mem-{uuid.uuid4().hex[:8]}:"
    client = aioredis.Redis.from_url(url)
    store = await open_store(f"{url}?prefix={prefix}", retention=Retention(count=10_000))
    now = time.time()
    try:
        ids = [str(uuid.uuid4()) for _ in range(chats)]
        for session_id in ids:
            await _open_chat(store, session_id, now)
        chats_bytes = await _bytes_under(client, prefix)
        for session_id in ids:
            await _agent_messages(store, session_id, per_chat, now)
        all_bytes = await _bytes_under(client, prefix)
    finally:
        await _delete_under(client, prefix)
        await store.close()
        await client.aclose()
    per_event = (all_bytes - chats_bytes) / (chats * per_chat)
    print(f"{chats} open chats, {per_chat} agent messages each ({len(TEXT)} characters)")
    print(
        f"bytes per open chat (session, routes, timers, first 2 events): {chats_bytes / chats:,.0f}"
    )
    print(f"bytes per kept event (message + its dedupe key): {per_event:,.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    asyncio.run(main(args.chats, args.events, args.redis))
