"""Verified-mode login: the site's idToken (HS256 or RS256) checked, its claims read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from axp_chat_connector.errors import Unauthorized
from axp_chat_connector.sessions.identity import (
    IdTokenPolicy,
    VerifiedCustomer,
    verify_id_token,
)

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
EXP = int((NOW + timedelta(minutes=5)).timestamp())
SHARED = "site-shared-secret-of-32-bytes!!"
HS = IdTokenPolicy(algorithm="HS256", key=SHARED)
CLAIMS: dict[str, Any] = {"name": "Ann Lee", "email": "ann@example.com", "exp": EXP}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def hs(claims: Mapping[str, Any], secret: str = SHARED) -> str:
    return jwt.encode(dict(claims), secret, algorithm="HS256")


def refused(token: str, policy: IdTokenPolicy = HS, now: datetime = NOW) -> str:
    with pytest.raises(Unauthorized) as caught:
        verify_id_token(token, now, policy)
    return caught.value.message


def test_hs256_token_gives_name_and_identifiers() -> None:
    token = hs(CLAIMS | {"phone_number": "+15550100"})
    assert verify_id_token(token, NOW, HS) == VerifiedCustomer(
        "Ann Lee", {"emailAddresses": ("ann@example.com",), "phoneNumbers": ("+15550100",)}
    )


def test_rs256_token_with_issuer_and_audience(rsa_key: rsa.RSAPrivateKey) -> None:
    policy = IdTokenPolicy(
        algorithm="RS256", key=public_pem(rsa_key), issuer="https://shop", audience="chat"
    )
    claims = CLAIMS | {"iss": "https://shop", "aud": "chat"}
    token = jwt.encode(claims, rsa_key, algorithm="RS256")
    assert verify_id_token(token, NOW, policy).display_name == "Ann Lee"
    wrong_iss = jwt.encode(claims | {"iss": "https://evil"}, rsa_key, algorithm="RS256")
    assert refused(wrong_iss, policy) == "idToken issuer does not match"
    wrong_aud = jwt.encode(claims | {"aud": "other"}, rsa_key, algorithm="RS256")
    assert refused(wrong_aud, policy) == "idToken audience does not match"
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other_key, algorithm="RS256")
    assert refused(forged, policy) == "idToken signature is invalid"


def test_rs256_policy_refuses_an_hs256_token_made_with_the_public_key(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    policy = IdTokenPolicy(algorithm="RS256", key=public_pem(rsa_key))
    confused = hs(CLAIMS, secret="a-different-secret-of-32-bytes!!")
    assert refused(confused, policy) == "idToken must be signed with RS256"


def test_a_token_signed_with_another_secret_is_refused() -> None:
    assert refused(hs(CLAIMS, "another-secret-of-at-least-32-b!")) == "idToken signature is invalid"


def test_expiry_is_checked_against_the_time_passed_in_with_leeway() -> None:
    token = hs(CLAIMS)
    assert verify_id_token(token, NOW + timedelta(minutes=5, seconds=29), HS)
    assert refused(token, now=NOW + timedelta(minutes=5, seconds=30)) == "idToken expired"
    strict = IdTokenPolicy(algorithm="HS256", key=SHARED, leeway=timedelta(0))
    assert refused(token, strict, NOW + timedelta(minutes=5)) == "idToken expired"


def test_not_before_is_checked() -> None:
    token = hs(CLAIMS | {"nbf": int((NOW + timedelta(minutes=1)).timestamp())})
    assert refused(token) == "idToken is not valid yet"
    assert verify_id_token(token, NOW + timedelta(seconds=31), HS)


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"name": "A", "email": "a@b.c"}, "idToken has no 'exp' claim"),
        ({"email": "a@b.c", "exp": "tomorrow"}, "idToken 'exp' claim is not a number"),
        ({"name": "A", "exp": EXP}, "idToken carries no identifier claim"),
        ({"email": ["a@b.c", 5], "exp": EXP}, "'email' must be a string or a list of strings"),
        ({"email": {"x": 1}, "exp": EXP}, "'email' must be a string or a list of strings"),
        ({"email": "a" * 257, "exp": EXP}, "'email' is longer than 256"),
        ({"email": [f"{i}@b.c" for i in range(6)], "exp": EXP}, "more than 5 emailAddresses"),
    ],
)
def test_bad_claims_are_refused_with_a_clear_message(claims: dict[str, Any], message: str) -> None:
    assert message in refused(hs(claims))


def test_exp_as_a_boolean_is_refused() -> None:
    assert refused(hs({"email": "a@b.c", "exp": True})) == "idToken 'exp' claim is not a number"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_malformed_tokens(token: str) -> None:
    assert refused(token) == "idToken is malformed"


def test_missing_or_blank_name_uses_the_default_and_long_names_are_clipped() -> None:
    assert verify_id_token(hs({"email": "a@b.c", "exp": EXP}), NOW, HS).display_name == "Customer"
    blank = hs({"name": "  ", "email": "a@b.c", "exp": EXP})
    assert verify_id_token(blank, NOW, HS).display_name == "Customer"
    emoji = "\U0001f600"
    long_name = hs({"name": "a" + emoji * 40, "email": "a@b.c", "exp": EXP})
    assert verify_id_token(long_name, NOW, HS).display_name == "a" + emoji * 34
    even = hs({"name": "ab" + emoji * 40, "email": "a@b.c", "exp": EXP})
    assert verify_id_token(even, NOW, HS).display_name == "ab" + emoji * 34
    plain = hs({"name": "b" * 80, "email": "a@b.c", "exp": EXP})
    assert verify_id_token(plain, NOW, HS).display_name == "b" * 70


def test_claim_names_are_configurable_and_values_merge_per_kind() -> None:
    policy = IdTokenPolicy(
        algorithm="HS256",
        key=SHARED,
        name_claim="given_name",
        identifier_claims={
            "email": "emailAddresses",
            "work_email": "emailAddresses",
            "sub": "customerIds",
        },
    )
    token = hs(
        {
            "given_name": "Bo",
            "email": ["a@b.c", ""],
            "work_email": "a@b.c",
            "sub": "u-1",
            "exp": EXP,
        }
    )
    assert verify_id_token(token, NOW, policy) == VerifiedCustomer(
        "Bo", {"emailAddresses": ("a@b.c",), "customerIds": ("u-1",)}
    )


def test_no_identifier_claims_configured() -> None:
    policy = IdTokenPolicy(algorithm="HS256", key=SHARED, identifier_claims={})
    assert "none configured" in refused(hs(CLAIMS), policy)


AGED = IdTokenPolicy(algorithm="HS256", key=SHARED, max_age=timedelta(minutes=5))


def test_with_a_max_age_iat_is_required_and_checked_with_leeway() -> None:
    issued = int(NOW.timestamp())
    token = hs(CLAIMS | {"iat": issued, "exp": issued + 3600})
    assert verify_id_token(token, NOW + timedelta(minutes=5, seconds=30), AGED)
    assert refused(token, AGED, NOW + timedelta(minutes=5, seconds=31)) == (
        "idToken is older than 300 s (its 'iat')"
    )
    assert refused(hs(CLAIMS), AGED) == "idToken has no 'iat' claim"
    assert verify_id_token(hs(CLAIMS), NOW, HS), "without a max age, iat is not required"


def test_an_iat_in_the_future_or_not_a_number_is_refused() -> None:
    future = int((NOW + timedelta(minutes=1)).timestamp())
    assert refused(hs(CLAIMS | {"iat": future}), AGED) == "idToken is issued in the future"
    assert refused(hs(CLAIMS | {"iat": True}), AGED) == "idToken 'iat' claim is not a number"
