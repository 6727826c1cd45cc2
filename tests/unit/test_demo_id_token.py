"""The demo's sample backend (`commands/demo_id_token.py`): the tokens it signs pass the
connector's own verified-mode check under the demo's settings, and it steps aside when the
environment configures verified mode its own way."""

from __future__ import annotations

import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest

from axp_chat_connector.cli import build_parser
from axp_chat_connector.commands.demo import demo_settings
from axp_chat_connector.commands.demo_id_token import AUDIENCE, ISSUER, sample_id_token
from axp_chat_connector.config import Settings
from axp_chat_connector.sessions.identity import IdTokenPolicy, verify_id_token


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No `AXP_CHAT_*` setting but those a test sets."""
    for name in list(os.environ):
        if name.startswith("AXP_CHAT_"):
            monkeypatch.delenv(name)
    return monkeypatch


def settings_of_demo(tmp_path: Path) -> Settings:
    args = build_parser().parse_args(["demo"])
    return demo_settings(args, "http://127.0.0.1:8191", tmp_path)


def policy_of(settings: Settings) -> IdTokenPolicy:
    """The policy the connector builds from these settings (connector.py)."""
    assert settings.id_token_algorithm is not None
    assert settings.id_token_key is not None
    return IdTokenPolicy(
        algorithm=settings.id_token_algorithm,
        key=settings.id_token_key.get_secret_value(),
        issuer=settings.id_token_issuer,
        audience=settings.id_token_audience,
    )


def test_the_demo_has_guests_and_verified_customers_and_its_tokens_pass(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = settings_of_demo(tmp_path)
    assert settings.guest_mode
    assert (settings.id_token_issuer, settings.id_token_audience) == (ISSUER, AUDIENCE)
    now = time.time()
    token = sample_id_token(settings, now)
    assert token is not None
    customer = verify_id_token(token, datetime.fromtimestamp(now, UTC), policy_of(settings))
    assert customer.display_name == "Ada Lovelace"
    assert customer.identifiers == {
        "emailAddresses": ("ada.lovelace@example.com",),
        "phoneNumbers": ("+442079460042",),
    }
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300, "short-lived"
    assert settings_of_demo(tmp_path).id_token_key != settings.id_token_key, "a random key"


def test_the_environment_s_verified_mode_wins(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = secrets.token_urlsafe(32)
    environment.setenv("AXP_CHAT_ID_TOKEN_ALGORITHM", "HS256")
    environment.setenv("AXP_CHAT_ID_TOKEN_KEY", key)
    environment.setenv("AXP_CHAT_ID_TOKEN_MAX_AGE", "120")
    settings = settings_of_demo(tmp_path)
    assert settings.id_token_key is not None
    assert settings.id_token_key.get_secret_value() == key
    assert settings.id_token_issuer is None
    token = sample_id_token(settings, time.time())
    assert token is not None
    claims = jwt.decode(token, key, algorithms=["HS256"])
    assert "iss" not in claims
    assert "aud" not in claims
    assert claims["exp"] - claims["iat"] == 120, "never longer than the connector's max age"


def test_the_sample_signs_nothing_for_an_rs256_connector(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    environment.setenv("AXP_CHAT_ID_TOKEN_ALGORITHM", "RS256")
    environment.setenv("AXP_CHAT_ID_TOKEN_KEY", pem.decode())
    assert sample_id_token(settings_of_demo(tmp_path), time.time()) is None
