"""The demo in a browser, over real processes (`axp-chat-connector demo`: the connector and the
AXP emulator wired together): a customer chats through the widget on the demo site while an
agent answers from the console at the emulator's /emulator/. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from tests.e2e.conftest import Demo
from tests.servers import TIME_SCALE

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

WAIT_MS: Final = 15_000 * TIME_SCALE


async def customer_says(page: Page, text: str) -> None:
    from playwright.async_api import expect

    box = page.get_by_role("textbox", name="Message")
    await box.fill(text)
    await box.press("Enter")
    # delivered: AXP accepted it and the connector echoed it back
    await expect(page.locator(".msg.customer", has_text=text)).to_contain_text(
        "Delivered", timeout=WAIT_MS
    )


async def test_a_customer_and_an_agent_chat_through_the_demo(
    demo: Demo, context: BrowserContext, artifacts: Path
) -> None:
    from playwright.async_api import expect

    customer = await context.new_page()
    await customer.goto(f"{demo.site}/index.html")
    await customer.get_by_role("button", name="Chat with Velo Verde").click()
    await customer.get_by_label("Name").fill("Ann Rider")
    await customer.get_by_label("Email").fill("ann@example.com")
    await customer.get_by_label("Phone number").fill("+442079460000")
    await customer.get_by_role("button", name="Start chat").click()
    await expect(customer.get_by_text("Waiting for an agent").first).to_be_visible(timeout=WAIT_MS)

    agent = await context.new_page()
    await agent.goto(f"{demo.emulator}/emulator/")
    card = agent.locator("li.card", has_text="Ann Rider")
    await expect(card).to_contain_text("ann@example.com", timeout=WAIT_MS)
    await expect(card).to_contain_text("+442079460000")
    await expect(card).to_contain_text("Velo Verde Cycles")
    await card.get_by_role("button", name="Accept chat with Ann Rider").click()
    await expect(customer.get_by_text("Jane Doe joined the chat")).to_be_visible(timeout=WAIT_MS)

    await customer_says(customer, "Hi, I need a cargo bike")
    transcript = agent.locator("#transcript")
    await expect(transcript).to_contain_text("Hi, I need a cargo bike", timeout=WAIT_MS)

    await agent.locator("#reply-text").fill("Happy to help! For kids or for shopping?")
    await agent.locator("#quick-replies").fill("Kids, Shopping")
    await agent.get_by_role("button", name="Send", exact=True).click()
    await expect(customer.get_by_text("For kids or for shopping?")).to_be_visible(timeout=WAIT_MS)
    await (
        customer.get_by_role("group", name="Quick replies")
        .get_by_role("button", name="Kids")
        .click()
    )
    await expect(transcript).to_contain_text("Kids", timeout=WAIT_MS)

    await agent.locator("details summary").click()
    await agent.locator("#carousel-items").fill(
        "Lastesel Cargo | carries two kids\nLong John | a box up front"
    )
    await agent.get_by_role("button", name="Send carousel").click()
    cargo = customer.get_by_role("listitem", name="1 of 2: Lastesel Cargo")
    await expect(cargo).to_be_visible(timeout=WAIT_MS)
    await cargo.get_by_role("button", name="Choose").click()
    # Both sides say which card was chosen, not "Choose".
    await expect(customer.locator(".msg.customer").last.locator(".text")).to_have_text(
        "Lastesel Cargo", timeout=WAIT_MS
    )
    chosen = transcript.locator(".msg.from-CUSTOMER").last
    await expect(chosen.locator(".text")).to_have_text("Lastesel Cargo", timeout=WAIT_MS)
    await customer.screenshot(path=artifacts / "demo-1-customer.png")
    await agent.screenshot(path=artifacts / "demo-2-agent.png", full_page=True)

    # The customer browses on: the chat follows, and the agent sees the new page.
    await customer.get_by_role("link", name="Workshop").click()
    await expect(customer.get_by_text("For kids or for shopping?")).to_be_visible(timeout=WAIT_MS)
    await expect(card).to_contain_text("Workshop and repairs", timeout=WAIT_MS)
    await customer_says(customer, "And a service for my old bike?")
    await expect(transcript).to_contain_text("And a service for my old bike?", timeout=WAIT_MS)

    await agent.get_by_role("button", name="Disconnect").click()
    await expect(customer.get_by_text("The agent ended the chat.")).to_be_visible(timeout=WAIT_MS)
    await expect(customer.get_by_role("button", name="Start a new chat")).to_be_visible()
    await customer.screenshot(path=artifacts / "demo-3-ended.png")


async def test_the_widget_falls_back_to_long_polling_when_websocket_is_blocked(
    demo: Demo, browser: Browser
) -> None:
    from playwright.async_api import WebSocketRoute, expect

    context = await browser.new_context()
    blocked: list[str] = []

    async def block(ws: WebSocketRoute) -> None:
        # A proxy that lets the upgrade through and then cuts the line.
        blocked.append(ws.url)
        await ws.close(code=1011, reason="blocked by a proxy")

    await context.route_web_socket("**/v1/ws", block)
    # and one that buffers event streams: the SDK's next choice, SSE, fails too
    await context.route("**/v1/sse*", lambda route: route.fulfill(status=502))
    polls: list[str] = []
    context.on("request", lambda r: polls.append(r.url) if "/v1/poll/" in r.url else None)
    customer = await context.new_page()
    await customer.goto(f"{demo.site}/index.html")
    await customer.get_by_role("button", name="Chat with Velo Verde").click()
    await customer.get_by_label("Name").fill("Polly Poller")
    await customer.get_by_label("Email").fill("polly@example.com")
    await customer.get_by_role("button", name="Start chat").click()
    await expect(customer.get_by_text("Waiting for an agent").first).to_be_visible(timeout=WAIT_MS)

    agent = await context.new_page()
    await agent.goto(f"{demo.emulator}/emulator/")
    card = agent.locator("li.card", has_text="Polly Poller")
    await card.get_by_role("button", name="Accept chat with Polly Poller").click(timeout=WAIT_MS)
    await expect(customer.get_by_text("Jane Doe joined the chat")).to_be_visible(timeout=WAIT_MS)
    await customer_says(customer, "Hello over long polling")
    await expect(agent.locator("#transcript")).to_contain_text(
        "Hello over long polling", timeout=WAIT_MS
    )
    await agent.locator("#reply-text").fill("Received, over long polling too")
    await agent.get_by_role("button", name="Send", exact=True).click()
    await expect(customer.get_by_text("Received, over long polling too")).to_be_visible(
        timeout=WAIT_MS
    )
    assert blocked, "the WebSocket was tried first"
    assert any("/v1/poll/events" in url for url in polls)
    assert any("/v1/poll/commands" in url for url in polls)
    await agent.get_by_role("button", name="Disconnect").click()
    await expect(customer.get_by_text("The agent ended the chat.")).to_be_visible(timeout=WAIT_MS)
    await context.close()


async def test_the_signed_in_page_chats_as_the_sample_customer(
    demo: Demo, context: BrowserContext, artifacts: Path
) -> None:
    """account.html: the widget logs in with the sample backend's id token (`/demo/id-token`),
    no form; the agent's card shows the identity the token vouches for."""
    from playwright.async_api import expect

    customer = await context.new_page()
    await customer.goto(f"{demo.site}/account.html")
    await customer.get_by_role("button", name="Chat with Velo Verde").click()
    await expect(customer.get_by_text("You are signed in as Ada Lovelace.")).to_be_visible(
        timeout=WAIT_MS
    )
    await expect(customer.get_by_label("Name")).to_be_hidden()
    await customer.screenshot(path=artifacts / "demo-4-signed-in.png")
    await customer.get_by_role("button", name="Start chat").click()
    await expect(customer.get_by_text("Waiting for an agent").first).to_be_visible(timeout=WAIT_MS)

    agent = await context.new_page()
    await agent.goto(f"{demo.emulator}/emulator/")
    card = agent.locator("li.card", has_text="Ada Lovelace")
    await expect(card).to_contain_text("ada.lovelace@example.com", timeout=WAIT_MS)
    await expect(card).to_contain_text("+442079460042")
    await expect(card).to_contain_text("My account")
    await card.get_by_role("button", name="Accept chat with Ada Lovelace").click()
    await expect(customer.get_by_text("Jane Doe joined the chat")).to_be_visible(timeout=WAIT_MS)
    await customer_says(customer, "Is my cargo bike ready?")
    await expect(agent.locator("#transcript")).to_contain_text("Is my cargo bike ready?")
