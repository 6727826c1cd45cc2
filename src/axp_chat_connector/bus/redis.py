"""The Redis bus: Redis pub/sub between connector instances, local fan-out within one.

Each process holds ONE subscriber connection. A session's channel (`{prefix}bus:{session}`) is
subscribed when its first local listener arrives and unsubscribed when its last one leaves, so
an instance receives only the traffic of the sessions it serves (a pattern subscription would
make every instance receive every session's traffic). Changes are batched: one writer task
sends SUBSCRIBE/UNSUBSCRIBE for everything that changed since its last round, so 10,000
sessions subscribing at once cost a handful of commands; one reader task receives messages
and calls the session's listeners directly (no task per connection).

On a lost connection the bus reconnects with backoff and subscribes again to every session
that has listeners; notices published meanwhile are lost, which the pumps' timer covers.
A PING every `PING_EVERY` s detects a dead connection that TCP did not report.

On a Redis Cluster (`redis+cluster://`) the bus uses plain pub/sub: PUBLISH goes through the
cluster client to one node, which forwards it to every node over the cluster bus, and the
subscriber connection is to any one node (another one after a reconnect). Sharded pub/sub
(SSUBSCRIBE) would keep a notice on one shard, but needs one subscriber connection per shard,
following slot moves (redis-py 8's asyncio `ClusterPubSub`, a different design from this
bus's batched raw connection); docs/storage.md weighs the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError

from axp_chat_connector.bus.base import (
    Ephemeral,
    Listener,
    NewEvents,
    Subscription,
    notice_text,
)
from axp_chat_connector.bus.local import Listeners
from axp_chat_connector.errors import StoreUnavailable
from axp_chat_connector.store.redis_connect import (
    Client,
    boundary,
    close_client,
    make_client,
    split_url,
)

_log = structlog.get_logger(__name__)

PING_EVERY = 15.0
READ_TIMEOUT = 2 * PING_EVERY + 5
SUBSCRIBE_TIMEOUT = 5.0
_BATCH = 1000


class RedisBus:
    """`Bus` over Redis pub/sub. Open with `await RedisBus.open(url)`."""

    def __init__(self, client: Client, prefix: str) -> None:
        self._r = client
        self._channel_prefix = f"{prefix}bus:"
        self._listeners = Listeners(on_empty=self._on_empty)
        self._sent: set[str] = set()  # SUBSCRIBE sent on the current connection
        self._confirmed: set[str] = set()  # Redis confirmed
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._changed = asyncio.Event()
        self.connection_name = f"axp-bus-{uuid.uuid4().hex[:12]}"
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str) -> RedisBus:
        plain_url, prefix = split_url(url)
        bus = cls(make_client(plain_url), prefix)
        try:
            await bus.ping()
        except StoreUnavailable:
            await bus.close()
            raise
        bus._task = asyncio.get_running_loop().create_task(
            bus._run(), name=f"redis-bus {bus.connection_name}"
        )
        return bus

    def _boundary(self) -> contextlib.AbstractAsyncContextManager[None]:
        return boundary("Redis bus", self._r)

    # -- the Bus protocol ------------------------------------------------------------------
    async def publish(
        self, session_id: str, seq: int, events: tuple[dict[str, Any], ...] = ()
    ) -> None:
        async with self._boundary():
            await self._r.publish(self.channel(session_id), notice_text(seq, events))

    async def publish_ephemeral(self, session_id: str, event: dict[str, Any]) -> None:
        data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        async with self._boundary():
            await self._r.publish(self.channel(session_id), data)

    def channel(self, session_id: str) -> str:
        """The pub/sub channel of a session's notices."""
        return self._channel_prefix + session_id

    def same_server(self, client: Client) -> bool:
        """Whether `client` talks to this bus's server, a single server (not a cluster): a
        Redis store there can publish this bus's notices with its writes."""
        if isinstance(self._r, RedisCluster) or isinstance(client, RedisCluster):
            return False
        return _address(self._r) == _address(client)

    async def subscribe(self, session_id: str, listener: Listener) -> Subscription:
        subscription, _ = self._listeners.add(session_id, listener)
        if session_id in self._sent and session_id in self._confirmed:
            return subscription
        self._changed.set()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(session_id, []).append(waiter)
        try:
            await asyncio.wait_for(waiter, SUBSCRIBE_TIMEOUT)
        except TimeoutError:
            _log.warning("bus.subscribe_unconfirmed", session_id=session_id)
        finally:
            waiters = self._waiters.get(session_id, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._waiters.pop(session_id, None)
        return subscription

    async def ping(self) -> None:
        async with self._boundary():
            await self._r.ping()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await close_client(self._r)

    # -- the subscriber connection ---------------------------------------------------------
    def _on_empty(self, session_id: str) -> None:
        self._changed.set()

    def _connection(self) -> AbstractConnection:
        if isinstance(self._r, aioredis.Redis):
            pool = self._r.connection_pool
            connection_class, base = pool.connection_class, pool.connection_kwargs
        else:  # a cluster: any node hears every PUBLISH
            node = self._r.get_random_node()
            connection_class = node.connection_class
            base = {**node.connection_kwargs, "host": node.host, "port": node.port}
        kwargs = {
            **{
                key: value
                for key, value in base.items()
                if not key.startswith(("maint_notifications", "orig_"))  # RESP3-only feature
            },
            "socket_timeout": None,
            "health_check_interval": 0,
            "client_name": self.connection_name,
            "protocol": 2,  # pub/sub messages as plain replies (RESP3 would push them)
        }
        connection: AbstractConnection = connection_class(**kwargs)
        return connection

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            connection: AbstractConnection | None = None
            try:
                connection = self._connection()
                await connection.connect()  # type: ignore[no-untyped-call]  # untyped in redis-py
                backoff = 0.05
                self._sent.clear()
                self._confirmed.clear()
                self._changed.set()
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._read(connection))
                    group.create_task(self._write(connection))
            except* (RedisError, OSError) as errors:
                _log.warning("bus.disconnected", error=repr(errors.exceptions[0]))
            except* Exception:  # keep the bus alive whatever broke; reconnect
                _log.exception("bus.failed")
            finally:
                if connection is not None:
                    await connection.disconnect()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _write(self, connection: AbstractConnection) -> None:
        while True:
            try:
                await asyncio.wait_for(self._changed.wait(), PING_EVERY)
            except TimeoutError:
                await connection.send_command("PING", check_health=False)
                continue
            self._changed.clear()
            wanted = set(self._listeners.sessions())
            add = sorted(wanted - self._sent)
            drop = sorted(self._sent - wanted)
            for i in range(0, len(add), _BATCH):
                channels = [self._channel_prefix + s for s in add[i : i + _BATCH]]
                await connection.send_command("SUBSCRIBE", *channels, check_health=False)
            self._sent.update(add)
            for i in range(0, len(drop), _BATCH):
                channels = [self._channel_prefix + s for s in drop[i : i + _BATCH]]
                await connection.send_command("UNSUBSCRIBE", *channels, check_health=False)
            self._sent.difference_update(drop)

    async def _read(self, connection: AbstractConnection) -> None:
        skip = len(self._channel_prefix)
        while True:
            response = await connection.read_response(timeout=READ_TIMEOUT)
            if response is None:
                raise RedisError(f"no answer from Redis for {READ_TIMEOUT} s")
            if not isinstance(response, list) or len(response) < 3:
                continue  # the answer to our PING
            kind, channel, data = response[0], response[1], response[2]
            session_id = str(channel)[skip:]
            if kind == "message":
                self._deliver(session_id, str(data))
            elif kind == "subscribe":
                self._confirmed.add(session_id)
                for waiter in self._waiters.get(session_id, []):
                    if not waiter.done():
                        waiter.set_result(None)
            elif kind == "unsubscribe":
                self._confirmed.discard(session_id)

    def _deliver(self, session_id: str, data: str) -> None:
        try:
            if data.startswith("{"):
                self._listeners.deliver(Ephemeral(session_id, json.loads(data)))
            elif data.startswith("["):
                seq, events = json.loads(data)
                self._listeners.deliver(NewEvents(session_id, int(seq), tuple(events)))
            else:
                self._listeners.deliver(NewEvents(session_id, int(data)))
        except (ValueError, TypeError):
            _log.warning("bus.bad_message", session_id=session_id)


def _address(client: aioredis.Redis) -> tuple[Any, ...]:
    """Where `client` connects: host, port, or a Unix socket path."""
    kwargs = client.connection_pool.connection_kwargs
    return kwargs.get("host"), kwargs.get("port"), kwargs.get("path")
