"""The agent console at /emulator/, in headless Chromium, against the real emulator: a waiting
chat appears as a work card; the agent accepts, replies (text, quick replies, a carousel) and
disconnects; the emulator's state shows each step. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.console_kit import (
    WAIT_MS,
    Customer,
    console_page,
    customer,
    dialog_of,
    eventually,
    http,
    page,
)
from tests.e2e.widget_kit import axe_violations

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]
__all__ = ["customer", "http", "page"]  # fixtures


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
    # Identifiers and parameters as labelled fields, not raw keys.
    for label, value in [("Email", "ann@example.com"), ("Page", "City bikes"), ("Topic", "sales")]:
        await expect(card.locator("dt", has_text=label).first).to_be_visible()
        await expect(card.locator(f"dt:text-is('{label}') + dd")).to_have_text(value)
    await expect(card).not_to_contain_text("pageTitle")
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


async def test_work_cards_update_in_place_and_keep_the_focus(
    page: Page, customer: Customer, http: httpx.AsyncClient
) -> None:
    from playwright.async_api import expect

    await customer.start_chat("Kim Keys", "kim@example.com")
    card = page.locator(f"li.card[data-engagement='{customer.engagement_id}']")
    accept = card.get_by_role("button", name="Accept chat with Kim Keys")
    await accept.focus()
    waited = card.locator("dt:text-is('Waiting') + dd")
    before = await waited.text_content()
    # Polls go on (the wait time moves on screen); the focused button is the same element.
    await expect(waited).not_to_have_text(before or "", timeout=WAIT_MS)
    await expect(accept).to_be_focused()
    await page.keyboard.press("Enter")
    await eventually(
        http,
        "/emulator/v1/engagements",
        lambda body: dialog_of(body, customer.engagement_id)["dialogStatus"] == "ACTIVE",
    )
    await expect(card.get_by_role("button", name="Open chat with Kim Keys")).to_be_visible()


async def test_every_click_on_open_opens_that_chat(page: Page, http: httpx.AsyncClient) -> None:
    from playwright.async_api import expect

    names = ["Olga Open", "Otto Open"]
    for name in names:
        someone = Customer(http)
        await someone.authenticate()
        await someone.start_chat(name, f"{name.split()[0].lower()}@example.com")
    title = page.locator("#conversation-title")
    for round_ in range(8):  # the cards are polled every second meanwhile
        name = names[round_ % 2]
        await page.get_by_role("button", name=f"Open chat with {name}").click()
        await expect(title).to_have_text(f"Chat with {name}", timeout=2000)


async def test_without_a_selected_chat_there_is_no_conversation_pane(page: Page) -> None:
    from playwright.async_api import expect

    await expect(page.locator("#conversation")).to_be_hidden()
    for name in ("Accept", "Transfer", "Disconnect", "Send"):
        await expect(page.get_by_role("button", name=name, exact=True)).to_be_hidden()


async def test_a_carousel_choice_markdown_and_the_customer_leaving_read_as_the_customer_sees(
    page: Page, customer: Customer, artifacts: Path
) -> None:
    from playwright.async_api import expect

    await customer.start_chat("Cleo Choice", "cleo@example.com")
    card = page.locator(f"li.card[data-engagement='{customer.engagement_id}']")
    await card.get_by_role("button", name="Accept chat with Cleo Choice").click()
    await page.locator("#reply-format").select_option("MARKDOWN")
    await page.locator("#reply-text").fill("**Two** bikes fit:")
    await page.get_by_role("button", name="Send", exact=True).click()
    transcript = page.locator("#transcript")
    await expect(transcript.locator("strong", has_text="Two")).to_be_visible(timeout=WAIT_MS)
    await expect(transcript).not_to_contain_text("**Two**")

    await page.locator("details summary").click()
    await page.locator("#carousel-items").fill("City bike | 7 gears\nCargo bike | two kids")
    await page.get_by_role("button", name="Send carousel").click()
    await expect(transcript).to_contain_text("carousel: City bike | Cargo bike", timeout=WAIT_MS)
    # A customer whose client sent the button's bare text: the card's title is shown.
    await customer.choose("Choose", "Cargo bike")
    chosen = transcript.locator(".msg.from-CUSTOMER").last
    await expect(chosen.locator(".text")).to_have_text("Cargo bike", timeout=WAIT_MS)
    await expect(chosen).to_contain_text("payload Cargo bike")

    await customer.leave()
    await expect(transcript.locator(".system")).to_have_text(
        "Cleo Choice left the chat.", timeout=WAIT_MS
    )
    await page.screenshot(path=artifacts / "console-5-customer-left.png", full_page=True)


async def test_the_carousel_form_fits_an_800_pixel_screen(
    browser: Browser, emulator_url: str, customer: Customer
) -> None:
    from playwright.async_api import expect

    await customer.start_chat("Nina Narrow", "nina@example.com")
    async for narrow in console_page(browser, emulator_url, width=800, height=600):
        card = narrow.locator(f"li.card[data-engagement='{customer.engagement_id}']")
        await card.get_by_role("button", name="Open chat with Nina Narrow").click()
        await narrow.locator("details summary").click()
        await expect(narrow.locator("#carousel-items")).to_be_visible()
        for selector in ("#carousel-items", "#send-carousel", "label[for=carousel-items]"):
            box = await narrow.locator(selector).bounding_box()
            assert box is not None
            assert box["x"] >= 0, f"{selector} starts off screen: {box}"
            assert box["x"] + box["width"] <= 800, f"{selector} overflows: {box}"
        assert await narrow.evaluate("document.documentElement.scrollWidth") <= 800


async def test_the_console_has_no_accessibility_violations_and_a_favicon(
    page: Page, customer: Customer, emulator_url: str
) -> None:
    from playwright.async_api import expect

    assert await axe_violations(page) == [], "the empty console"
    await customer.start_chat("Axel Able", "axel@example.com")
    await customer.say("Hello, can you read me?")
    card = page.locator(f"li.card[data-engagement='{customer.engagement_id}']")
    await card.get_by_role("button", name="Accept chat with Axel Able").click()
    await expect(page.locator("#transcript")).to_contain_text("can you read me", timeout=WAIT_MS)
    await page.locator("details summary").click()
    assert await axe_violations(page) == [], "a chat open in the console"
    href = await page.locator("link[rel=icon]").get_attribute("href")
    answer = await page.request.get(f"{emulator_url}/emulator/{href}")
    assert answer.status == 200
