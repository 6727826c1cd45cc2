"""Webhook subscriptions: work out what to change (`plan`, pure) and do it (`apply`).

The rules (DESIGN.md "Startup and provisioning"):

* Only subscriptions of our `channelProviderId` whose callback URL lies under our public URL are
  ours; every other one (another environment, another subscriber) is left untouched.
* Exactly one of ours carries our callback URL with exactly the wanted event types: a matching
  one is kept, else the first with our callback URL is updated (PUT), else one is created.
  Further subscriptions with our callback URL are duplicates and deleted.
* Ours with an *other* callback URL under our public URL (an old callback secret, an old path)
  are reported as stale and deleted only with `prune=True`: during a secret rotation the old
  URL must keep working until every instance accepts the new one.

Several instances starting at once should hold a store lock around list-plan-apply; the store
does not exist yet, so `ensure_subscriptions` takes any async context manager as `lock`.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import structlog

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.config import CALLBACK_PATH, Settings
from axp_chat_connector.errors import AxpOutcomeUnknown

WANTED_EVENT_TYPES: Final = (
    "MESSAGES",
    "PARTICIPANT_ADDED",
    "PARTICIPANT_DISCONNECTED",
    "ENGAGEMENT_CREATED",
    "ENGAGEMENT_ERROR",
    "TYPING",
)
MAX_EVENT_TYPES: Final = 6  # AXP's limit per subscription
_log = structlog.get_logger(__name__)


class Step(enum.Enum):
    KEEP = "keep"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    STALE = "stale"  # ours, another callback URL; deleted only when pruning
    FOREIGN = "foreign"  # not ours: never touched


@dataclass(frozen=True, slots=True)
class Existing:
    """A subscription as AXP lists it."""

    subscription_id: str | None
    channel_provider_id: str
    callback_url: str
    event_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Wanted:
    channel_provider_id: str
    public_url: str
    callback_url: str
    event_types: tuple[str, ...] = WANTED_EVENT_TYPES

    def __post_init__(self) -> None:
        if not 1 <= len(self.event_types) <= MAX_EVENT_TYPES:
            raise ValueError(f"a subscription takes 1 to {MAX_EVENT_TYPES} event types")
        if not self.callback_url.startswith(self.public_url.rstrip("/") + "/"):
            raise ValueError("the callback URL must lie under the public URL")


@dataclass(frozen=True, slots=True)
class Action:
    step: Step
    subscription_id: str | None
    callback_url: str
    event_types: tuple[str, ...]

    @property
    def changes(self) -> bool:
        return self.step in (Step.CREATE, Step.UPDATE, Step.DELETE)


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]

    @property
    def changes(self) -> tuple[Action, ...]:
        """What `apply` does, in order: create/update first, deletes last."""
        order = {Step.CREATE: 0, Step.UPDATE: 0, Step.DELETE: 1}
        todo = [a for a in self.actions if a.changes]
        return tuple(sorted(todo, key=lambda a: order[a.step]))

    @property
    def up_to_date(self) -> bool:
        return not self.changes

    def describe(self, public_url: str) -> list[str]:
        """One line per action, callback secrets masked."""
        return [
            f"{a.step.value:8} {a.subscription_id or '(new)':36}  "
            f"{mask_url(a.callback_url, public_url)}  [{', '.join(a.event_types)}]"
            for a in self.actions
        ]


def mask_url(url: str, public_url: str) -> str:
    """A callback URL fit to print: the secret after `/v1/axp/callback/` (ours) or any path
    (someone else's) is hidden."""
    if url.startswith(public_url.rstrip("/") + "/"):
        head, sep, _ = url.partition(CALLBACK_PATH)
        return head + sep + "***" if sep else url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/***" if parts.netloc else "***"


def _ours(sub: Existing, wanted: Wanted) -> bool:
    """Ours to change: our provider, under our public URL, and an id to address it by."""
    return (
        sub.subscription_id is not None
        and sub.channel_provider_id == wanted.channel_provider_id
        and sub.callback_url.startswith(wanted.public_url.rstrip("/") + "/")
    )


def plan(existing: Iterable[Existing], wanted: Wanted) -> Plan:
    """What to change so that exactly one of our subscriptions delivers the wanted events."""
    existing = list(existing)
    want = set(wanted.event_types)
    actions: list[Action] = []
    current = [s for s in existing if _ours(s, wanted) and s.callback_url == wanted.callback_url]
    keeper = next((s for s in current if set(s.event_types) == want), None)
    if keeper is None and current:
        keeper = current[0]
        actions.append(
            Action(Step.UPDATE, keeper.subscription_id, wanted.callback_url, wanted.event_types)
        )
    elif keeper is not None:
        actions.append(
            Action(Step.KEEP, keeper.subscription_id, keeper.callback_url, keeper.event_types)
        )
    else:
        actions.append(Action(Step.CREATE, None, wanted.callback_url, wanted.event_types))
    for sub in existing:
        if sub is keeper:
            continue
        if not _ours(sub, wanted):
            step = Step.FOREIGN
        elif sub.callback_url == wanted.callback_url:
            step = Step.DELETE  # a duplicate of the keeper
        else:
            step = Step.STALE
        actions.append(Action(step, sub.subscription_id, sub.callback_url, sub.event_types))
    return Plan(tuple(actions))


def prune(p: Plan) -> Plan:
    """The same plan with stale subscriptions (ours, other callback URL) deleted too."""
    return Plan(
        tuple(
            Action(Step.DELETE, a.subscription_id, a.callback_url, a.event_types)
            if a.step is Step.STALE
            else a
            for a in p.actions
        )
    )


def wanted_for(settings: Settings) -> Wanted:
    return Wanted(
        channel_provider_id=settings.axp_channel_provider_id,
        public_url=settings.public_url,
        callback_url=settings.callback_url.get_secret_value(),
    )


async def current(client: AxpClient) -> list[Existing]:
    subs = await client.list_subscriptions()
    return [
        Existing(s.subscriptionId, s.channelProviderId, s.callbackUrl, tuple(s.eventTypes))
        for s in subs
    ]


async def apply(client: AxpClient, p: Plan) -> None:
    """Carry out the plan's changes in order (create/update before delete)."""
    for action in p.changes:
        subscription_id = action.subscription_id
        if action.step is Step.CREATE:
            created = await client.create_subscription(
                callback_url=action.callback_url, event_types=action.event_types
            )
            subscription_id = created.subscriptionId
        elif action.step is Step.UPDATE:
            assert action.subscription_id is not None
            await client.update_subscription(
                action.subscription_id,
                callback_url=action.callback_url,
                event_types=action.event_types,
            )
        else:
            assert action.subscription_id is not None
            await client.delete_subscription(action.subscription_id)
        _log.info("axp.subscription." + action.step.value, subscription_id=subscription_id)


async def ensure_subscriptions(
    client: AxpClient,
    *,
    lock: AbstractAsyncContextManager[object] | None = None,
    dry_run: bool = False,
    prune_stale: bool = False,
) -> Plan:
    """List ours, plan, apply (unless `dry_run`); return the plan that was (or would be) run.

    `lock` (e.g. a store lock, later) is held around the whole list-plan-apply so that
    instances starting together do not each create a subscription. A create whose answer was
    lost (`AxpOutcomeUnknown`) is settled by listing and planning once more.
    """
    wanted = wanted_for(client.settings)
    async with lock or contextlib.nullcontext():
        p = plan(await current(client), wanted)
        if prune_stale:
            p = prune(p)
        if dry_run or p.up_to_date:
            return p
        try:
            await apply(client, p)
        except AxpOutcomeUnknown:
            _log.warning("axp.subscription.outcome_unknown")
            p = plan(await current(client), wanted)
            if prune_stale:
                p = prune(p)
            await apply(client, p)
        return p
