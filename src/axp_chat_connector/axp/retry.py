"""Retry decisions for AXP calls, without I/O: what a failure means, whether to try again, when.

A failed attempt is one of three kinds:

* `NOT_SENT`: AXP surely did not act (no connection was made; 429 throttled; 401 refused).
* `UNKNOWN`: AXP may or may not have acted (read/write timeout, a dropped connection, 5xx).
* `FINAL`: AXP gave its answer (any other 4xx); trying again cannot help.

`decide()` combines the kind with the operation's `Replay` row (see `operations.py`).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from axp_chat_connector.axp.operations import Operation, Replay


class Failure(enum.Enum):
    NOT_SENT = "not_sent"
    UNKNOWN = "unknown"
    FINAL = "final"


class Decision(enum.Enum):
    RETRY = "retry"
    GIVE_UP = "give_up"  # raise AxpUnavailable (or AxpRejected for FINAL)
    OUTCOME_UNKNOWN = "outcome_unknown"  # raise AxpOutcomeUnknown


# Exceptions raised before any byte of the request left this process.
_NOT_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


def classify_status(status: int) -> Failure | None:
    """None for success (2xx); otherwise the kind of failure an HTTP status means."""
    if 200 <= status < 300:
        return None
    if status in (401, 429):
        return Failure.NOT_SENT
    if status >= 500:
        return Failure.UNKNOWN
    return Failure.FINAL


def classify_error(exc: Exception) -> Failure:
    """The kind of failure a transport error (or our own attempt timeout) means."""
    return Failure.NOT_SENT if isinstance(exc, _NOT_SENT_ERRORS) else Failure.UNKNOWN


def decide(op: Operation, failure: Failure) -> Decision:
    if failure is Failure.FINAL:
        return Decision.GIVE_UP
    if op.replay is Replay.ALWAYS or failure is Failure.NOT_SENT:
        return Decision.RETRY
    return Decision.OUTCOME_UNKNOWN


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with equal jitter: attempt n waits in [d/2, d], d = base * 2**(n-1)."""

    base: float
    maximum: float
    rng: Callable[[], float] = random.random

    def delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failed attempt (1-based)."""
        ceiling: float = min(self.maximum, self.base * 2 ** max(0, failures - 1))
        jitter: float = self.rng()
        return ceiling / 2 + jitter * ceiling / 2


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date); None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
