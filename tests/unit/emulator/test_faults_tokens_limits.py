"""Fault registry, token store and rate limiter: counted, timed, cleared."""

from __future__ import annotations

import pytest

from axp_chat_connector.emulator.faults import FaultRegistry, parse_faults
from axp_chat_connector.emulator.problems import ApiProblem
from axp_chat_connector.emulator.ratelimit import RateLimiter
from axp_chat_connector.emulator.tokens import TokenCheck, TokenStore


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_operation_fault_applies_to_the_next_n_calls_only() -> None:
    registry = FaultRegistry()
    registry.apply(
        parse_faults(
            {"operations": [{"operation": "sendDigitalMessage", "status": 503, "count": 2}]}
        )
    )
    plans = [registry.take("sendDigitalMessage") for _ in range(3)]
    assert [p.failure.status if p.failure else None for p in plans] == [503, 503, None]
    assert registry.take("getDigitalSession").failure is None


def test_latency_without_count_lasts_until_cleared_and_star_matches_all() -> None:
    registry = FaultRegistry()
    registry.apply(parse_faults({"latency": [{"operation": "*", "ms": 250, "count": None}]}))
    assert [registry.take("token").delay for _ in range(3)] == [0.25, 0.25, 0.25]
    registry.clear()
    assert registry.take("token").delay == 0


def test_injected_429_carries_retry_after() -> None:
    registry = FaultRegistry()
    registry.apply(
        parse_faults({"operations": [{"operation": "token", "status": 429, "retryAfter": 3}]})
    )
    problem = registry.take("token").problem()
    assert problem.status == 429
    assert problem.headers() == {"Retry-After": "3"}


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"operations": [{"operation": "noSuchOperation", "status": 503}]},
        {"operations": [{"operation": "token", "status": 200}]},
        {"latency": [{"ms": -1}]},
        {"webhooks": {"drop": "many"}},
        {"whatever": 1},
    ],
)
def test_bad_fault_documents_are_400(raw: object) -> None:
    with pytest.raises(ApiProblem) as info:
        parse_faults(raw)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"webhooks": {"duplicate": True}}, "webhooks.duplicate", "valid integer"),
        ({"webhooks": {"drop": 1.0}}, "webhooks.drop", "valid integer"),
        ({"webhooks": {"reorder": "2"}}, "webhooks.reorder", "valid integer"),
        ({"operations": [{"operation": "token", "status": "503"}]}, "operations[0].status",
         "valid integer"),
        ({"operations": [{"operation": "token", "status": 503, "count": True}]},
         "operations[0].count", "valid integer"),
        ({"operations": [{"operation": "token", "status": 503, "afterEffect": 1}]},
         "operations[0].afterEffect", "valid boolean"),
        ({"latency": [{"ms": True}]}, "latency[0].ms", "valid integer"),
        ({"greetingBot": "yes"}, "greetingBot", "valid boolean"),
        ({"engagementErrors": False}, "engagementErrors", "valid integer"),
        ({"webhooks": {"delayMs": 500}}, "webhooks", "delayMs needs delayCount"),
        ({"webhooks": {"delayCount": 2}}, "webhooks", "delayCount needs delayMs"),
        ({"webhooks": {"drop": 1, "eventTypes": ["MESSAGE"]}}, "webhooks.eventTypes[0]",
         "unknown event type 'MESSAGE'"),
        ({"webhooks": {"drop": 1, "dorp": 1}}, "webhooks.dorp", "unknown field"),
        ({"webhooks": {"eventTypes": ["TYPING"]}}, "webhooks", "eventTypes needs a fault"),
    ],
)  # fmt: skip
def test_fault_documents_are_read_strictly_and_the_400_names_the_field(
    raw: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(ApiProblem) as info:
        parse_faults(raw)
    body = info.value.body()
    assert body["status"] == 400
    assert [v["field"] for v in body["violations"]] == [field]
    assert words in body["violations"][0]["message"]


def test_a_counted_delay_and_known_event_types_are_accepted() -> None:
    faults = parse_faults(
        {"webhooks": {"delayMs": 500, "delayCount": 2, "eventTypes": ["MESSAGES", "TYPING"]}}
    )
    assert faults.webhooks is not None
    assert (faults.webhooks.delay_ms, faults.webhooks.delay_count) == (500, 2)
    operation = {"operation": "token", "status": 429, "retryAfter": 1}  # an int is a float
    assert parse_faults({"operations": [operation]}).operations[0].retry_after == 1


def test_tokens_expire_after_ttl_and_refresh_tokens_work_once() -> None:
    clock = Clock()
    store = TokenStore(2, clock=clock)
    issued = store.issue("ABCDEF")
    assert store.check(issued.access_token) == (TokenCheck.VALID, "ABCDEF")
    assert store.check("forged")[0] is TokenCheck.UNKNOWN
    clock.now += 2
    assert store.check(issued.access_token)[0] is TokenCheck.EXPIRED
    assert not store.redeem_refresh(issued.refresh_token, "GHIJKL")
    other = store.issue("ABCDEF")
    assert store.redeem_refresh(other.refresh_token, "ABCDEF")
    assert not store.redeem_refresh(other.refresh_token, "ABCDEF")


def test_rate_limiter_refills_at_the_configured_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock=clock)
    assert [limiter.acquire("A") for _ in range(2)] == [0, 0]
    assert limiter.acquire("A") == pytest.approx(0.5)
    assert limiter.acquire("B") == 0
    clock.now += 0.5
    assert limiter.acquire("A") == 0
