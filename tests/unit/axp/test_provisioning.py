"""Subscription provisioning: the pure plan, exhaustively, and ensure_subscriptions on a fake."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.axp.provisioning import (
    WANTED_EVENT_TYPES,
    Existing,
    Plan,
    Step,
    Wanted,
    ensure_subscriptions,
    mask_url,
    plan,
    prune,
)
from axp_chat_connector.errors import AxpOutcomeUnknown

from .fakes import CALLBACK_SECRET, PUBLIC_URL, FakeClock, FakeSleep, settings

OURS = f"{PUBLIC_URL}/v1/axp/callback/{CALLBACK_SECRET}"
OLD = f"{PUBLIC_URL}/v1/axp/callback/old-secret-0123456789abcdefghijklmnop"
WANTED = Wanted("axp-chat-connector", PUBLIC_URL, OURS)
ALL6 = WANTED_EVENT_TYPES


def sub(url: str, types: tuple[str, ...] = ALL6, provider: str = "axp-chat-connector") -> Existing:
    return Existing(str(uuid.uuid4()), provider, url, types)


def steps(p: Plan) -> list[tuple[Step, str | None]]:
    return [(a.step, a.subscription_id) for a in p.actions]


def test_nothing_there_creates_one() -> None:
    p = plan([], WANTED)
    assert [(a.step, a.callback_url, a.event_types) for a in p.actions] == [
        (Step.CREATE, OURS, ALL6)
    ]


def test_matching_subscription_is_kept() -> None:
    s = sub(OURS, tuple(reversed(ALL6)))  # order does not matter
    p = plan([s], WANTED)
    assert steps(p) == [(Step.KEEP, s.subscription_id)]
    assert p.up_to_date


def test_stale_event_types_are_updated() -> None:
    s = sub(OURS, ("MESSAGES", "CC_MESSAGES"))
    p = plan([s], WANTED)
    assert steps(p) == [(Step.UPDATE, s.subscription_id)]
    assert p.actions[0].event_types == ALL6


def test_duplicates_are_deleted_and_a_matching_one_preferred() -> None:
    stale, good, dupe = sub(OURS, ("TYPING",)), sub(OURS), sub(OURS)
    p = plan([stale, good, dupe], WANTED)
    assert steps(p) == [
        (Step.KEEP, good.subscription_id),
        (Step.DELETE, stale.subscription_id),
        (Step.DELETE, dupe.subscription_id),
    ]


def test_foreign_subscriptions_are_never_touched() -> None:
    others = [
        sub("https://staging.connector.test/v1/axp/callback/abc"),  # another environment
        sub(OURS, provider="SomeOtherProvider"),  # another channel provider
        sub(PUBLIC_URL + ".evil.test/v1/axp/callback/x"),  # prefix trick
        sub("https://other.vendor.test/hook", ("MESSAGES",)),
    ]
    p = plan(others, WANTED)
    assert steps(p)[0][0] is Step.CREATE
    assert [a.step for a in p.actions[1:]] == [Step.FOREIGN] * 4
    assert [a.step for a in prune(p).actions[1:]] == [Step.FOREIGN] * 4


def test_subscription_without_id_is_left_alone() -> None:
    nameless = Existing(None, "axp-chat-connector", OURS, ("TYPING",))
    p = plan([nameless], WANTED)
    assert [a.step for a in p.actions] == [Step.CREATE, Step.FOREIGN]


def test_other_callback_url_of_ours_is_stale_and_deleted_only_when_pruning() -> None:
    old = sub(OLD)
    p = plan([old], WANTED)
    assert [a.step for a in p.actions] == [Step.CREATE, Step.STALE]
    pruned = prune(p)
    assert [a.step for a in pruned.changes] == [Step.CREATE, Step.DELETE]  # create first


def test_changes_put_creates_and_updates_before_deletes() -> None:
    p = plan([sub(OURS, ("TYPING",)), sub(OURS, ("MESSAGES",))], WANTED)
    assert [a.step for a in p.changes] == [Step.UPDATE, Step.DELETE]


def test_wanted_refuses_too_many_event_types_and_foreign_callbacks() -> None:
    with pytest.raises(ValueError, match="1 to 6"):
        Wanted("p01", PUBLIC_URL, OURS, (*ALL6, "CC_MESSAGES"))
    with pytest.raises(ValueError, match="under the public URL"):
        Wanted("p01", PUBLIC_URL, "https://elsewhere.test/cb")


def test_described_plan_masks_every_callback_secret() -> None:
    p = plan([sub(OLD), sub("https://other.vendor.test/hook/s3cr3t")], WANTED)
    text = "\n".join(p.describe(PUBLIC_URL))
    assert CALLBACK_SECRET not in text
    assert "old-secret" not in text
    assert "s3cr3t" not in text
    assert f"{PUBLIC_URL}/v1/axp/callback/***" in text
    assert mask_url("https://other.vendor.test/hook/s3cr3t", PUBLIC_URL) == (
        "https://other.vendor.test/***"
    )


_urls = st.sampled_from([OURS, OLD, "https://staging.connector.test/v1/axp/callback/z",
                         PUBLIC_URL + ".evil.test/cb"])  # fmt: skip
_types = st.lists(st.sampled_from([*ALL6, "CC_MESSAGES", "ALL"]), min_size=1, max_size=6,
                  unique=True).map(tuple)  # fmt: skip
_subs = st.lists(
    st.builds(
        Existing,
        st.uuids().map(str),
        st.sampled_from(["axp-chat-connector", "OtherProvider"]),
        _urls,
        _types,
    ),
    max_size=6,
)


def simulate(existing: list[Existing], p: Plan) -> list[Existing]:
    """What AXP would hold after `apply(p)`."""
    by_id = {s.subscription_id: s for s in existing}
    for a in p.changes:
        if a.step is Step.CREATE:
            by_id["new"] = Existing("new", WANTED.channel_provider_id, a.callback_url,
                                    a.event_types)  # fmt: skip
        elif a.step is Step.UPDATE:
            old = by_id[a.subscription_id]
            by_id[a.subscription_id] = Existing(old.subscription_id, old.channel_provider_id,
                                                a.callback_url, a.event_types)  # fmt: skip
        else:
            del by_id[a.subscription_id]
    return list(by_id.values())


@given(_subs, st.booleans())
def test_plan_leaves_exactly_one_right_subscription_and_foreign_ones_alone(
    existing: list[Existing], pruning: bool
) -> None:
    p = prune(plan(existing, WANTED)) if pruning else plan(existing, WANTED)
    after = simulate(existing, p)
    ours = [
        s for s in after
        if s.channel_provider_id == WANTED.channel_provider_id and s.callback_url == OURS
    ]  # fmt: skip
    assert len(ours) == 1
    assert set(ours[0].event_types) == set(ALL6)
    foreign = [
        s for s in existing
        if s.channel_provider_id != WANTED.channel_provider_id
        or not s.callback_url.startswith(PUBLIC_URL + "/")
    ]  # fmt: skip
    assert all(s in after for s in foreign)
    assert plan(after, WANTED).up_to_date  # applying twice changes nothing
    if not pruning:
        stale = [s for s in existing if s.callback_url == OLD and s not in foreign]
        assert all(s in after for s in stale)


class FakeSubscriptions:
    """An in-memory Notification API (what the emulator does, minus HTTP)."""

    def __init__(self, *existing: dict[str, Any]) -> None:
        self.subs: dict[str, dict[str, Any]] = {s["subscriptionId"]: s for s in existing}
        self.writes: list[str] = []
        self.lose_next_create_answer = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if "openid-connect" in request.url.path:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 900})
        sub_id = request.url.path.rsplit("/", 1)[-1]
        if request.method == "GET":
            provider = request.url.params.get("channelProviderId")
            found = [s for s in self.subs.values() if provider in (None, s["channelProviderId"])]
            return httpx.Response(200, json=found)
        self.writes.append(request.method)
        if request.method == "DELETE":
            del self.subs[sub_id]
            return httpx.Response(204)
        body = json.loads(request.content)
        if request.method == "PUT":
            self.subs[sub_id] = {**body, "subscriptionId": sub_id}
            return httpx.Response(200, json=self.subs[sub_id])
        new = {**body, "subscriptionId": str(uuid.uuid4())}
        self.subs[new["subscriptionId"]] = new
        if self.lose_next_create_answer:
            self.lose_next_create_answer = False
            raise httpx.ReadTimeout("answer lost", request=request)
        return httpx.Response(201, json=new)


def fake_client(axp: FakeSubscriptions) -> AxpClient:
    clock = FakeClock()
    return AxpClient(
        settings(), transport=httpx.MockTransport(axp), clock=clock, sleep=FakeSleep(clock)
    )


async def test_ensure_twice_creates_once_and_respects_dry_run_and_lock() -> None:
    foreign = {"subscriptionId": str(uuid.uuid4()), "channelProviderId": "Other",
               "callbackUrl": "https://other.test/cb", "eventTypes": ["MESSAGES"]}  # fmt: skip
    axp = FakeSubscriptions(foreign)
    held: list[str] = []

    @contextlib.asynccontextmanager
    async def lock() -> AsyncIterator[None]:
        held.append("in")
        yield
        held.append("out")

    async with fake_client(axp) as c:
        dry = await ensure_subscriptions(c, dry_run=True)
        assert [a.step for a in dry.changes] == [Step.CREATE]
        assert axp.writes == []
        await ensure_subscriptions(c, lock=lock())
        again = await ensure_subscriptions(c)
    assert held == ["in", "out"]
    assert axp.writes == ["POST"]
    assert again.up_to_date
    assert foreign in axp.subs.values()
    ours = [s for s in axp.subs.values() if s["channelProviderId"] == "axp-chat-connector"]
    assert len(ours) == 1
    assert ours[0]["eventTypes"] == list(ALL6)


async def test_lost_create_answer_is_settled_by_listing_again_not_duplicated() -> None:
    axp = FakeSubscriptions()
    axp.lose_next_create_answer = True
    async with fake_client(axp) as c:
        p = await ensure_subscriptions(c)
    assert axp.writes == ["POST"]
    assert len(axp.subs) == 1
    assert p.up_to_date  # the re-listed plan found the one that was created


async def test_outcome_unknown_twice_is_raised() -> None:
    class Flaky(FakeSubscriptions):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and "subscriptions" in request.url.path:
                raise httpx.ReadTimeout("lost", request=request)
            return super().__call__(request)

    async with fake_client(Flaky()) as c:
        with pytest.raises(AxpOutcomeUnknown):
            await ensure_subscriptions(c)
