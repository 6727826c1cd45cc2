"""Fuzz what reaches the connector over HTTP (real `serve`): the long-poll query and AXP's
webhooks. Never a 5xx; always the documented answer (docs/protocol.md §6, "Webhooks")."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.faults.tally import TALLY
from tests.fuzz.conftest import FUZZ, Live

pytestmark = pytest.mark.e2e

EVENT_TYPES = [
    "MESSAGES", "PARTICIPANT_ADDED", "PARTICIPANT_DISCONNECTED", "ENGAGEMENT_CREATED",
    "ENGAGEMENT_ERROR", "TYPING", "ENGAGEMENT_TERMINATED", "SOMETHING_NEW",
]  # fmt: skip
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**31, 2**63, 2**63 - 1, 2**64, -1, 0]),
)
query_values = st.one_of(
    numbers.map(str),
    st.text(max_size=30),
    st.sampled_from(["1e3", "nan", "inf", "-inf", "0x10", "1_0", " 5 ", "٣", "", "1.5"]),
)


@pytest.fixture(scope="session")
def http(live: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.stack.connector_url, timeout=5) as client:
        yield client


def documented_poll_answer(response: httpx.Response) -> None:
    assert response.status_code in (200, 400), (response.status_code, response.text)
    body = response.json()
    if response.status_code == 400:
        assert body["code"] == "bad_request", body
    else:
        assert isinstance(body["events"], list), body
        assert isinstance(body["seq"], int), body


@FUZZ
@given(wait=query_values, extra=st.dictionaries(st.text(max_size=8), st.text(max_size=8)))
def test_any_wait_is_events_or_bad_request(
    live: Live, http: httpx.Client, wait: str, extra: dict[str, str]
) -> None:
    TALLY["fuzz: long-poll queries"] += 1
    response = http.get(
        "/v1/poll/events",
        params={**extra, "after": "0", "wait": wait},  # events exist: answered at once
        headers={"Authorization": f"Bearer {live.token}"},
    )
    documented_poll_answer(response)


json_scalars = st.one_of(st.none(), st.booleans(), numbers, st.floats(), st.text(max_size=40))
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def webhook_events(draw: st.DrawFn, live: Live) -> dict[str, Any]:
    """Event-shaped bodies, often about the live chat, with fields of any type and size."""
    ours = {"dialogId": live.dialog_id, "engagementId": live.engagement_id}
    event: dict[str, Any] = {
        "eventType": draw(st.sampled_from(EVENT_TYPES) | json_values),
        "accountId": "ABCDEF",
        "channelProviderId": "axp-chat-connector",
        "correlationId": draw(st.text(max_size=40) | json_values),
        **draw(st.sampled_from([ours, {"dialogId": str(uuid.uuid4())}, {}])),
    }
    fields = st.sampled_from(
        ["messageId", "messageIndex", "providerMessageId", "senderParticipantType",
         "senderParticipantId", "participantType", "participantId", "connectionId", "body",
         "eventDate", "dialogId", "engagementId", "errorType", "type", "senderParticipantName"]
    )  # fmt: skip
    event |= draw(st.dictionaries(fields, json_values | numbers, max_size=6))
    return event


@FUZZ
@given(data=st.data())
def test_any_webhook_body_is_answered_200_or_400_never_5xx(
    live: Live, http: httpx.Client, data: st.DataObject
) -> None:
    TALLY["fuzz: webhook bodies"] += 1
    event = data.draw(webhook_events(live))
    path = live.stack.callback_url.removeprefix(live.stack.connector_url)
    raw = json.dumps(event, allow_nan=True)  # NaN and Infinity too: Python's parser takes them
    response = http.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400), (response.status_code, response.text, event)


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_any_webhook_bytes_are_200_or_400(live: Live, http: httpx.Client, raw: bytes) -> None:
    TALLY["fuzz: webhook bodies"] += 1
    path = live.stack.callback_url.removeprefix(live.stack.connector_url)
    response = http.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400), (response.status_code, response.text)
    if response.status_code == 400:
        assert response.headers["content-type"].startswith("application/problem+json")


def test_the_connector_is_still_ready_after_the_fuzz(live: Live, http: httpx.Client) -> None:
    assert http.get("/readyz").status_code == 200
