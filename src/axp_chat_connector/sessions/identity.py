"""Verified-mode login (PROTOCOL.md §5): check the site's `idToken` (a JWT signed by the site's
backend with an HS256 shared secret or an RS256 public key) and read the customer from its
claims. Pure: the time is passed in; PyJWT's own clock checks are off."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import jwt

from axp_chat_connector.errors import Unauthorized
from axp_chat_connector.protocol.frames import (
    DISPLAY_NAME_MAX,
    IDENTIFIER_VALUE_MAX,
    IDENTIFIER_VALUES_MAX,
    utf16_length,
)

DEFAULT_IDENTIFIER_CLAIMS: Final[Mapping[str, str]] = {
    "email": "emailAddresses",
    "phone_number": "phoneNumbers",
}


@dataclass(frozen=True, slots=True)
class IdTokenPolicy:
    """How the site signs its id tokens and which claims carry what."""

    algorithm: Literal["HS256", "RS256"]
    key: Any
    """The shared secret (HS256) or the public key, PEM text or a `cryptography` key (RS256)."""
    issuer: str | None = None
    audience: str | None = None
    leeway: timedelta = timedelta(seconds=30)
    """Clock skew allowed between the site and the connector."""
    max_age: timedelta | None = None
    """The oldest token accepted, counted from its `iat` (then required); None: no limit."""
    name_claim: str = "name"
    default_name: str = "Customer"
    """The display name when the token has no name claim."""
    identifier_claims: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_IDENTIFIER_CLAIMS)
    )
    """Claim name → Customer Journey identifier kind."""


@dataclass(frozen=True, slots=True)
class VerifiedCustomer:
    display_name: str
    identifiers: Mapping[str, tuple[str, ...]]


def verify_id_token(token: str, now: datetime, policy: IdTokenPolicy) -> VerifiedCustomer:
    """The customer an id token vouches for; `Unauthorized` saying why otherwise."""
    claims = _claims(token, now, policy)
    name = claims.get(policy.name_claim)
    if not isinstance(name, str) or not name.strip():
        name = policy.default_name
    name = _clip(name.strip(), DISPLAY_NAME_MAX)
    identifiers: dict[str, tuple[str, ...]] = {}
    for claim, kind in policy.identifier_claims.items():
        values = _values(claims.get(claim), claim)
        if values:
            identifiers[kind] = tuple(dict.fromkeys((*identifiers.get(kind, ()), *values)))
    if not identifiers:
        wanted = ", ".join(policy.identifier_claims) or "none configured"
        raise Unauthorized(f"idToken carries no identifier claim (expected one of: {wanted})")
    for kind, values in identifiers.items():
        if len(values) > IDENTIFIER_VALUES_MAX:
            raise Unauthorized(f"idToken carries more than {IDENTIFIER_VALUES_MAX} {kind}")
    return VerifiedCustomer(name, identifiers)


def _claims(token: str, now: datetime, policy: IdTokenPolicy) -> dict[str, Any]:
    options = {
        "require": ["exp", "iat"] if policy.max_age is not None else ["exp"],
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "verify_aud": policy.audience is not None,
        "verify_iss": policy.issuer is not None,
    }
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            policy.key,
            algorithms=[policy.algorithm],
            audience=policy.audience,
            issuer=policy.issuer,
            options=options,  # type: ignore[arg-type]
        )
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized(f"idToken has no {exc.claim!r} claim") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("idToken signature is invalid") from None
    except jwt.InvalidAlgorithmError:
        raise Unauthorized(f"idToken must be signed with {policy.algorithm}") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("idToken audience does not match") from None
    except jwt.InvalidIssuerError:
        raise Unauthorized("idToken issuer does not match") from None
    except jwt.PyJWTError:
        raise Unauthorized("idToken is malformed") from None
    skew = policy.leeway.total_seconds()
    moment = now.timestamp()
    expires = claims["exp"]
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise Unauthorized("idToken 'exp' claim is not a number")
    if moment >= expires + skew:
        raise Unauthorized("idToken expired")
    not_before = claims.get("nbf")
    if isinstance(not_before, int | float) and moment < not_before - skew:
        raise Unauthorized("idToken is not valid yet")
    if policy.max_age is not None:
        _check_age(claims["iat"], moment, skew, policy.max_age.total_seconds())
    return claims


def _check_age(issued: object, moment: float, skew: float, max_age: float) -> None:
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        raise Unauthorized("idToken 'iat' claim is not a number")
    if moment < issued - skew:
        raise Unauthorized("idToken is issued in the future")
    if moment - issued > max_age + skew:
        raise Unauthorized(f"idToken is older than {max_age:g} s (its 'iat')")


def _values(raw: object, claim: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise Unauthorized(f"idToken claim {claim!r} must be a string or a list of strings")
    values = tuple(v for v in items if v)
    for value in values:
        if utf16_length(value) > IDENTIFIER_VALUE_MAX:
            raise Unauthorized(f"idToken claim {claim!r} is longer than {IDENTIFIER_VALUE_MAX}")
    return values


def _clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 code units, never inside a surrogate pair."""
    if utf16_length(text) <= limit:
        return text
    units = text.encode("utf-16-le", "surrogatepass")[: 2 * limit]
    if 0xD800 <= int.from_bytes(units[-2:], "little") <= 0xDBFF:
        units = units[:-2]
    return units.decode("utf-16-le", "surrogatepass")
