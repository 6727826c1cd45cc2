"""Notifications between connector instances: the `Bus` protocol and its backends.

`open_bus(url)`: `local://` (or a `sqlite://` store URL: the embedded default has one process)
gives the in-process bus; `redis://host:port/db?prefix=axp:` gives Redis pub/sub;
`redis+cluster://host:port?prefix=axp:` the same on a Redis Cluster.
"""

from __future__ import annotations

from axp_chat_connector.bus.base import (
    Bus,
    BusMessage,
    Ephemeral,
    Listener,
    NewEvents,
    Subscription,
)

__all__ = [
    "Bus",
    "BusMessage",
    "Ephemeral",
    "Listener",
    "NewEvents",
    "Subscription",
    "open_bus",
]


async def open_bus(url: str) -> Bus:
    """Open the bus for `url`; raises `StoreUnavailable` if Redis does not answer."""
    if url.startswith(("local:", "sqlite:")):
        from axp_chat_connector.bus.local import LocalBus

        return LocalBus()
    if url.startswith(
        ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")
    ):
        from axp_chat_connector.bus.redis import RedisBus

        return await RedisBus.open(url)
    scheme = url.split(":", 1)[0]
    raise ValueError(f"unknown bus URL scheme {scheme!r}: expected local:// or redis://")
