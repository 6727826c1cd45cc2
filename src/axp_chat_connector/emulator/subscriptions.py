"""Webhook subscriptions in memory, and the `SubscriptionSource` the Dispatcher reads."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from axp_chat_connector.emulator.delivery import SubscriptionTarget


@dataclass(slots=True)
class Subscription:
    subscription_id: str
    account_id: str
    channel_provider_id: str
    callback_url: str
    event_types: list[str]

    def to_json(self) -> dict[str, object]:
        return {
            "subscriptionId": self.subscription_id,
            "channelProviderId": self.channel_provider_id,
            "callbackUrl": self.callback_url,
            "eventTypes": list(self.event_types),
        }


def callback_url_problem(url: str, *, allow_http: bool) -> str | None:
    """Why `url` cannot be a callback URL, or None: https anywhere; http only on loopback and
    only when allowed."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return "must be a valid URL"
    if not host:
        return "must be an absolute https URL"
    if parts.scheme == "https":
        return None
    if parts.scheme != "http":
        return "must be an https URL"
    if not allow_http:
        return "must be an https URL"
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return "http is allowed only for loopback hosts"


class SubscriptionStore:
    def __init__(self) -> None:
        self._items: dict[str, Subscription] = {}

    def create(
        self, account_id: str, channel_provider_id: str, callback_url: str, event_types: list[str]
    ) -> Subscription:
        sub = Subscription(
            str(uuid.uuid4()), account_id, channel_provider_id, callback_url, event_types
        )
        self._items[sub.subscription_id] = sub
        return sub

    def get(self, account_id: str, subscription_id: str) -> Subscription | None:
        sub = self._items.get(subscription_id)
        return sub if sub is not None and sub.account_id == account_id else None

    def list(self, account_id: str, channel_provider_id: str | None = None) -> list[Subscription]:
        return [
            s
            for s in self._items.values()
            if s.account_id == account_id
            and (channel_provider_id is None or s.channel_provider_id == channel_provider_id)
        ]

    def delete(self, subscription: Subscription) -> None:
        self._items.pop(subscription.subscription_id, None)

    def targets(self, account_id: str, channel_provider_id: str) -> Sequence[SubscriptionTarget]:
        """The Dispatcher's `SubscriptionSource`."""
        return [
            SubscriptionTarget(s.subscription_id, s.callback_url, frozenset(s.event_types))
            for s in self.list(account_id, channel_provider_id)
        ]
