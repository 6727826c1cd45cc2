"""Counting the store calls a path makes: a proxy in front of the `Store` that records the
name of each method awaited while a `counted()` block (or a wrapped handler) is running in
the same task (a ContextVar, so other tasks' calls — the outbox worker polling — do not count).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from axp_chat_connector.store.base import Store

T = TypeVar("T")

_CALLS: ContextVar[list[str] | None] = ContextVar("store_calls", default=None)


class CountingStore:
    """Forwards everything to `store`; awaited methods are recorded while counting."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._store, name)
        if not inspect.iscoroutinefunction(found):
            return found

        @functools.wraps(found)
        async def recorded(*args: Any, **kwargs: Any) -> Any:
            calls = _CALLS.get()
            if calls is not None:
                calls.append(name)
            return await found(*args, **kwargs)

        return recorded


def counting(store: Store) -> Store:
    return cast(Store, CountingStore(store))


@contextlib.contextmanager
def counted() -> Iterator[list[str]]:
    """The names of the store methods awaited in this block (by this task)."""
    calls: list[str] = []
    token = _CALLS.set(calls)
    try:
        yield calls
    finally:
        _CALLS.reset(token)


def recording(
    handler: Callable[[dict[str, Any], float], Awaitable[T]],
    into: list[tuple[str, list[str]]],
) -> Callable[[dict[str, Any], float], Awaitable[T]]:
    """`handler` (the webhook intake), recording (eventType, store calls) of each body."""

    async def handle(body: dict[str, Any], started: float) -> T:
        with counted() as calls:
            try:
                return await handler(body, started)
            finally:
                into.append((str(body.get("eventType")), calls))

    return handle
