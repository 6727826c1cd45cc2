"""Subscription provisioning against the emulator's Notification API over HTTP."""

from __future__ import annotations

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.axp.models.notification_in_gen import Subscription
from axp_chat_connector.axp.provisioning import WANTED_EVENT_TYPES, Step, ensure_subscriptions

from .conftest import Emulator, Traffic, axp_client, connector_settings


def _view(subs: list[Subscription]) -> list[tuple[str | None, str, str, tuple[str, ...]]]:
    rows = [
        (s.subscriptionId, s.channelProviderId, s.callbackUrl, tuple(s.eventTypes)) for s in subs
    ]
    return sorted(rows, key=lambda row: str(row[0]))


async def test_provisioning_twice_creates_one_subscription(
    axp: AxpClient, traffic: Traffic
) -> None:
    first = await ensure_subscriptions(axp)
    second = await ensure_subscriptions(axp)
    assert [a.step for a in first.changes] == [Step.CREATE]
    assert second.up_to_date
    subs = await axp.list_subscriptions()
    assert len(subs) == 1
    assert subs[0].callbackUrl == axp.settings.callback_url.get_secret_value()
    assert set(subs[0].eventTypes) == set(WANTED_EVENT_TYPES)
    posts = [r for r in traffic.api_requests("/subscriptions") if r.method == "POST"]
    assert len(posts) == 1


async def test_stale_event_types_are_updated_in_place(axp: AxpClient) -> None:
    callback = axp.settings.callback_url.get_secret_value()
    old = await axp.create_subscription(callback_url=callback, event_types=["MESSAGES"])
    p = await ensure_subscriptions(axp)
    assert [(a.step, a.subscription_id) for a in p.changes] == [(Step.UPDATE, old.subscriptionId)]
    subs = await axp.list_subscriptions()
    assert [s.subscriptionId for s in subs] == [old.subscriptionId]
    assert set(subs[0].eventTypes) == set(WANTED_EVENT_TYPES)


async def test_other_subscribers_are_left_alone_and_our_duplicates_removed(
    emulator: Emulator, axp: AxpClient, traffic: Traffic
) -> None:
    other_provider = connector_settings(emulator, axp_channel_provider_id="OtherProvider01")
    staging = connector_settings(emulator, public_url="http://127.0.0.1:9999")
    async with (
        axp_client(other_provider, traffic) as other,
        axp_client(staging, traffic) as stage,
    ):
        await other.create_subscription(
            callback_url=other.settings.callback_url.get_secret_value(),
            event_types=["MESSAGES"],
        )
        await stage.create_subscription(
            callback_url=stage.settings.callback_url.get_secret_value(),
            event_types=["CC_MESSAGES"],
        )
        callback = axp.settings.callback_url.get_secret_value()
        for _ in range(2):  # duplicates of ours, e.g. from an old bug
            await axp.create_subscription(
                callback_url=callback, event_types=list(WANTED_EVENT_TYPES)
            )
        foreign_before = [
            s for s in await axp.list_subscriptions(all_providers=True) if s.callbackUrl != callback
        ]
        p = await ensure_subscriptions(axp)
        after = await axp.list_subscriptions(all_providers=True)
    assert [a.step for a in p.changes] == [Step.DELETE]
    assert len(foreign_before) == 2
    ours = [s for s in after if s.callbackUrl == callback]
    assert len(ours) == 1
    assert _view([s for s in after if s.callbackUrl != callback]) == _view(list(foreign_before))


async def test_old_callback_url_is_kept_unless_pruned(emulator: Emulator, traffic: Traffic) -> None:
    before = connector_settings(emulator)
    rotated = before.model_copy(update={"callback_secret": type(before.callback_secret)(
        "rotated-secret-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789")})  # fmt: skip
    async with axp_client(before, traffic) as old, axp_client(rotated, traffic) as new:
        await ensure_subscriptions(old)
        kept = await ensure_subscriptions(new)
        assert [a.step for a in kept.actions] == [Step.CREATE, Step.STALE]
        assert len(await new.list_subscriptions()) == 2
        pruned = await ensure_subscriptions(new, prune_stale=True)
        assert [a.step for a in pruned.changes] == [Step.DELETE]
        subs = await new.list_subscriptions()
    assert [s.callbackUrl for s in subs] == [rotated.callback_url.get_secret_value()]
