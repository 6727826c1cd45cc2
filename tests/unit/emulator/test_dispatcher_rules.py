"""The dispatcher's pure rules: which subscription gets what, ordering keys, retry delays."""

from __future__ import annotations

from typing import Any

import pytest

from axp_chat_connector.emulator.delivery import (
    GLOBAL_KEY,
    JITTER,
    RetryPolicy,
    dialog_key,
    retry_delay,
    subscription_matches,
)
from axp_chat_connector.emulator.dispatcher import Dispatcher

CUSTOMER_MESSAGE = {"eventType": "MESSAGES", "senderParticipantType": "CUSTOMER"}
AGENT_MESSAGE = {"eventType": "MESSAGES", "senderParticipantType": "AGENT"}
BOT_MESSAGE = {"eventType": "MESSAGES", "senderParticipantType": "BOT"}
ADDED = {"eventType": "PARTICIPANT_ADDED"}
TYPING = {"eventType": "TYPING"}
FUTURE = {"eventType": "SOMETHING_NEW"}


@pytest.mark.parametrize(
    ("subscribed", "body", "expected"),
    [
        ({"MESSAGES"}, CUSTOMER_MESSAGE, True),
        ({"MESSAGES"}, AGENT_MESSAGE, True),
        ({"MESSAGES"}, ADDED, False),
        ({"CUSTOMER_MESSAGES"}, CUSTOMER_MESSAGE, True),
        ({"CUSTOMER_MESSAGES"}, AGENT_MESSAGE, False),
        ({"CUSTOMER_MESSAGES"}, BOT_MESSAGE, False),
        ({"CC_MESSAGES"}, CUSTOMER_MESSAGE, False),
        ({"CC_MESSAGES"}, AGENT_MESSAGE, True),
        ({"CC_MESSAGES"}, BOT_MESSAGE, True),
        ({"CC_MESSAGES"}, TYPING, False),
        ({"ALL"}, CUSTOMER_MESSAGE, True),
        ({"ALL"}, ADDED, True),
        ({"ALL"}, FUTURE, True),
        ({"PARTICIPANT_ADDED"}, ADDED, True),
        ({"PARTICIPANT_ADDED"}, TYPING, False),
        ({"PARTICIPANT_ADDED"}, AGENT_MESSAGE, False),
        ({"TYPING", "CC_MESSAGES"}, TYPING, True),
        ({"TYPING", "CC_MESSAGES"}, AGENT_MESSAGE, True),
        ({"TYPING", "CC_MESSAGES"}, CUSTOMER_MESSAGE, False),
        ({"ALL"}, {"eventType": 7}, False),
        ({"ALL"}, {}, False),
    ],
)
def test_subscription_matching_follows_avaya_table(
    subscribed: set[str], body: dict[str, Any], expected: bool
) -> None:
    assert subscription_matches(frozenset(subscribed), body) is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"dialogId": "d1", "engagementId": "e1"}, "d1"),
        ({"engagementId": "e1"}, "e1"),
        ({"dialogId": "", "engagementId": "e1"}, "e1"),
        ({"dialogId": None, "engagementId": 5}, GLOBAL_KEY),
        ({}, GLOBAL_KEY),
    ],
)
def test_dialog_key_prefers_dialog_then_engagement(body: dict[str, Any], expected: str) -> None:
    assert dialog_key(body) == expected


def test_retry_delays_double_from_base_and_are_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, factor=2.0, max_delay=10.0)
    assert [retry_delay(policy, n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_default_schedule_waits_about_31_seconds_in_all() -> None:
    policy = RetryPolicy()
    waits = [retry_delay(policy, n) for n in range(1, policy.attempts)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0]


@pytest.mark.parametrize("spread", [-1.0, -0.5, 0.0, 0.5, 1.0])
def test_jitter_stays_within_ten_percent(spread: float) -> None:
    policy = RetryPolicy(base_delay=2.0)
    delay = retry_delay(policy, 1, spread)
    assert delay == pytest.approx(2.0 * (1 + JITTER * spread))
    assert 1.8 - 1e-9 <= delay <= 2.2 + 1e-9


def test_huge_attempt_numbers_do_not_overflow() -> None:
    policy = RetryPolicy(base_delay=1.0, factor=10.0, max_delay=60.0)
    assert retry_delay(policy, 10_000) == 60.0


@pytest.mark.parametrize(
    "policy",
    [RetryPolicy(attempts=0), RetryPolicy(timeout=0), RetryPolicy(base_delay=-1)],
)
def test_invalid_policy_is_refused_up_front(policy: RetryPolicy) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        Dispatcher(subscriptions=lambda _a, _c: [], policy=policy)
