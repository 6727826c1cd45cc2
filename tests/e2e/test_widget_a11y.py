"""The widget checked by a tool, not by eye: axe-core (WCAG 2.1 AA) in headless Chromium on the
demo page with the widget closed, open, showing pre-chat errors, chatting, ended, at phone width
and in Arabic (right to left); at phone width, touch targets of 44 px and 16 px text in fields."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.fake_connector import FakeConnector
from tests.e2e.widget_kit import LAUNCHER, WAIT_MS, axe_violations, end_chat, open_demo, start_chat

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

RICH = {
    "actions": [{"type": "reply", "text": s, "payload": s} for s in ("Kids", "Shopping")],
}
CAROUSEL = {
    "items": [
        {
            "title": "Stadtrad 7",
            "description": "7 gears",
            "actions": [{"type": "postback", "text": "Choose", "payload": "s7"}],
        },
        {
            "title": "Lastesel",
            "actions": [{"type": "postback", "text": "Choose", "payload": "cargo"}],
        },
    ]
}


async def a_busy_chat(page: Page, connector: FakeConnector) -> None:
    """A chat with an agent, Markdown, a carousel, quick replies and a message of the customer."""
    from playwright.async_api import expect

    await start_chat(page, connector)
    await connector.agent_joins()
    await connector.agent_says("**Hello!** Two bikes fit:", format="MARKDOWN", richMedia=CAROUSEL)
    await connector.agent_says("For kids or for shopping?", richMedia=RICH)
    box = page.get_by_role("textbox", name="Message")
    await box.fill("Kids, mostly")
    await box.press("Enter")
    await expect(page.locator(".msg.customer", has_text="Kids, mostly")).to_contain_text(
        "Delivered", timeout=WAIT_MS
    )


async def test_the_widget_has_no_accessibility_violations_in_any_state(
    fake: tuple[FakeConnector, str], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    connector, base = fake
    page = await open_demo(context, base)
    await expect(page.get_by_role("button", name=LAUNCHER)).to_be_visible(timeout=WAIT_MS)
    assert await axe_violations(page) == [], "closed"
    await page.get_by_role("button", name=LAUNCHER).click()
    assert await axe_violations(page) == [], "open: the pre-chat form"
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    assert await axe_violations(page) == [], "pre-chat errors"
    await page.get_by_role("button", name="Minimize chat").click()
    await a_busy_chat(page, connector)
    assert await axe_violations(page) == [], "chatting"
    await end_chat(page)
    await expect(page.get_by_role("button", name="Start a new chat")).to_be_visible(timeout=WAIT_MS)
    assert await axe_violations(page) == [], "ended"


async def test_at_phone_width_it_is_accessible_with_finger_sized_targets(
    fake: tuple[FakeConnector, str], browser: Browser
) -> None:
    from playwright.async_api import expect

    connector, base = fake
    phone = await browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True)
    try:
        page = await open_demo(phone, base)
        await a_busy_chat(page, connector)
        assert await axe_violations(page) == [], "chatting on a phone"
        sizes = await page.locator(".axp-chat-widget").evaluate(
            """(host) => [...host.shadowRoot.querySelectorAll(
                    'button, a, input, textarea, [role=button]')]
                .filter((node) => node.getClientRects().length > 0)
                .map((node) => {
                    const box = node.getBoundingClientRect();
                    const font = parseFloat(getComputedStyle(node).fontSize);
                    return { what: node.outerHTML.slice(0, 60), w: box.width, h: box.height,
                             font, field: node.matches('input, textarea') };
                })"""
        )
        assert sizes, "nothing measured"
        small = [s for s in sizes if s["w"] < 44 or s["h"] < 44]
        assert small == [], f"touch targets under 44 px: {small}"
        tiny = [s for s in sizes if s["field"] and s["font"] < 16]
        assert tiny == [], f"fields under 16 px (iOS zooms in): {tiny}"
        await expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    finally:
        await phone.close()
