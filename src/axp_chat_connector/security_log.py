"""The security log: refusals that may be an attack, with the source address, throttled.

Each `report(kind, source)` counts `axp_chat_security_events_total{kind=…}`, and writes one
WARNING line `security.<kind>` with `source` at most once per (kind, source) per `interval`
seconds; the next line for that pair says how many were left out (`suppressed`). The table of
pairs is bounded (`max_sources`, oldest dropped first: a flood from many addresses costs a
bounded amount of memory and at most one line per address per interval).

Kinds (`Kind`): `bad_callback_secret` (a callback URL with a wrong secret), `bad_token` (a
session token that is forged, expired or not a bearer token), `origin_refused` (an `Origin`
outside the allow-list), `rate_limited` (commands or logins over their rate, connections per
address over the limit), `flood` (a WebSocket closed 4429 after refusals in a row).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from enum import Enum
from typing import Final

import structlog
from prometheus_client import Counter

_log = structlog.get_logger(__name__)

INTERVAL: Final = 60.0
SOURCES_MAX: Final = 10_000


class Kind(Enum):  # names of refusals, not secrets
    BAD_CALLBACK_SECRET = "bad_callback_secret"  # noqa: S105
    BAD_TOKEN = "bad_token"  # noqa: S105
    ORIGIN_REFUSED = "origin_refused"
    RATE_LIMITED = "rate_limited"
    FLOOD = "flood"


class SecurityLog:
    def __init__(
        self,
        events: Counter,
        *,
        interval: float = INTERVAL,
        max_sources: int = SOURCES_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.max_sources = max_sources
        self.clock = clock
        self.events = events
        """`axp_chat_security_events_total{kind}` (`Metrics.security_events`)."""
        self._last: OrderedDict[tuple[Kind, str], tuple[float, int]] = OrderedDict()
        """(kind, source) → (when its last line was written, events left out since)."""

    def report(self, kind: Kind, source: str) -> None:
        self.events.labels(kind=kind.value).inc()
        now = self.clock()
        key = (kind, source)
        last = self._last.get(key)
        if last is not None and now - last[0] < self.interval:
            self._last[key] = (last[0], last[1] + 1)
            return
        self._last[key] = (now, 0)
        self._last.move_to_end(key)
        if len(self._last) > self.max_sources:
            self._last.popitem(last=False)
        _log.warning(f"security.{kind.value}", source=source, suppressed=last[1] if last else 0)
