"""The per-dialog `messageIndex` hold (DESIGN "Order"), as a value.

AXP numbers the messages of a dialog (customer and contact centre share one sequence) but may
deliver its callbacks out of order. A message whose index follows the last delivered one is
released at once, with any held messages it unblocks; a message after a missing index is held
until the gap fills or `window` has passed since it arrived, then released anyway (the missing
indexes are *given up*). Messages without an index are released at once; a repeated index is
dropped. An index that was given up and arrives late is released once, late, rather than lost.
An index more than `GIVEN_UP_KEPT` beyond the expected one is released at once like a message
without index and leaves the hold as it was: its gap could not be remembered, and taking it as
the last index would make every later message look like a repeat (one bad index from AXP, e.g.
2^31, would silence the dialog).

`offer()` and `expire()` return what to release, in order, the new hold and its next deadline
(when the service should call `expire()`; None: nothing held).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Generic, TypeVar

T = TypeVar("T")

DEFAULT_WINDOW: Final = timedelta(seconds=1)
FIRST_INDEX: Final = 1
"""The index expected first in a dialog. Avaya's Custom Chat examples start at 1 (Custom
Messaging's at 0): an index below it, with nothing delivered yet, is released at once."""
GIVEN_UP_KEPT: Final = 256
"""How many given-up indexes are remembered for a late arrival."""


@dataclass(frozen=True, slots=True)
class Held(Generic[T]):
    index: int
    item: T
    arrived: datetime


@dataclass(frozen=True, slots=True)
class Hold(Generic[T]):
    last: int | None = None
    """The last index released (None: none yet)."""
    held: tuple[Held[T], ...] = ()
    """Waiting for a missing index, by index."""
    given_up: frozenset[int] = frozenset()

    @property
    def expected(self) -> int:
        return FIRST_INDEX if self.last is None else self.last + 1

    def deadline(self, window: timedelta) -> datetime | None:
        """When the oldest held message stops waiting."""
        if not self.held:
            return None
        return min(h.arrived for h in self.held) + window


@dataclass(frozen=True, slots=True)
class Released(Generic[T]):
    items: tuple[T, ...]
    hold: Hold[T]
    deadline: datetime | None


def offer(
    hold: Hold[T],
    index: int | None,
    item: T,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
) -> Released[T]:
    """A message arrives: what can be released now."""
    if index is None or index > hold.expected + GIVEN_UP_KEPT:
        after = _expire(hold, now, window)
        return Released((item, *after.items), after.hold, after.deadline)
    out: list[T] = []
    if index < hold.expected:
        if index in hold.given_up:
            out.append(item)
            hold = Hold(hold.last, hold.held, hold.given_up - {index})
        elif hold.last is None:
            out.append(item)
            hold = Hold(index, hold.held, hold.given_up)
        # else: already released, a duplicate
    elif all(h.index != index for h in hold.held):
        held = tuple(sorted((*hold.held, Held(index, item, now)), key=lambda h: h.index))
        hold = Hold(hold.last, held, hold.given_up)
    hold = _run(hold, out)
    after = _expire(hold, now, window)
    return Released((*out, *after.items), after.hold, after.deadline)


def expire(hold: Hold[T], now: datetime, window: timedelta = DEFAULT_WINDOW) -> Released[T]:
    """Time passes: release what waited long enough (and what follows it without a gap)."""
    return _expire(hold, now, window)


def _run(hold: Hold[T], out: list[T]) -> Hold[T]:
    """Release held messages while they follow on without a gap."""
    held = list(hold.held)
    last = hold.last
    while held and held[0].index == (FIRST_INDEX if last is None else last + 1):
        first = held.pop(0)
        out.append(first.item)
        last = first.index
    return Hold(last, tuple(held), hold.given_up)


def _expire(hold: Hold[T], now: datetime, window: timedelta) -> Released[T]:
    out: list[T] = []
    expired = [h.index for h in hold.held if h.arrived + window <= now]
    if expired:
        cut = max(expired)
        start = hold.expected
        present = {h.index for h in hold.held if h.index <= cut}
        lowest = max(start, cut - GIVEN_UP_KEPT)
        gaps = frozenset(i for i in range(lowest, cut) if i not in present)
        out.extend(h.item for h in hold.held if h.index <= cut)
        given_up = hold.given_up | gaps
        if len(given_up) > GIVEN_UP_KEPT:
            given_up = frozenset(sorted(given_up)[-GIVEN_UP_KEPT:])
        rest = tuple(h for h in hold.held if h.index > cut)
        hold = _run(Hold(cut, rest, given_up), out)
    return Released(tuple(out), hold, hold.deadline(window))
