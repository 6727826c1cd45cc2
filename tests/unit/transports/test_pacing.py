"""`Pace`: the token bucket and the strikes, with time passed in."""

from __future__ import annotations

import pytest

from axp_chat_connector.transports.pacing import Pace


def test_a_full_bucket_admits_a_burst_then_refuses_with_the_wait() -> None:
    pace = Pace(rate=2, burst=3, now=0.0)
    assert [pace.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pace.take(0.0) == pytest.approx(0.5)
    assert pace.strikes == 1
    assert pace.take(0.25) == pytest.approx(0.25)
    assert pace.strikes == 2
    assert pace.take(0.5) == 0.0
    assert pace.strikes == 0


def test_a_refusal_never_spends_a_token() -> None:
    pace = Pace(rate=1, burst=1, now=0.0)
    pace.take(0.0)
    for _ in range(100):
        pace.take(0.5)  # refused: half a token there, and it stays
    assert pace.take(1.0) == 0.0


def test_tokens_never_exceed_the_burst() -> None:
    pace = Pace(rate=10, burst=2, now=0.0)
    assert [pace.take(1000.0) for _ in range(3)][2] > 0


def test_a_clock_going_back_gives_nothing_and_breaks_nothing() -> None:
    pace = Pace(rate=1, burst=1, now=10.0)
    assert pace.take(10.0) == 0.0
    assert pace.take(5.0) == pytest.approx(1.0)
    assert pace.take(11.0) == 0.0


def test_lockout_starts_at_the_strike_limit_and_lasts_until_the_bucket_is_full() -> None:
    pace = Pace(rate=2, burst=4, now=0.0)
    for _ in range(4):
        pace.take(0.0)
    assert pace.lockout(0.0, strikes=2) == 0.0
    pace.take(0.0)
    assert pace.lockout(0.0, strikes=2) == 0.0  # one strike
    pace.take(0.0)
    assert pace.lockout(0.0, strikes=2) == pytest.approx(2.0)
    assert pace.lockout(1.0, strikes=2) == pytest.approx(1.0)
    for _ in range(50):
        assert pace.lockout(1.5, strikes=2) == pytest.approx(0.5)  # asking spends nothing
    assert pace.lockout(2.0, strikes=2) == 0.0


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_a_pace_needs_a_positive_rate_and_burst(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        Pace(rate, burst, now=0.0)
