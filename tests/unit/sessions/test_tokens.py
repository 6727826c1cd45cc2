"""Session tokens: issued, verified, renewed; forged, expired and malformed ones refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from axp_chat_connector.errors import Unauthorized
from axp_chat_connector.sessions.tokens import (
    AUDIENCE,
    DEFAULT_TTL,
    SessionId,
    issue,
    verify,
)

SECRET = "s" * 32
NOW = datetime(2026, 11, 25, 13, 0, 0, 500_000, tzinfo=UTC)
SID = SessionId("sess-1")


def test_a_token_names_its_session_until_it_expires() -> None:
    token, expires_at = issue(SID, NOW, SECRET)
    assert expires_at == datetime(2026, 11, 26, 13, 0, 0, tzinfo=UTC)
    assert verify(token, NOW, SECRET) == SID
    assert verify(token, NOW + DEFAULT_TTL - timedelta(seconds=1), SECRET.encode()) == SID
    with pytest.raises(Unauthorized, match="session token expired"):
        verify(token, NOW + DEFAULT_TTL, SECRET)


def test_ttl_is_configurable_and_tokens_are_deterministic() -> None:
    token, expires_at = issue(SID, NOW, SECRET, ttl=timedelta(minutes=5))
    assert expires_at == datetime(2026, 11, 25, 13, 5, 0, tzinfo=UTC)
    assert issue(SID, NOW, SECRET, ttl=timedelta(minutes=5))[0] == token
    with pytest.raises(Unauthorized, match="expired"):
        verify(token, NOW + timedelta(minutes=6), SECRET)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token, _ = issue(SID, NOW, "x" * 32)
    with pytest.raises(Unauthorized, match="invalid session token"):
        verify(token, NOW, SECRET)


def test_a_tampered_token_is_refused() -> None:
    token, _ = issue(SID, NOW, SECRET)
    header, _, signature = token.split(".")
    other = jwt.encode({"sid": "sess-2", "aud": AUDIENCE, "exp": 9_999_999_999}, "y" * 32)
    forged = ".".join((header, other.split(".")[1], signature))
    with pytest.raises(Unauthorized):
        verify(forged, NOW, SECRET)


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": AUDIENCE, "exp": 9_999_999_999},  # no sid
        {"sid": "s", "aud": AUDIENCE},  # no exp
        {"sid": "s", "exp": 9_999_999_999},  # not a session token
        {"sid": "s", "aud": "elsewhere", "exp": 9_999_999_999},
        {"sid": "", "aud": AUDIENCE, "exp": 9_999_999_999},
        {"sid": 5, "aud": AUDIENCE, "exp": 9_999_999_999},
    ],
)
def test_tokens_with_wrong_claims_are_refused(claims: dict[str, object]) -> None:
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match="invalid session token"):
        verify(token, NOW, SECRET)


def test_alg_none_is_refused() -> None:
    token = jwt.encode({"sid": "s", "aud": AUDIENCE, "exp": 9_999_999_999}, "", algorithm="none")
    with pytest.raises(Unauthorized):
        verify(token, NOW, SECRET)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "x" * 5000])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(Unauthorized, match="invalid session token"):
        verify(token, NOW, SECRET)


def test_short_secrets_are_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        issue(SID, NOW, "short")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        verify("a.b.c", NOW, b"short")


def test_errors_do_not_carry_the_token() -> None:
    token, _ = issue(SID, NOW, SECRET)
    with pytest.raises(Unauthorized) as caught:
        verify(token, NOW + DEFAULT_TTL, SECRET)
    assert token not in str(caught.value)
    assert caught.value.detail is None


def test_during_a_rotation_a_token_of_the_previous_secret_is_still_accepted() -> None:
    new_secret = "n" * 32
    old_token, _ = issue(SID, NOW, SECRET)
    new_token, _ = issue(SID, NOW, new_secret)
    assert verify(old_token, NOW, new_secret, previous=SECRET) == SID
    assert verify(new_token, NOW, new_secret, previous=SECRET) == SID
    with pytest.raises(Unauthorized, match="invalid session token"):
        verify(old_token, NOW, new_secret)  # once the previous secret is dropped
    with pytest.raises(Unauthorized, match="invalid session token"):
        verify(issue(SID, NOW, "x" * 32)[0], NOW, new_secret, previous=SECRET)


def test_a_token_of_the_previous_secret_still_expires() -> None:
    old_token, _ = issue(SID, NOW, SECRET)
    with pytest.raises(Unauthorized, match="session token expired"):
        verify(old_token, NOW + DEFAULT_TTL, "n" * 32, previous=SECRET)
