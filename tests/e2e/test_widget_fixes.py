"""Things found broken in the widget by hands-on testing (issue 17), each driven in headless
Chromium against the fake connector: the banner when the browser goes offline, a chat's
buttons after it ended, a failed send not carried into the next chat, "Start a new chat"
scrolling to the new start, "Delivered" after navigation, a carousel image that does not load,
and the favicon."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.fake_connector import FakeConnector
from tests.e2e.widget_kit import WAIT_MS, end_chat, open_demo, say, until

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

AT_ONCE_MS = 1500  # "at once": well under the SDK's own detection of a dead link


async def test_the_banner_shows_at_once_when_the_browser_goes_offline(
    chatting: tuple[FakeConnector, Page], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    connector, page = chatting
    banner = page.get_by_role("status").filter(has_text="Reconnecting")
    await expect(banner).to_be_hidden()
    await context.set_offline(True)
    try:
        await expect(banner).to_be_visible(timeout=AT_ONCE_MS)
        await say(page, "Typed while offline")
        mine = page.locator(".msg.customer", has_text="Typed while offline")
        await expect(mine).to_contain_text("Will be sent when the connection is back")
    finally:
        await context.set_offline(False)
    await expect(banner).to_be_hidden(timeout=WAIT_MS)
    await expect(mine).to_contain_text("Delivered", timeout=WAIT_MS)
    await connector.agent_says("Back online")
    await expect(page.get_by_text("Back online")).to_be_visible(timeout=WAIT_MS)


async def test_an_ended_chat_leaves_nothing_clickable_and_no_retry_for_the_next(
    chatting: tuple[FakeConnector, Page], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    connector, page = chatting
    await connector.agent_says(
        "Pick one:",
        richMedia={
            "items": [
                {"title": "Stadtrad 7", "actions": [{"type": "postback", "text": "Choose"}]},
            ]
        },
    )
    choose = page.get_by_role("listitem", name="1 of 1: Stadtrad 7").get_by_role("button")
    await expect(choose).to_be_enabled(timeout=WAIT_MS)

    await say(page, "This one fails")
    await until(lambda: bool(connector.commands_of("send")), "the send")
    failed = connector.commands_of("send")[-1]["id"]
    await connector.emit(
        connector.session,
        {"type": "message.failed", "clientMessageId": failed, "code": "axp_unavailable"},
    )
    bubble = page.locator(".msg.customer", has_text="This one fails")
    await expect(bubble.get_by_role("button", name="Retry")).to_be_visible(timeout=WAIT_MS)

    await end_chat(page)
    await expect(page.get_by_text("You ended the chat.")).to_be_visible(timeout=WAIT_MS)
    await expect(choose).to_be_disabled()
    await expect(bubble).to_contain_text("Not sent")
    await expect(bubble.get_by_role("button", name="Retry")).to_have_count(0)

    await page.get_by_role("button", name="Start a new chat").click()
    await expect(page.get_by_role("textbox", name="Message")).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_role("button", name="Retry")).to_have_count(0)


async def test_start_a_new_chat_scrolls_to_the_new_start(
    chatting: tuple[FakeConnector, Page], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    connector, page = chatting
    for n in range(25):
        await connector.agent_says(f"Line {n} of a long chat")
    await expect(page.get_by_text("Line 24 of a long chat")).to_be_visible(timeout=WAIT_MS)
    await connector.emit(connector.session, {"type": "chat.ended", "reason": "AGENT_CLOSED"})
    connector.session.chat_open = False
    await page.get_by_role("button", name="Start a new chat").click()
    await expect(page.locator(".system").last).to_have_text(
        "Chat started. Waiting for an agent…", timeout=WAIT_MS
    )
    await expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    await expect(page.locator(".system").last).to_be_in_viewport()
    at_bottom = "(log) => log.scrollHeight - log.scrollTop - log.clientHeight < 2"
    assert await page.locator(".log").evaluate(at_bottom)


async def test_delivered_labels_survive_navigation(
    chatting: tuple[FakeConnector, Page], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    _, page = chatting
    await say(page, "Sent on the first page")
    mine = page.locator(".msg.customer", has_text="Sent on the first page")
    await expect(mine).to_contain_text("Delivered", timeout=WAIT_MS)
    await page.get_by_role("link", name="Workshop").click()
    await expect(mine).to_contain_text("Delivered", timeout=WAIT_MS)


async def test_a_carousel_image_that_does_not_load_is_not_shown_broken(
    chatting: tuple[FakeConnector, Page], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    connector, page = chatting
    await connector.agent_says(
        "With and without a picture:",
        richMedia={
            "items": [
                {"title": "Pictured", "mediaUrl": "/web/demo/favicon.svg"},
                {"title": "Missing", "mediaUrl": "/web/demo/no-such-image.jpg"},
            ]
        },
    )
    await expect(page.get_by_role("listitem", name="2 of 2: Missing")).to_be_visible(
        timeout=WAIT_MS
    )
    await expect(page.get_by_role("listitem", name="2 of 2: Missing").locator("img")).to_have_count(
        0, timeout=WAIT_MS
    )
    await expect(
        page.get_by_role("listitem", name="1 of 2: Pictured").locator("img")
    ).to_have_count(1)


async def test_the_demo_pages_have_a_favicon(
    fake: tuple[FakeConnector, str], context: BrowserContext
) -> None:
    _, base = fake
    for name in ("index.html", "page2.html"):
        page = await open_demo(context, base, name)
        href = await page.locator("link[rel=icon]").get_attribute("href")
        assert href, f"{name} names no icon"
        answer = await page.request.get(f"{base}/web/demo/{href}")
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("image/")
        await page.close()
