"""Session tokens (PROTOCOL.md §5): a JWT signed by the connector (HS256), naming the session
and expiring (default 24 h). Pure: the time is passed in, PyJWT's own clock checks are off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

import jwt

from axp_chat_connector.errors import Unauthorized
from axp_chat_connector.protocol.ids import SessionId as SessionId  # re-exported

DEFAULT_TTL: Final = timedelta(hours=24)
AUDIENCE: Final = "axp-chat-connector/session"
ALGORITHM: Final = "HS256"
TOKEN_MAX: Final = 4096
SECRET_MIN_BYTES: Final = 32


def _key(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if len(key) < SECRET_MIN_BYTES:
        raise ValueError(f"the session token secret needs at least {SECRET_MIN_BYTES} bytes")
    return key


def issue(
    session_id: SessionId,
    now: datetime,
    secret: str | bytes,
    ttl: timedelta = DEFAULT_TTL,
) -> tuple[str, datetime]:
    """A token for `session_id`, valid from `now` for `ttl`; and when it expires."""
    expires_at = (now + ttl).astimezone(UTC)
    claims = {
        "sid": session_id,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    token = jwt.encode(claims, _key(secret), algorithm=ALGORITHM)
    return token, expires_at.replace(microsecond=0)


def verify(
    token: str, now: datetime, secret: str | bytes, previous: str | bytes | None = None
) -> SessionId:
    """The session a token names; `Unauthorized` if it is forged, malformed or expired.

    `previous`: during a rotation of the secret, the one before it: a token it signed is still
    accepted (tokens are always issued with `secret`)."""
    keys = [_key(secret)] if previous is None else [_key(secret), _key(previous)]
    if not token or len(token) > TOKEN_MAX:
        raise Unauthorized("invalid session token")
    claims = _decode(token, keys)
    session_id, expires = claims["sid"], claims["exp"]
    if not isinstance(session_id, str) or not session_id or not isinstance(expires, int):
        raise Unauthorized("invalid session token")
    if now.timestamp() >= expires:
        raise Unauthorized("session token expired")
    return SessionId(session_id)


def _decode(token: str, keys: list[bytes]) -> dict[str, object]:
    """The claims of a token signed with one of `keys` (tried in order)."""
    for key in keys:
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={
                    "require": ["sid", "exp", "aud"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            break
        return claims
    raise Unauthorized("invalid session token")
