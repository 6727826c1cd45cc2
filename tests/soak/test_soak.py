"""The short soak in the test command (`python -m tests.soak.soak` runs the long one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import fault_stack
from tests.faults.tally import TALLY
from tests.soak.soak import soak

pytestmark = pytest.mark.e2e

SEED = 20261202


async def test_a_short_seeded_soak_loses_and_repeats_nothing(tmp_path: Path) -> None:
    with fault_stack(tmp_path) as stack:
        tally = await soak(stack.connector_url, stack.emulator_url, chats=6, rounds=5, seed=SEED)
    print(tally.line())
    TALLY["soak: faults injected"] += tally.faults_injected
    TALLY["soak: events checked"] += tally.events_checked
    TALLY["soak: lost"] += tally.lost
    TALLY["soak: duplicated"] += tally.duplicated
    TALLY["soak: out of order"] += tally.out_of_order
    assert tally.faults_injected > 0
    assert tally.events_checked > 0
    assert (tally.lost, tally.duplicated, tally.out_of_order) == (0, 0, 0), tally.line()
