"""The agent console at /emulator/, in headless Chromium, against the real emulator: a waiting
chat appears as a work card; the agent accepts, replies (text, quick replies, a carousel) and
disconnects; the emulator's state shows each step. Screenshots go to test-artifacts/."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import httpx
import pytest
import pytest_asyncio

from tests.servers import TIME_SCALE

_POLL_INTERVAL = 0.05  # a poll interval inside a wait with a deadline

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

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
        answer = await self.http.post(
            f"{CHAT}/engagements/{self.engagement_id}/messages",
            json={
                "sessionId": self.session_id,
                "dialogId": self.dialog_id,
                "body": {
                    "elementType": "text",
                    "elementText": {"text": text, "textFormat": "PLAINTEXT"},
                },
            },
            headers=self.headers,
        )
        assert answer.status_code in (200, 201, 202), answer.text


@pytest_asyncio.fixture(loop_scope="session")
async def http(emulator_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator_url, timeout=10) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def customer(http: httpx.AsyncClient) -> Customer:
    customer = Customer(http)
    await customer.authenticate()
    return customer


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser, emulator_url: str) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1200, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{emulator_url}/emulator/")
    yield page
    await context.close()
    assert errors == [], f"errors on the console page: {errors}"


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


async def test_agent_accepts_replies_and_disconnects_from_a_work_card(
    page: Page, customer: Customer, http: httpx.AsyncClient, artifacts: Path
) -> None:
    from playwright.async_api import expect

    await customer.start_chat("Ann Example", "ann@example.com")
    await customer.say("Do you have city bikes in stock?")

    card = page.locator(f"li.card[data-engagement='{customer.engagement_id}']")
    await expect(card).to_be_visible(timeout=WAIT_MS)
    await expect(card).to_contain_text("Ann Example")
    await expect(card).to_contain_text("ann@example.com")
    await expect(card).to_contain_text("pageTitle: City bikes")
    await expect(card).to_contain_text("topic: sales")
    await expect(card).to_contain_text("waiting")
    await page.screenshot(path=artifacts / "console-1-waiting-card.png", full_page=True)

    await page.locator("#agent-name").fill("Jane Doe")
    await card.get_by_role("button", name="Accept chat with Ann Example").click()
    accepted = await eventually(
        http,
        "/emulator/v1/engagements",
        lambda body: dialog_of(body, customer.engagement_id)["dialogStatus"] == "ACTIVE",
    )
    agents = [
        c
        for c in dialog_of(accepted, customer.engagement_id)["connections"]
        if c["participantType"] == "AGENT"
    ]
    assert [a.get("displayName") for a in agents] == ["Jane Doe"]
    transcript = page.locator("#transcript")
    await expect(transcript).to_contain_text("Do you have city bikes in stock?", timeout=WAIT_MS)

    await page.locator("#reply-text").fill("Yes! Which size do you ride?")
    await page.locator("#quick-replies").fill("Small, Medium, Large")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(transcript).to_contain_text("Which size do you ride?", timeout=WAIT_MS)
    await expect(transcript).to_contain_text("buttons: Small | Medium | Large")

    await page.locator("details summary").click()
    await page.locator("#carousel-items").fill(
        "City bike | 7 gears | https://example.com/city.jpg\nCargo bike | carries two kids"
    )
    await page.get_by_role("button", name="Send carousel").click()
    await expect(transcript).to_contain_text("carousel: City bike | Cargo bike", timeout=WAIT_MS)

    messages = await eventually(
        http,
        f"/emulator/v1/engagements/{customer.engagement_id}/messages",
        lambda body: len(body["messages"]) >= 3,
    )
    agent_said = [m for m in messages["messages"] if m["senderParticipantType"] == "AGENT"]
    assert agent_said[0]["body"]["elementText"]["text"] == "Yes! Which size do you ride?"
    assert [a["text"] for a in agent_said[0]["body"]["richMediaPayload"]["actions"]] == [
        "Small",
        "Medium",
        "Large",
    ]
    items = agent_said[1]["body"]["richMediaPayload"]["items"]
    assert [i["title"] for i in items] == ["City bike", "Cargo bike"]
    assert items[0]["mediaUrl"] == "https://example.com/city.jpg"
    assert items[0]["actions"] == [{"type": "postback", "text": "Choose", "payload": "City bike"}]
    await page.screenshot(path=artifacts / "console-2-conversation.png", full_page=True)

    await page.get_by_role("button", name="Disconnect").click()
    await eventually(
        http,
        "/emulator/v1/engagements",
        lambda body: dialog_of(body, customer.engagement_id)["dialogStatus"] == "TERMINATED",
    )
    await expect(page.locator("#conversation-meta")).to_contain_text("TERMINATED", timeout=WAIT_MS)
    await expect(page.get_by_role("button", name="Disconnect")).to_be_disabled()
    await page.screenshot(path=artifacts / "console-3-disconnected.png", full_page=True)


async def test_transfer_hands_the_chat_to_another_agent(
    page: Page, customer: Customer, http: httpx.AsyncClient
) -> None:
    from playwright.async_api import expect

    await customer.start_chat("Bo", "bo@example.com")
    card = page.locator(f"li.card[data-engagement='{customer.engagement_id}']")
    await card.get_by_role("button", name="Accept chat with Bo").click()
    await expect(page.get_by_role("button", name="Transfer")).to_be_enabled(timeout=WAIT_MS)
    await page.locator("#transfer-to").fill("Sam Second")
    await page.get_by_role("button", name="Transfer").click()
    body = await eventually(
        http,
        "/emulator/v1/engagements",
        lambda body: any(
            c.get("displayName") == "Sam Second" and c["connectionState"] == "CONNECTED"
            for c in dialog_of(body, customer.engagement_id)["connections"]
        ),
    )
    assert dialog_of(body, customer.engagement_id)["dialogStatus"] == "ACTIVE"
    await expect(page.locator("#conversation-meta")).to_contain_text("Sam Second", timeout=WAIT_MS)


async def test_customer_text_is_shown_as_text_not_html(
    page: Page, customer: Customer, artifacts: Path
) -> None:
    from playwright.async_api import expect

    hostile = '<img src=x onerror="window.pwned=1">'
    await customer.start_chat(hostile, "eve@example.com")
    await customer.say("<b>bold?</b><script>window.pwned=1</script>")
    card = page.locator(f"li.card[data-engagement='{customer.engagement_id}']")
    await expect(card).to_contain_text(hostile, timeout=WAIT_MS)
    await card.get_by_role("button", name="Open").click()
    transcript = page.locator("#transcript")
    await expect(transcript).to_contain_text("<b>bold?</b><script>", timeout=WAIT_MS)
    assert await page.locator("#cards img, #transcript img, #transcript b").count() == 0
    assert await page.evaluate("window.pwned === undefined")
    await page.screenshot(path=artifacts / "console-4-escaped.png", full_page=True)
