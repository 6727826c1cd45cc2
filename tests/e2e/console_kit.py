"""What the console's browser tests share: the customer's side through the emulator's Custom
Chat API (as the connector calls it), the console page, and waiting on the emulator's state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Final

import httpx
import pytest_asyncio

from tests.servers import TIME_SCALE

_POLL_INTERVAL = 0.05  # a poll interval inside a wait with a deadline

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

ACCOUNT: Final = "ABCDEF"
CHAT: Final = f"/api/digital/channel/v1/accounts/{ACCOUNT}"
APP_KEY: Final = "emulator-app-key"
WAIT: Final = 10 * TIME_SCALE
WAIT_MS: Final = WAIT * 1000


class Customer:
    """A customer's side, through the emulator's Custom Chat API (as the connector calls it)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.headers: dict[str, str] = {"appkey": APP_KEY}
        self.session_id = ""
        self.engagement_id = ""
        self.dialog_id = ""

    async def authenticate(self) -> None:
        answer = await self.http.post(
            f"/api/auth/v1/{ACCOUNT}/protocol/openid-connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "axp-chat-connector",
                "client_secret": "emulator-client-secret",
            },
            headers={"appkey": APP_KEY},
        )
        assert answer.status_code == 200, answer.text
        self.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    async def start_chat(self, name: str, email: str) -> None:
        session = await self.http.post(
            f"{CHAT}/sessions",
            json={
                "accountId": ACCOUNT,
                "channelProviderId": "ChatProvider01",
                "customerIdentifiers": {"emailAddresses": [email]},
                "displayName": name,
                "sessionParameters": {"pageTitle": "City bikes", "pageUrl": "https://shop/bikes"},
            },
            headers=self.headers,
        )
        assert session.status_code == 201, session.text
        self.session_id = session.json()["sessionId"]
        engagement = await self.http.post(
            f"{CHAT}/engagements",
            json={
                "sessionId": self.session_id,
                "channelId": "Chat",
                "engagementParameters": {"topic": "sales"},
            },
            headers=self.headers,
        )
        assert engagement.status_code == 201, engagement.text
        self.engagement_id = engagement.json()["engagementId"]
        self.dialog_id = engagement.json()["dialogs"][-1]["dialogId"]

    async def say(self, text: str) -> None:
        await self.send(
            {"elementType": "text", "elementText": {"text": text, "textFormat": "PLAINTEXT"}}
        )

    async def choose(self, text: str, payload: str) -> None:
        """A postback, as the connector sends one (the button's text and its payload)."""
        await self.send(
            {
                "elementType": "postback",
                "elementText": {"text": text, "textFormat": "PLAINTEXT"},
                "payload": payload,
            }
        )

    async def send(self, body: dict[str, Any]) -> None:
        answer = await self.http.post(
            f"{CHAT}/engagements/{self.engagement_id}/messages",
            json={"sessionId": self.session_id, "dialogId": self.dialog_id, "body": body},
            headers=self.headers,
        )
        assert answer.status_code in (200, 201, 202), answer.text

    async def leave(self) -> None:
        """The customer ends the chat."""
        answer = await self.http.post(
            f"{CHAT}/engagements/{self.engagement_id}:disconnect",
            json={"sessionId": self.session_id, "dialogId": self.dialog_id},
            headers=self.headers,
        )
        assert answer.status_code == 200, answer.text


@pytest_asyncio.fixture(loop_scope="session")
async def http(emulator_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator_url, timeout=10) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def customer(http: httpx.AsyncClient) -> Customer:
    customer = Customer(http)
    await customer.authenticate()
    return customer


async def console_page(
    browser: Browser, emulator_url: str, width: int = 1200, height: int = 800
) -> AsyncIterator[Page]:
    """The console in a context of its own; the test fails if the page throws."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{emulator_url}/emulator/")
    yield page
    await context.close()
    assert errors == [], f"errors on the console page: {errors}"


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser, emulator_url: str) -> AsyncIterator[Page]:
    async for console in console_page(browser, emulator_url):
        yield console


async def eventually(
    http: httpx.AsyncClient, path: str, done: Callable[[Any], bool], timeout: float = WAIT
) -> Any:
    """GET `path` until `done(json)` holds; its last JSON."""
    deadline = time.monotonic() + timeout
    while True:
        body = (await http.get(path)).json()
        if done(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never met the condition; last: {body}")
        await asyncio.sleep(_POLL_INTERVAL)


def dialog_of(engagements: Any, engagement_id: str) -> dict[str, Any]:
    engagement = next(e for e in engagements["engagements"] if e["engagementId"] == engagement_id)
    dialog: dict[str, Any] = engagement["dialogs"][-1]
    return dialog
