"""The session layer's settings: one frozen value built by the composition root from the one
validated `Settings` (`connector.service_config`). No field has a default of its own, so
nothing here can disagree with `Settings`; the few knobs `Settings` does not expose are the
named constants below, which `service_config` passes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from axp_chat_connector.sessions.identity import IdTokenPolicy

TOKEN_RENEW_BEFORE: Final = timedelta(hours=1)
"""A fresh session token goes out this long before the current one expires (at most)."""
DEDUPE_TTL: Final = 86400.0
"""How long a webhook event (and a send's settlement) is remembered as seen (s)."""
IDEMPOTENCY_TTL: Final = 86400.0
"""How long a command's answer is kept for a repeat with the same id (s)."""
OUTBOX_LEASE: Final = 30.0
"""How long an outbox worker owns a dialog's head item before another may take it (s)."""
OUTBOX_MAX_ATTEMPTS: Final = 8
OUTBOX_BACKOFF_BASE: Final = 0.5
OUTBOX_BACKOFF_MAX: Final = 30.0
SETTLE_WAIT: Final = 3.0
"""After a lost Send Message answer: wait this long for AXP's callback before looking (s)."""
ENDED_SESSION_KEEP: Final = 3600.0
"""An ended session (and its events) is purged this long after it ended (s)."""
SWEEP_INTERVAL: Final = 0.5
"""Seconds between the sweeper's passes over due timers."""


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    token_secret: str
    token_secret_previous: str | None
    """During a rotation: the secret before `token_secret`, still accepted (never signs)."""
    token_ttl: timedelta
    token_renew_before: timedelta
    guest_mode: bool
    id_token_policy: IdTokenPolicy | None
    identifier_kinds: frozenset[str]
    heartbeat: int
    chat_idle_timeout: float
    idle_warning: float
    session_idle_timeout: float
    hold_window: float
    park_ttl: float
    dedupe_ttl: float
    idempotency_ttl: float
    outbox_lease: float
    outbox_max_attempts: int
    outbox_backoff_base: float
    outbox_backoff_max: float
    settle_wait: float
    ended_session_keep: float
    sweep_interval: float
    history_max_pages: int = 5
    """AXP List Messages pages one `history` command reads at most."""
