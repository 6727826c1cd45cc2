"""The widget's language, direction and theme, and what a customer expects of a chat window, in
headless Chromium against the fake connector: the language from `data-locale` or the page's,
Arabic right to left (axe-clean too), brand colour, title, launcher side and logo from `data-`
attributes and from `setTheme()`, message times, grouped bubbles, the transcript download.
Screenshots go to test-artifacts/ (docs/images/ holds copies of some)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import WEB
from tests.e2e.fake_connector import FakeConnector
from tests.e2e.widget_kit import WAIT_MS, axe_violations, end_chat, start_chat, until

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page, Route

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

DEMO = (WEB / "demo" / "index.html").read_text(encoding="utf-8")
SCRIPT_TAG = re.compile(r'<script src="\.\./widget/widget\.js"[^>]*>')


async def variant(context: BrowserContext, base: str, name: str, lang: str, attrs: str) -> Page:
    """The demo page served as `/web/demo/<name>`, with another `lang` and widget attributes."""
    html = DEMO.replace('<html lang="en">', f'<html lang="{lang}">')
    html = SCRIPT_TAG.sub(f'<script src="../widget/widget.js" {attrs} defer>', html)

    async def serve(route: Route) -> None:
        await route.fulfill(body=html, content_type="text/html; charset=utf-8")

    await context.route(f"{base}/web/demo/{name}", serve)
    page = await context.new_page()
    await page.goto(f"{base}/web/demo/{name}")
    return page


async def left_edge(page: Page, selector: str) -> float:
    """Where the element starts, in px from the left of the viewport."""
    box = await page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["x"]


async def test_the_language_comes_from_data_locale_or_the_page(
    fake: tuple[FakeConnector, str], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    _, base = fake
    german = await variant(context, base, "de.html", "de-AT", 'data-fields="phone:Telefon"')
    await german.get_by_role("button", name="Chatten Sie mit uns").click()
    await expect(german.get_by_role("button", name="Chat beginnen")).to_be_visible()
    await expect(german.get_by_label("E-Mail")).to_be_visible()
    french = await variant(context, base, "fr.html", "en", 'data-locale="fr"')
    await french.get_by_role("button", name="Discutez avec nous").click()
    await expect(french.get_by_role("button", name="Commencer")).to_be_visible()
    spanish = await variant(context, base, "es.html", "es", "")
    await expect(spanish.get_by_role("button", name="Chatea con nosotros")).to_be_visible()
    unknown = await variant(context, base, "xx.html", "tlh", "")
    await expect(unknown.get_by_role("button", name="Chat with us")).to_be_visible()


async def test_arabic_is_right_to_left_and_accessible(
    fake: tuple[FakeConnector, str], context: BrowserContext, artifacts: Path
) -> None:
    from playwright.async_api import expect

    connector, base = fake
    page = await variant(context, base, "ar.html", "ar", 'data-title="تحدث مع فيلو فيردي"')
    launcher = page.get_by_role("button", name="تحدث مع فيلو فيردي")
    assert await left_edge(page, ".launcher") < 550, "the launcher sits at the left in RTL"
    await launcher.click()
    await page.get_by_label("الاسم").fill("ليلى")
    await page.get_by_label("البريد الإلكتروني").fill("layla@example.com")
    await page.get_by_role("button", name="بدء المحادثة").click()
    await until(lambda: bool(connector.commands_of("start")), "start")
    await connector.agent_joins("سارة")
    await expect(page.get_by_text("انضم سارة إلى المحادثة")).to_be_visible(timeout=WAIT_MS)
    await connector.agent_says("مرحبًا! كيف يمكنني مساعدتك؟")
    box = page.get_by_role("textbox", name="الرسالة")
    await box.fill("أبحث عن دراجة شحن")
    await box.press("Enter")
    mine = page.locator(".msg.customer")
    await expect(mine).to_contain_text("وصلت", timeout=WAIT_MS)
    agent = await left_edge(page, ".msg.agent")
    customer = await left_edge(page, ".msg.customer")
    assert agent > customer, "the agent speaks from the right, the customer from the left"
    assert await page.locator(".frame").evaluate("(f) => getComputedStyle(f).direction") == "rtl"
    assert await axe_violations(page) == [], "Arabic, right to left"
    await page.screenshot(path=artifacts / "widget-arabic-rtl.png")


async def test_a_theme_from_data_attributes_and_from_set_theme(
    fake: tuple[FakeConnector, str], context: BrowserContext, artifacts: Path
) -> None:
    from playwright.async_api import expect

    connector, base = fake
    attrs = (
        'data-title="Ask the workshop" data-color="#5b21b6" data-position="left" '
        'data-logo="favicon.svg" data-fields="phone:Phone number"'
    )
    page = await variant(context, base, "themed.html", "en", attrs)
    launcher = page.get_by_role("button", name="Ask the workshop")
    await expect(launcher).to_be_visible()
    assert await left_edge(page, ".launcher") < 100, "the launcher is on the left"
    colour = await page.locator(".launcher").evaluate("(b) => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(91, 33, 182)"
    await expect(page.locator(".launcher img.logo")).to_be_visible()
    await start_chat(page, connector, launcher="Ask the workshop")
    await connector.agent_says("Hi! Bring it by any time before six.")
    await expect(page.locator("header img.logo")).to_be_visible(timeout=WAIT_MS)
    assert await axe_violations(page) == [], "re-themed"
    await page.screenshot(path=artifacts / "widget-themed.png")

    await page.evaluate(
        "window.axpChatWidget.setTheme({ color: '#fbbf24', title: 'Help desk', position: 'right' })"
    )
    await expect(page.get_by_role("heading", name="Help desk")).to_be_visible()
    await page.get_by_role("button", name="Minimize chat").click()
    assert await left_edge(page, ".launcher") > 800, "moved to the right"
    fg = await page.locator(".launcher").evaluate("(b) => getComputedStyle(b).color")
    assert fg == "rgb(17, 17, 17)", "dark text on a light brand colour"


async def test_times_grouping_and_the_transcript(
    chatting: tuple[FakeConnector, Page], context: BrowserContext, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    connector, page = chatting
    await connector.agent_joins()
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    await connector.emit(
        connector.session,
        {
            "type": "message",
            "messageId": "five-minutes-ago",
            "at": earlier,
            "from": {"id": "agent-1", "type": "AGENT", "name": "Jane Doe"},
            "text": "Said five minutes ago",
        },
    )
    await connector.agent_says("And a second line")
    first = page.locator(".msg.agent", has_text="Said five minutes ago")
    second = page.locator(".msg.agent", has_text="And a second line")
    await expect(second).to_be_visible(timeout=WAIT_MS)
    stamp = first.locator("time")
    await expect(stamp).to_contain_text("5 min. ago")
    full = await stamp.get_attribute("title")
    assert full is not None
    assert re.search(r"\d{1,2}:\d{2}", full), full
    await expect(stamp.locator(".visually-hidden")).to_have_text(full)
    await expect(first.locator(".who")).to_have_text("Jane Doe")
    await expect(second.locator(".who")).to_have_count(0)
    await expect(second).to_have_class(re.compile(r"\bcontinued\b"))

    await end_chat(page)
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download transcript").click()
    saved = tmp_path / "transcript.txt"
    await (await download_info.value).save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert "Jane Doe: Said five minutes ago" in text
    assert "Jane Doe: And a second line" in text
    assert "— You ended the chat. —" in text
