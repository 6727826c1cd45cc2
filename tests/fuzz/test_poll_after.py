"""Fuzz the long-poll `after` query (issue 15 item 3): events or `bad_request`, never a 500."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given

from tests.faults.tally import TALLY
from tests.fuzz.conftest import FUZZ, Live
from tests.fuzz.test_http_inputs import documented_poll_answer, http, query_values

pytestmark = pytest.mark.e2e
__all__ = ["http"]


@FUZZ
@given(after=query_values)
def test_any_after_is_events_or_bad_request(live: Live, http: httpx.Client, after: str) -> None:
    TALLY["fuzz: long-poll queries"] += 1
    response = http.get(
        "/v1/poll/events",
        params={"after": after, "wait": "0"},
        headers={"Authorization": f"Bearer {live.token}"},
    )
    documented_poll_answer(response)
