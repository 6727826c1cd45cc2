"""The messageIndex hold: examples, then properties over any arrival order and delay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from axp_chat_connector.sessions.ordering import (
    DEFAULT_WINDOW,
    GIVEN_UP_KEPT,
    Hold,
    Released,
    expire,
    offer,
)

T0 = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def empty() -> Hold[str]:
    return Hold()


def test_in_order_messages_pass_at_once() -> None:
    hold: Hold[str] = Hold()
    for i in (1, 2, 3):
        out = offer(hold, i, f"m{i}", T0)
        assert out.items == (f"m{i}",)
        assert out.deadline is None
        hold = out.hold
    assert hold.last == 3


def test_a_message_after_a_gap_waits_for_the_gap() -> None:
    hold: Hold[str] = Hold()
    out = offer(hold, 2, "m2", T0)
    assert out.items == ()
    assert out.deadline == T0 + DEFAULT_WINDOW
    out = offer(out.hold, 3, "m3", T0 + 100 * MS)
    assert (out.items, out.deadline) == ((), T0 + DEFAULT_WINDOW)
    out = offer(out.hold, 1, "m1", T0 + 200 * MS)
    assert out.items == ("m1", "m2", "m3")
    assert out.deadline is None


def test_the_gap_is_given_up_after_the_window_and_a_late_one_still_arrives_once() -> None:
    out = offer(empty(), 1, "m1", T0)
    out = offer(out.hold, 3, "m3", T0)
    assert expire(out.hold, T0 + DEFAULT_WINDOW - MS).items == ()
    out = expire(out.hold, T0 + DEFAULT_WINDOW)
    assert out.items == ("m3",)
    assert out.hold.given_up == {2}
    late = offer(out.hold, 2, "m2", T0 + 2 * DEFAULT_WINDOW)
    assert late.items == ("m2",)
    assert late.hold.given_up == frozenset()
    assert offer(late.hold, 2, "m2", T0 + 3 * DEFAULT_WINDOW).items == ()


def test_expiry_releases_up_to_the_oldest_expired_then_waits_again() -> None:
    out = offer(empty(), 2, "m2", T0)
    out = offer(out.hold, 4, "m4", T0 + 500 * MS)
    out = expire(out.hold, T0 + DEFAULT_WINDOW)
    assert out.items == ("m2",)
    assert out.deadline == T0 + 500 * MS + DEFAULT_WINDOW
    out = offer(out.hold, 3, "m3", T0 + DEFAULT_WINDOW + MS)
    assert out.items == ("m3", "m4")


def test_expiry_is_applied_when_the_next_message_arrives() -> None:
    out = offer(empty(), 3, "m3", T0)
    out = offer(out.hold, 5, "m5", T0 + DEFAULT_WINDOW)
    assert out.items == ("m3",)
    assert out.hold.given_up == {1, 2}


def test_duplicates_are_dropped_held_or_delivered() -> None:
    out = offer(empty(), 1, "m1", T0)
    assert offer(out.hold, 1, "again", T0).items == ()
    out = offer(out.hold, 3, "m3", T0)
    out = offer(out.hold, 3, "again", T0)
    assert len(out.hold.held) == 1
    assert offer(out.hold, 2, "m2", T0).items == ("m2", "m3")


def test_messages_without_index_pass_at_once() -> None:
    out = offer(empty(), 2, "m2", T0)
    out = offer(out.hold, None, "x", T0 + 10 * MS)
    assert out.items == ("x",)
    assert len(out.hold.held) == 1
    out = offer(out.hold, None, "y", T0 + DEFAULT_WINDOW)
    assert out.items == ("y", "m2")


def test_an_index_below_the_first_expected_passes_when_nothing_was_delivered() -> None:
    out = offer(empty(), 0, "m0", T0)  # Custom Messaging's examples count from 0
    assert out.items == ("m0",)
    assert offer(out.hold, 1, "m1", T0).items == ("m1",)


def test_the_largest_jump_held_remembers_a_bounded_number_of_given_up_indexes() -> None:
    far = 1 + GIVEN_UP_KEPT  # the farthest index still held (see the tests at the end)
    out = offer(offer(empty(), 1, "m1", T0).hold, far + 1, "far", T0)
    out = expire(out.hold, T0 + DEFAULT_WINDOW)
    assert out.items == ("far",)
    assert len(out.hold.given_up) == GIVEN_UP_KEPT
    assert max(out.hold.given_up) == far


def test_given_up_indexes_are_bounded_across_many_gaps() -> None:
    hold: Hold[int] = Hold()
    now = T0
    for i in range(2, 4 * GIVEN_UP_KEPT, 2):
        now += DEFAULT_WINDOW
        hold = offer(hold, i, i, now).hold
    hold = expire(hold, now + DEFAULT_WINDOW).hold
    assert len(hold.given_up) == GIVEN_UP_KEPT


def run(arrivals: list[tuple[int, timedelta]], window: timedelta) -> list[int]:
    """Feed arrivals (index, delay since the previous one), expiring at each deadline."""
    hold: Hold[int] = Hold()
    released: list[int] = []
    now = T0
    deadline: datetime | None = None
    out: Released[int]
    for index, delay in arrivals:
        target = now + delay
        while deadline is not None and deadline <= target:
            now = deadline
            out = expire(hold, now, window)
            released += out.items
            hold, deadline = out.hold, out.deadline
        now = target
        out = offer(hold, index, index, now, window)
        released += out.items
        hold, deadline = out.hold, out.deadline
    if deadline is not None:
        out = expire(hold, deadline, window)
        released += out.items
        assert out.deadline is None
    return released


@st.composite
def shuffled(draw: st.DrawFn, max_delay_ms: int) -> list[tuple[int, timedelta]]:
    n = draw(st.integers(1, 30))
    order = draw(st.permutations(range(1, n + 1)))
    delays = draw(st.lists(st.integers(0, max_delay_ms), min_size=n, max_size=n))
    return [(i, d * MS) for i, d in zip(order, delays, strict=True)]


@given(shuffled(max_delay_ms=3000))
def test_every_index_is_released_exactly_once(arrivals: list[tuple[int, timedelta]]) -> None:
    released = run(arrivals, DEFAULT_WINDOW)
    assert sorted(released) == list(range(1, len(arrivals) + 1))


@given(shuffled(max_delay_ms=3000))
def test_order_is_kept_when_everything_arrives_within_the_window(
    arrivals: list[tuple[int, timedelta]],
) -> None:
    total = sum((d for _, d in arrivals), timedelta())
    window = total + MS  # nothing can wait longer than this
    assert run(arrivals, window) == list(range(1, len(arrivals) + 1))


@given(shuffled(max_delay_ms=50), st.lists(st.integers(0, 29), max_size=10))
def test_duplicates_never_come_out_twice(
    arrivals: list[tuple[int, timedelta]], repeats: list[int]
) -> None:
    again = [arrivals[r % len(arrivals)] for r in repeats]
    released = run(arrivals + again, DEFAULT_WINDOW)
    assert sorted(released) == list(range(1, len(arrivals) + 1))


@pytest.mark.parametrize("far", [2 + GIVEN_UP_KEPT + 1, 2**31, 2**63])
def test_an_index_too_far_ahead_passes_at_once_and_does_not_silence_the_dialog(far: int) -> None:
    out = offer(empty(), 1, "m1", T0)
    out = offer(out.hold, far, "far", T0)
    assert out.items == ("far",)
    assert out.hold.last == 1
    assert offer(out.hold, 2, "m2", T0 + DEFAULT_WINDOW).items == ("m2",)


def test_an_index_as_far_ahead_as_the_gaps_remembered_is_still_held() -> None:
    out = offer(empty(), 1, "m1", T0)
    out = offer(out.hold, 2 + GIVEN_UP_KEPT, "edge", T0)
    assert out.items == ()
    assert len(out.hold.held) == 1
