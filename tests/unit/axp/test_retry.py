"""The retry table and the pure retry decisions."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from axp_chat_connector.axp.operations import OPERATIONS, Replay
from axp_chat_connector.axp.retry import (
    Backoff,
    Decision,
    Failure,
    classify_error,
    classify_status,
    decide,
    retry_after,
)

UNSAFE_TO_REPEAT = {
    "appendIdentifiersInDigitalSession",
    "createDigitalEngagement",
    "sendDigitalMessage",
    "createDigitalWebhookSubscription",
}


def test_table_covers_the_12_chat_and_5_subscription_operations() -> None:
    assert len([o for o in OPERATIONS.values() if o.api == "channel"]) == 12
    assert len([o for o in OPERATIONS.values() if o.api == "webhook"]) == 5


def test_only_operations_that_could_act_twice_are_marked_unsafe() -> None:
    unsafe = {o.id for o in OPERATIONS.values() if o.replay is Replay.IF_NOT_SENT}
    assert unsafe == UNSAFE_TO_REPEAT
    assert all(o.method == "POST" for o in OPERATIONS.values() if o.id in unsafe)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, None),
        (201, None),
        (204, None),
        (400, Failure.FINAL),
        (403, Failure.FINAL),
        (404, Failure.FINAL),
        (409, Failure.FINAL),
        (401, Failure.NOT_SENT),
        (429, Failure.NOT_SENT),
        (500, Failure.UNKNOWN),
        (502, Failure.UNKNOWN),
        (503, Failure.UNKNOWN),
        (504, Failure.UNKNOWN),
    ],
)
def test_status_classification(status: int, kind: Failure | None) -> None:
    assert classify_status(status) is kind


def test_errors_before_sending_are_not_sent_others_unknown() -> None:
    request = httpx.Request("GET", "https://axp.test")
    assert classify_error(httpx.ConnectError("x", request=request)) is Failure.NOT_SENT
    assert classify_error(httpx.ConnectTimeout("x", request=request)) is Failure.NOT_SENT
    assert classify_error(httpx.PoolTimeout("x", request=request)) is Failure.NOT_SENT
    assert classify_error(httpx.ReadTimeout("x", request=request)) is Failure.UNKNOWN
    assert classify_error(httpx.WriteTimeout("x", request=request)) is Failure.UNKNOWN
    assert classify_error(httpx.RemoteProtocolError("x", request=request)) is Failure.UNKNOWN
    assert classify_error(TimeoutError()) is Failure.UNKNOWN


@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
@pytest.mark.parametrize("failure", list(Failure))
def test_decision_for_every_operation_and_failure(op_id: str, failure: Failure) -> None:
    decision = decide(OPERATIONS[op_id], failure)
    if failure is Failure.FINAL:
        assert decision is Decision.GIVE_UP
    elif failure is Failure.NOT_SENT or op_id not in UNSAFE_TO_REPEAT:
        assert decision is Decision.RETRY
    else:
        assert decision is Decision.OUTCOME_UNKNOWN


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    low = Backoff(0.5, 4.0, rng=lambda: 0.0)
    high = Backoff(0.5, 4.0, rng=lambda: 1.0)
    assert [low.delay(n) for n in (1, 2, 3, 4, 5)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert [high.delay(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_retry_after_in_seconds_or_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after("3", now) == 3.0
    assert retry_after("Thu, 01 Jan 2026 12:00:07 GMT", now) == 7.0
    assert retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert retry_after(None, now) is None
    assert retry_after("soon", now) is None
