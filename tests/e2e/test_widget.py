"""The chat widget and the SDK in headless Chromium, against a fake connector (tests/e2e/
fake_connector.py) until the real one is ready: the pre-chat form, rich messages, escaping,
navigation resuming the session, reconnecting without duplicates, two tabs on one connection,
and the long-polling fallback. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.fake_connector import FakeConnector
from tests.e2e.widget_kit import LAUNCHER, WAIT_MS, end_chat, open_demo, start_chat, until

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


async def test_prechat_form_then_a_chat_with_rich_messages(
    fake: tuple[FakeConnector, str], context: BrowserContext, artifacts: Path
) -> None:
    from playwright.async_api import expect

    connector, base = fake
    page = await open_demo(context, base)
    await page.get_by_role("button", name=LAUNCHER).click()
    await page.get_by_role("button", name="Start chat").click()
    # Every wrong field says so beside it, all at once; focus goes to the first.
    await expect(page.get_by_label("Name")).to_be_focused()
    await expect(page.get_by_label("Name")).to_have_accessible_description(
        "Please enter your name."
    )
    await expect(page.get_by_label("Email")).to_have_accessible_description(
        "Please enter a valid email address."
    )
    await expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_role("alert").first).to_contain_text("check the fields")
    await page.screenshot(path=artifacts / "widget-1-prechat.png")
    await page.get_by_role("button", name="Minimize chat").click()
    await start_chat(page, connector)

    login = connector.commands_of("login")[0]
    assert login["customer"] == {
        "displayName": "Ann Rider",
        "identifiers": {
            "emailAddresses": ["ann@example.com"],
            "phoneNumbers": ["+44 20 7946 0000"],
        },
    }
    assert login["parameters"]["pageTitle"].startswith("Velo Verde Cycles")
    assert login["parameters"]["pageUrl"].endswith("/web/demo/index.html")

    await connector.agent_joins("Jane Doe")
    await expect(page.get_by_text("Jane Doe joined the chat")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator(".subtitle")).to_have_text("Chatting with Jane Doe")

    await connector.emit(
        connector.session, {"type": "typing", "from": {"id": "agent-1"}}, durable=False
    )
    await expect(page.get_by_text("Jane Doe is typing…")).to_be_visible(timeout=WAIT_MS)

    await connector.agent_says(
        "Which size do you ride?",
        richMedia={
            "actions": [{"type": "reply", "text": s, "payload": s} for s in ("S", "M", "L")]
        },
    )
    await page.get_by_role("group", name="Quick replies").get_by_role("button", name="M").click()
    await until(lambda: any("reply" in c for c in connector.commands_of("send")), "the reply")
    reply = next(c for c in connector.commands_of("send") if "reply" in c)
    assert reply["reply"] == {"text": "M", "payload": "M"}
    await expect(page.get_by_role("group", name="Quick replies")).to_have_count(0)

    await connector.agent_says(
        "Two that fit:",
        richMedia={
            "items": [
                {
                    "title": "Stadtrad 7",
                    "description": "7 gears",
                    "actions": [{"type": "postback", "text": "Choose", "payload": "stadtrad"}],
                },
                {
                    "title": "Lastesel Cargo",
                    "actions": [{"type": "postback", "text": "Choose", "payload": "cargo"}],
                },
            ]
        },
    )
    card = page.get_by_role("listitem", name="2 of 2: Lastesel Cargo")
    await card.get_by_role("button", name="Choose").click()
    await until(lambda: any("postback" in c for c in connector.commands_of("send")), "postback")
    postback = next(c for c in connector.commands_of("send") if "postback" in c)
    # The card's title says what was chosen (not the button's "Choose"), on both sides.
    assert postback["postback"] == {"text": "Lastesel Cargo", "payload": "cargo"}
    await expect(page.locator(".msg.customer").last.locator(".text")).to_have_text("Lastesel Cargo")

    await connector.agent_says(
        "**Bold** and [our shop](https://velo.example/shop) <img src=x onerror=window.pwned=1>",
        format="MARKDOWN",
    )
    await expect(page.locator(".msg.agent strong", has_text="Bold")).to_be_visible(timeout=WAIT_MS)
    link = page.get_by_role("link", name="our shop")
    assert await link.get_attribute("rel") == "noopener noreferrer"
    await expect(page.locator(".msg.agent").last).to_contain_text("<img src=x onerror")
    await connector.agent_says(
        "Here we are",
        elementType="location",
        richMedia={
            "coordinates": {"lat": 51.5, "long": -0.1},
            "location": {"name": "Velo Verde", "address": "12 Canal St"},
        },
    )
    await expect(page.get_by_role("link", name="Velo Verde", exact=True)).to_be_visible(
        timeout=WAIT_MS
    )
    await connector.agent_says(
        "Your invoice",
        elementType="file",
        attachments=[
            {
                "attachmentId": "a" * 36,
                "name": "invoice.pdf",
                "size": 20480,
                "contentType": "application/pdf",
                "url": "https://files.example/invoice.pdf",
            }
        ],
    )
    await expect(page.get_by_role("link", name="invoice.pdf (20 KB)")).to_be_visible(
        timeout=WAIT_MS
    )

    message = page.get_by_role("textbox", name="Message")
    await message.fill("<b>not bold</b> thanks!")
    await message.press("Enter")
    mine = page.locator(".msg.customer", has_text="<b>not bold</b> thanks!")
    await expect(mine).to_contain_text("Delivered", timeout=WAIT_MS)
    assert await page.locator(".msg b, .msg img, .msg script").count() == 0
    assert await page.evaluate("window.pwned === undefined")

    await connector.emit(connector.session, {"type": "chat.idle", "endsAt": "2099-01-01T00:00:00Z"})
    await expect(page.get_by_text("Are you still there?")).to_be_visible(timeout=WAIT_MS)
    await page.screenshot(path=artifacts / "widget-2-chat.png")
    await page.get_by_role("button", name="Yes, I'm here").click()
    await expect(page.get_by_text("Are you still there?")).to_be_hidden()

    await page.get_by_role("button", name="End chat").click()
    await page.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("button", name="End chat")).to_be_focused()
    assert connector.commands_of("end") == [], "nothing ends before the customer confirms"
    await end_chat(page)
    await expect(page.get_by_text("You ended the chat.")).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()
    assert len(connector.commands_of("end")) == 1
    await page.screenshot(path=artifacts / "widget-3-ended.png")


async def test_navigation_resumes_the_session_and_reports_the_new_page(
    fake: tuple[FakeConnector, str], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    connector, base = fake
    page = await open_demo(context, base)
    await start_chat(page, connector)
    await connector.agent_joins()
    await connector.agent_says("Hello Ann!")
    await expect(page.get_by_text("Hello Ann!")).to_be_visible(timeout=WAIT_MS)

    await page.get_by_role("link", name="Workshop").click()
    await expect(page.get_by_text("Hello Ann!")).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    assert len(connector.commands_of("login")) == 1
    await until(lambda: bool(connector.commands_of("context")), "context")
    context_params = connector.commands_of("context")[-1]["parameters"]
    assert context_params["pageTitle"].startswith("Workshop and repairs")
    assert context_params["pageUrl"].endswith("/web/demo/page2.html")
    assert await page.get_by_text("Hello Ann!").count() == 1

    # A transfer: the agent leaves, another joins; the chat stays open.
    who = {"id": "agent-1", "type": "AGENT", "name": "Jane Doe"}
    await connector.emit(connector.session, {"type": "participant.left", "participant": who})
    await expect(page.get_by_text("Jane Doe left the chat")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator(".subtitle")).to_have_text("Waiting for an agent…")
    bob = {"id": "agent-2", "type": "AGENT", "name": "Bob Second"}
    await connector.emit(connector.session, {"type": "participant.joined", "participant": bob})
    await expect(page.locator(".subtitle")).to_have_text("Chatting with Bob Second")
    await expect(page.get_by_role("textbox", name="Message")).to_be_enabled()


async def test_a_dropped_connection_resumes_and_a_send_is_not_doubled(
    fake: tuple[FakeConnector, str], context: BrowserContext, artifacts: Path
) -> None:
    from playwright.async_api import expect

    connector, base = fake
    page = await open_demo(context, base)
    await start_chat(page, connector)
    await connector.agent_says("Before the drop")
    await expect(page.get_by_text("Before the drop")).to_be_visible(timeout=WAIT_MS)

    connector.cut_after_next = "send"  # the connector gets the send, then the line goes dead
    message = page.get_by_role("textbox", name="Message")
    await message.fill("Are you there?")
    await message.press("Enter")
    mine = page.locator(".msg.customer", has_text="Are you there?")
    await expect(mine).to_contain_text("Delivered", timeout=WAIT_MS)
    sends = [c for c in connector.commands_of("send") if c.get("text") == "Are you there?"]
    assert len(sends) == 2
    assert sends[0]["id"] == sends[1]["id"], "sent again with the same id"
    assert [e for e in connector.executed if e.get("text") == "Are you there?"] == [sends[0]]
    assert len(connector.commands_of("resume")) >= 1

    await connector.drop_connections()
    await connector.agent_says("After the drop")
    await expect(page.get_by_text("After the drop")).to_be_visible(timeout=WAIT_MS)
    assert await page.get_by_text("Before the drop").count() == 1
    assert await page.locator(".msg.customer", has_text="Are you there?").count() == 1
    await expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_hidden()
    await page.screenshot(path=artifacts / "widget-4-after-reconnect.png")


async def test_two_tabs_share_one_connection_and_the_second_takes_over(
    fake: tuple[FakeConnector, str], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    connector, base = fake
    first = await open_demo(context, base)
    await start_chat(first, connector)
    await until(lambda: connector.open_websockets == 1, "one connection")

    second = await open_demo(context, base, "page2.html")
    await second.get_by_role("button", name=LAUNCHER).click()
    await expect(second.get_by_role("textbox", name="Message")).to_be_visible(timeout=WAIT_MS)
    await connector.agent_says("Seen in both tabs")
    await expect(first.get_by_text("Seen in both tabs")).to_be_visible(timeout=WAIT_MS)
    await expect(second.get_by_text("Seen in both tabs")).to_be_visible(timeout=WAIT_MS)

    message = second.get_by_role("textbox", name="Message")
    await message.fill("Sent from the second tab")
    await message.press("Enter")
    await expect(first.get_by_text("Sent from the second tab")).to_be_visible(timeout=WAIT_MS)
    await expect(
        second.locator(".msg.customer", has_text="Sent from the second tab")
    ).to_contain_text("Delivered", timeout=WAIT_MS)
    assert connector.open_websockets == 1
    assert connector.websocket_opened == 1
    assert len(connector.commands_of("login")) == 1

    await first.close()
    await until(lambda: connector.websocket_opened == 2, "the second tab's own connection")
    await connector.agent_says("Only the second tab is left")
    await expect(second.get_by_text("Only the second tab is left")).to_be_visible(timeout=WAIT_MS)
    assert await second.get_by_text("Seen in both tabs").count() == 1


async def test_falls_back_to_long_polling_when_websocket_is_blocked(
    fake: tuple[FakeConnector, str], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    connector, base = fake
    connector.websocket_blocked = True
    page = await open_demo(context, base)
    await start_chat(page, connector)
    assert connector.websocket_opened == 0
    await connector.agent_joins()
    await connector.agent_says("Hello over long polling")
    await expect(page.get_by_text("Hello over long polling")).to_be_visible(timeout=WAIT_MS)
    message = page.get_by_role("textbox", name="Message")
    await message.fill("Polling works")
    await message.press("Enter")
    await expect(page.locator(".msg.customer", has_text="Polling works")).to_contain_text(
        "Delivered", timeout=WAIT_MS
    )
    assert connector.poll_requests > 0


async def test_keyboard_use_and_a_phone_sized_screen(
    fake: tuple[FakeConnector, str], browser: Browser, artifacts: Path
) -> None:
    from playwright.async_api import expect

    _, base = fake
    phone = await browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True)
    page = await phone.new_page()
    await page.goto(f"{base}/web/demo/index.html")
    launcher = page.get_by_role("button", name=LAUNCHER)
    await launcher.focus()
    await page.keyboard.press("Enter")
    # On a phone the open window covers the page, the launcher included.
    await expect(page.locator(".launcher")).to_have_attribute("aria-expanded", "true")
    await expect(page.get_by_label("Name")).to_be_focused()
    dialog = page.get_by_role("dialog", name="Chat with Velo Verde")
    box = await dialog.bounding_box()
    assert box is not None
    assert box["width"] == 375, "the chat window takes the whole width of a phone"
    await page.screenshot(path=artifacts / "widget-5-phone.png")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(launcher).to_be_focused()
    await phone.close()
