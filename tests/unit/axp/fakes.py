"""Test doubles for the AXP client's unit tests: a clock, a sleep, a scripted AXP."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from axp_chat_connector.config import Settings

BASE = "https://axp.test"
TOKEN_URL = f"{BASE}/api/auth/v1/ABCDEF/protocol/openid-connect/token"
CHANNEL = f"{BASE}/api/digital/channel/v1/accounts/ABCDEF"
WEBHOOK = f"{BASE}/api/digital/webhook/v1/accounts/ABCDEF"
SESSION_ID = "11111111-2222-4333-8444-555555555555"
DIALOG_ID = "66666666-7777-4888-9999-000000000000"
ENGAGEMENT_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
PUBLIC_URL = "https://chat.connector.test"
CALLBACK_SECRET = "Zq8v0Lr3Tn6Wm1Yb4Hc7Jd2Kf5Gs9Pa0XtEuRiOp"


def settings(**overrides: Any) -> Settings:
    """Settings for a scripted AXP at BASE, with short backoffs so tests stay fast."""
    values: dict[str, Any] = {
        "public_url": PUBLIC_URL,
        "callback_secret": CALLBACK_SECRET,
        "axp_backoff_base": 0.01,
        "axp_backoff_max": 0.05,
        "axp_token_backoff_base": 0.05,
        "axp_token_backoff_max": 0.1,
        "axp_retry_deadline": 5.0,
        "axp_attempt_timeout": 2.0,
    }
    values.update(overrides)
    return Settings.for_emulator(BASE, **values)


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeSleep:
    """Records each delay and moves the fake clock on by it; never really waits."""

    clock: FakeClock
    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.now += seconds


Handler = Callable[[httpx.Request], httpx.Response]


def token_response(token: str = "tok-1", expires_in: int = 900) -> httpx.Response:  # noqa: S107
    return httpx.Response(200, json={"access_token": token, "expires_in": expires_in})


def problem(status: int, title: str = "Oops", **extra: Any) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"content-type": "application/problem+json"},
        content=json.dumps({"type": "about:blank", "title": title, "status": status, **extra}),
    )


@dataclass
class ScriptedAxp:
    """A MockTransport handler: tokens are always issued; API answers come from a script.

    `script` holds responses (or exceptions to raise) for API calls, used in order; when it
    runs out, `default` answers.
    """

    default: Handler
    script: list[httpx.Response | Exception] = field(default_factory=list)
    api_requests: list[httpx.Request] = field(default_factory=list)
    token_requests: list[httpx.Request] = field(default_factory=list)
    tokens_issued: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            self.token_requests.append(request)
            self.tokens_issued += 1
            return token_response(f"tok-{self.tokens_issued}")
        self.api_requests.append(request)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            return step
        return self.default(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def session_json(session_id: str = SESSION_ID) -> dict[str, Any]:
    return {
        "sessionId": session_id,
        "accountId": "ABCDEF",
        "channelProviderId": "axp-chat-connector",
        "sessionStatus": "ACTIVE",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "lastUpdatedAt": "2026-01-01T00:00:00.000Z",
        "url": f"/api/digital/channel/v1/sessions/{session_id}",
    }


def ok_session(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=session_json())
