"""The event loop the connector's process runs on: uvloop where it is installed (a dependency
on Linux and macOS), else asyncio's own.

uvloop's transports and selector are written in C: the loop's own work per socket read and
write costs less (BENCHMARKS.md measures it). Nothing in the connector depends on which loop
runs it; `AXP_CHAT_EVENT_LOOP=asyncio` picks asyncio's loop anyway (e.g. to compare).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

ENV = "AXP_CHAT_EVENT_LOOP"


def name() -> str:
    """ "uvloop" or "asyncio": the loop `run` will use."""
    if os.environ.get(ENV, "auto") == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on the loop `name()` says."""
    if name() == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
