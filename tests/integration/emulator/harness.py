"""An emulator on a real loopback port and a small AXP caller for tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import httpx

from axp_chat_connector.emulator.app import create_app
from axp_chat_connector.emulator.config import EmulatorSettings
from axp_chat_connector.emulator.contact_center import EventSink
from axp_chat_connector.emulator.runtime import Runtime
from tests.openapi_check import validate_exchange
from tests.servers import TIME_SCALE, serve_app

ACCOUNT: Final = "ABCDEF"
CHAT: Final = f"/api/digital/channel/v1/accounts/{ACCOUNT}"
HOOKS: Final = f"/api/digital/webhook/v1/accounts/{ACCOUNT}/subscriptions"
TOKEN_PATH: Final = f"/api/auth/v1/{ACCOUNT}/protocol/openid-connect/token"
APP_KEY: Final = "emulator-app-key"
CREDENTIALS: Final = {
    "grant_type": "client_credentials",
    "client_id": "axp-chat-connector",
    "client_secret": "emulator-client-secret",
}
POLL: Final = 0.02
T = TypeVar("T")
WAIT: Final = 5 * TIME_SCALE


@dataclass
class Emulator:
    base: str
    runtime: Runtime
    client: httpx.AsyncClient
    bearer: str = ""
    exchanges: list[httpx.Response] = field(default_factory=list)

    async def token(self, **form: str) -> httpx.Response:
        return await self.client.post(
            TOKEN_PATH, data={**CREDENTIALS, **form}, headers={"appkey": APP_KEY}
        )

    async def login(self) -> str:
        answer = await self.token()
        assert answer.status_code == 200, answer.text
        self.bearer = str(answer.json()["access_token"])
        return self.bearer

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        validate: bool = True,
    ) -> httpx.Response:
        """An authenticated Digital API call; its answer (and, when it succeeded, its request)
        is checked against Avaya's spec."""
        sent = {"appkey": APP_KEY, "Authorization": f"Bearer {self.bearer}", **(headers or {})}
        answer = await self.client.request(method, path, json=json, params=params, headers=sent)
        self.exchanges.append(answer)
        if validate:
            # A request the test made invalid on purpose is checked by its answer only.
            validate_exchange(answer, check_request=answer.is_success)
        return answer

    async def new_session(self, email: str = "ann@example.com", **extra: Any) -> dict[str, Any]:
        body = {
            "accountId": ACCOUNT,  # listed as required by Avaya (Q5)
            "channelProviderId": "ChatProvider01",
            "customerIdentifiers": {"emailAddresses": [email]},
            "displayName": "Ann",
            **extra,
        }
        answer = await self.call("POST", f"{CHAT}/sessions", json=body)
        assert answer.status_code == 201, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def new_engagement(self, session_id: str, **extra: Any) -> dict[str, Any]:
        body = {"sessionId": session_id, "channelId": "Chat", **extra}
        answer = await self.call("POST", f"{CHAT}/engagements", json=body)
        assert answer.status_code == 201, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def send(
        self,
        session_id: str,
        engagement: dict[str, Any],
        text: str,
        *,
        validate: bool = True,
        **extra: Any,
    ) -> httpx.Response:
        body = {
            "sessionId": session_id,
            "dialogId": engagement["dialogs"][-1]["dialogId"],
            "body": {
                "elementType": "text",
                "elementText": {"text": text, "textFormat": "PLAINTEXT"},
            },
            **extra,
        }
        path = f"{CHAT}/engagements/{engagement['engagementId']}/messages"
        return await self.call("POST", path, json=body, validate=validate)


@contextlib.asynccontextmanager
async def running(
    settings: EmulatorSettings | None = None, sink: EventSink | None = None
) -> AsyncIterator[Emulator]:
    app = create_app(settings or EmulatorSettings(allow_http_callbacks=True), dispatcher=sink)
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        yield Emulator(base=base, runtime=app.state.runtime, client=client)


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = WAIT
) -> T:
    """Run `probe` every POLL seconds until `done(result)`; the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(POLL)


async def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(POLL)
