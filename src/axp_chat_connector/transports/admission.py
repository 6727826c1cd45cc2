"""Who may log in and connect, per client address and in total, without I/O.

`LoginGate`: `login` commands per client address per minute and per instance per minute (each
guest login creates an AXP session). Token buckets (`pacing.Pace`) refilled over a minute: a
refusal spends nothing, and an address is charged only when the instance-wide bucket admits
the login too. The per-address table is bounded (`max_addresses`, least recently used dropped
first) and forgets an address whose bucket has refilled. Time is passed in (`now`).

`Holds` counts what is held open now per key (a session's long polls and SSE streams, an
address's WebSockets, streams and held polls) within a limit.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from axp_chat_connector.errors import RateLimited
from axp_chat_connector.transports.pacing import Pace

MINUTE: Final = 60.0
ADDRESSES_MAX: Final = 100_000
"""Client addresses whose logins are remembered at once."""


class LoginGate:
    __slots__ = ("_addresses", "_total", "max_addresses", "per_address")

    def __init__(
        self, per_address: int, total: int, now: float, max_addresses: int = ADDRESSES_MAX
    ) -> None:
        if max_addresses < 1:
            raise ValueError("max_addresses must be positive")
        self.per_address = per_address
        self.max_addresses = max_addresses
        self._total = Pace(total / MINUTE, total, now)
        self._addresses: OrderedDict[str, Pace] = OrderedDict()

    def take(self, address: str, now: float) -> RateLimited | None:
        """Admit one login from `address` (None), or the refusal to answer (nothing spent)."""
        self._forget(now)
        pace = self._addresses.get(address)
        if pace is None:
            pace = Pace(self.per_address / MINUTE, self.per_address, now)
        wait = pace.wait(now)
        if wait:
            return RateLimited("too many logins from this address", retry_after=wait)
        wait = self._total.wait(now)
        if wait:
            return RateLimited("too many logins, try again later", retry_after=wait)
        self._total.take(now)
        pace.take(now)
        self._addresses[address] = pace
        self._addresses.move_to_end(address)
        if len(self._addresses) > self.max_addresses:
            self._addresses.popitem(last=False)
        return None

    def __len__(self) -> int:
        """Addresses remembered now."""
        return len(self._addresses)

    def _forget(self, now: float) -> None:
        """Drop the least recently used addresses whose buckets have refilled."""
        addresses = self._addresses
        while addresses:
            oldest = next(iter(addresses.values()))
            if not oldest.full(now):
                return
            addresses.popitem(last=False)


class Holds:
    """What is held open now per key, within `limit`: one more is `RateLimited`."""

    __slots__ = ("_held", "limit", "per")

    def __init__(self, limit: int, per: str = "session") -> None:
        self.limit = limit
        self.per = per
        self._held: dict[str, int] = {}

    def take(self, key: str) -> None:
        """Count one more held by `key`; `RateLimited` when it has `limit` already."""
        held = self._held.get(key, 0)
        if held >= self.limit:
            raise RateLimited(f"at most {self.limit} open at once per {self.per}")
        self._held[key] = held + 1

    def release(self, key: str) -> None:
        held = self._held.get(key, 0) - 1
        if held > 0:
            self._held[key] = held
        else:
            self._held.pop(key, None)

    def __len__(self) -> int:
        """Keys holding something now."""
        return len(self._held)
