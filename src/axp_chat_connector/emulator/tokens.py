"""Opaque access and refresh tokens with a lifetime, per account."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class TokenCheck(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Grant:
    account_id: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int


class TokenStore:
    """Access tokens live `ttl` seconds; refresh tokens twice that and are used once."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}

    def issue(self, account_id: str) -> IssuedTokens:
        self._purge()
        now = self._clock()
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32)
        self._access[access] = Grant(account_id, now + self._ttl)
        self._refresh[refresh] = Grant(account_id, now + 2 * self._ttl)
        return IssuedTokens(access, refresh, max(1, round(self._ttl)))

    def check(self, token: str) -> tuple[TokenCheck, str | None]:
        grant = self._access.get(token)
        if grant is None:
            return TokenCheck.UNKNOWN, None
        if self._clock() >= grant.expires_at:
            return TokenCheck.EXPIRED, grant.account_id
        return TokenCheck.VALID, grant.account_id

    def redeem_refresh(self, token: str, account_id: str) -> bool:
        """Use a refresh token of `account_id` (once); False if unknown, used or expired."""
        grant = self._refresh.pop(token, None)
        return (
            grant is not None
            and grant.account_id == account_id
            and self._clock() < grant.expires_at
        )

    def _purge(self) -> None:
        # Expired tokens are kept for one more lifetime so they answer "expired", not "unknown".
        horizon = self._clock() - 2 * self._ttl
        for table in (self._access, self._refresh):
            for token in [t for t, g in table.items() if g.expires_at < horizon]:
                del table[token]
