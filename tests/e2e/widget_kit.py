"""What the widget's browser tests share: waiting on the fake connector, opening the demo page
and starting a chat, ending one (with its confirmation), and axe-core's accessibility check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from tests.servers import ROOT, TIME_SCALE

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

    from tests.e2e.fake_connector import FakeConnector

_POLL_INTERVAL = 0.02  # a poll interval inside a wait with a deadline

WAIT: Final = 10 * TIME_SCALE
WAIT_MS: Final = WAIT * 1000
LAUNCHER: Final = "Chat with Velo Verde"
AXE: Final = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 level AA (and A); axe-core's "best practice" rules are not part of it.
AXE_TAGS: Final = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


async def until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Wait for a condition on the fake connector's side."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(_POLL_INTERVAL)


async def open_demo(context: BrowserContext, base: str, page_name: str = "index.html") -> Page:
    page = await context.new_page()
    await page.goto(f"{base}/web/demo/{page_name}")
    return page


async def start_chat(
    page: Page, fake: FakeConnector, name: str = "Ann Rider", launcher: str = LAUNCHER
) -> None:
    """Open the widget, fill in the pre-chat form, and wait for the chat to start."""
    from playwright.async_api import expect

    await page.get_by_role("button", name=launcher).click()
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Email").fill("ann@example.com")
    await page.get_by_label("Phone number").fill("+44 20 7946 0000")
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.locator(".system").first).to_contain_text("Waiting", timeout=WAIT_MS)
    await until(lambda: bool(fake.commands_of("start")), "start")


async def say(page: Page, text: str) -> None:
    """The customer types a message and presses Enter."""
    box = page.get_by_role("textbox", name="Message")
    await box.fill(text)
    await box.press("Enter")


async def end_chat(page: Page) -> None:
    """The customer ends the chat: "End chat", then the confirmation."""
    await page.get_by_role("button", name="End chat").click()
    await page.get_by_role("button", name="Yes, end chat").click()


async def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 AA violations on the page as it is (shadow roots included), one line
    each: rule, impact, the elements."""
    if not AXE.is_file():
        raise AssertionError(f"{AXE} is missing: run scripts/test-web (npm ci in web/)")
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        """async (tags) => {
            const only = { runOnly: { type: 'tag', values: tags } };
            const result = await window.axe.run(document, only);
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, nodes: v.nodes.map((n) => JSON.stringify(n.target)),
            }));
        }""",
        AXE_TAGS,
    )
    return [f"{v['id']} ({v['impact']}): {', '.join(v['nodes'])}" for v in found]
