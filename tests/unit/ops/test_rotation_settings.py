"""Secret rotation settings: the previous callback and session-token secrets reach the parts
that verify with them, and are validated like the current ones."""

from __future__ import annotations

import secrets

import pytest

from axp_chat_connector.config import SettingsError
from axp_chat_connector.connector import random_token_secret, service_config, webhook_receiver
from tests.unit.axp.fakes import CALLBACK_SECRET, settings


async def _handler(body: dict[str, object], started: float) -> str:
    return "appended"


def test_the_previous_callback_secret_is_accepted_beside_the_current_one() -> None:
    previous = secrets.token_urlsafe(32)
    receiver = webhook_receiver(settings(callback_secret_previous=previous), _handler)
    assert receiver._authentic(CALLBACK_SECRET)
    assert receiver._authentic(previous)
    assert not receiver._authentic(secrets.token_urlsafe(32))
    assert not webhook_receiver(settings(), _handler)._authentic(previous)


def test_the_previous_session_token_secret_reaches_the_session_layer() -> None:
    previous = random_token_secret()
    config = service_config(settings(session_token_secret_previous=previous), "n" * 48)
    assert (config.token_secret, config.token_secret_previous) == ("n" * 48, previous)
    assert service_config(settings(), "n" * 48).token_secret_previous is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("callback_secret_previous", "short"), ("session_token_secret_previous", "x" * 8)],
)
def test_a_weak_previous_secret_is_refused(field: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"AXP_CHAT_{field.upper()}: expected at least"):
        settings(**{field: value})
