"""The SDK's transports in headless Chromium against real processes (`axp-chat-connector demo`):
with WebSocket blocked by a "proxy" the widget chats over Server-Sent Events; with SSE blocked
too, over long polling; a WebSocket that goes deaf without closing is found dead within seconds.
The agent side is played through the emulator's agent API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio

from tests.e2e.conftest import Demo
from tests.e2e.test_widget_real import (
    WAIT_MS,
    Agent,
    accepted,
    customer_says,
    sees_once,
    start_chat,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Request, Route, WebSocketRoute

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


# Records in `window.bannerShownAt` when the widget's "Reconnecting…" banner first shows.
WATCH_BANNER = """() => {
  const hosts = [...document.querySelectorAll('*')];
  const host = hosts.find((e) => e.shadowRoot?.querySelector('.banner'));
  const banner = host.shadowRoot.querySelector('.banner');
  window.bannerShownAt = null;
  new MutationObserver(() => {
    if (!banner.hidden && window.bannerShownAt === null) window.bannerShownAt = performance.now();
  }).observe(banner, { attributes: true });
}"""


@pytest_asyncio.fixture(loop_scope="session")
async def agent_api(demo: Demo) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=demo.emulator, timeout=5) as client:
        yield client


class Blocked:
    """A browser context behind a proxy that cuts WebSockets (and, if asked, SSE streams),
    recording which transport URLs the page used."""

    def __init__(self) -> None:
        self.websockets: list[str] = []
        self.urls: list[str] = []

    async def cut_websocket(self, ws: WebSocketRoute) -> None:
        # The upgrade goes through, then the line is cut: as a proxy that does not allow it.
        self.websockets.append(ws.url)
        await ws.close(code=1011, reason="blocked by a proxy")

    def saw(self, request: Request) -> None:
        if "/v1/sse" in request.url or "/v1/poll/" in request.url:
            self.urls.append(request.url)

    def used(self, path: str) -> bool:
        return any(path in url for url in self.urls)


async def blocked_context(browser: Browser, *, sse: bool) -> tuple[BrowserContext, Blocked]:
    context = await browser.new_context()
    blocked = Blocked()
    await context.route_web_socket("**/v1/ws", blocked.cut_websocket)
    if sse:

        async def refuse(route: Route) -> None:
            await route.fulfill(status=502, body="no streaming through this proxy")

        await context.route("**/v1/sse*", refuse)
    context.on("request", blocked.saw)
    return context, blocked


async def chat_both_ways(
    context: BrowserContext, demo: Demo, agent_api: httpx.AsyncClient, name: str
) -> None:
    email = f"{name.split()[0].lower()}@example.com"
    page = await start_chat(context, demo, name, email)
    agent = Agent(agent_api, name)
    await accepted(page, agent)
    await customer_says(page, f"Hello from {name}")
    await agent.hears(f"Hello from {name}")
    await agent.says(f"Hello {name}, the agent here")
    await sees_once(page, f"Hello {name}, the agent here")
    await agent.disconnect()


async def test_with_websocket_blocked_the_sdk_chats_over_sse(
    demo: Demo, browser: Browser, agent_api: httpx.AsyncClient
) -> None:
    # Needs the connector's GET /v1/sse (the `transports` branch): without it the SDK, told
    # 404, moves on to long polling and the last assertions fail.
    context, blocked = await blocked_context(browser, sse=False)
    await chat_both_ways(context, demo, agent_api, "Sue Streamer")
    assert blocked.websockets, "WebSocket was tried first"
    assert blocked.used("/v1/sse"), "the events came over SSE"
    assert blocked.used("/v1/poll/commands"), "the commands went by POST"
    assert not blocked.used("/v1/poll/events"), "no long polling while SSE works"
    await context.close()


async def test_with_websocket_and_sse_blocked_the_sdk_chats_over_long_polling(
    demo: Demo, browser: Browser, agent_api: httpx.AsyncClient
) -> None:
    context, blocked = await blocked_context(browser, sse=True)
    await chat_both_ways(context, demo, agent_api, "Lou Longpoll")
    assert blocked.websockets, "WebSocket was tried first"
    assert blocked.used("/v1/poll/events"), "the events came by long polling"
    await context.close()


async def test_a_websocket_gone_deaf_without_closing_shows_reconnecting_within_seconds(
    demo: Demo, browser: Browser, agent_api: httpx.AsyncClient
) -> None:
    from playwright.async_api import expect

    context = await browser.new_context()
    deaf = False  # the live socket drops every frame both ways, and never closes
    sockets: list[str] = []

    async def line(ws: WebSocketRoute) -> None:
        sockets.append(ws.url)
        server = ws.connect_to_server()
        first = len(sockets) == 1
        ws.on_message(lambda frame: None if deaf and first else server.send(frame))
        server.on_message(lambda frame: None if deaf and first else ws.send(frame))

    await context.route_web_socket("**/v1/ws", line)
    page = await start_chat(context, demo, "Dee Deaf", "dee@example.com")
    agent = Agent(agent_api, "Dee Deaf")
    await accepted(page, agent)
    await customer_says(page, "Before the line went deaf")

    # The banner may show only for the moment the reconnect takes: record when it first shows.
    await page.evaluate(WATCH_BANNER)
    deaf = True
    sent_at = await page.evaluate("performance.now()")
    box = page.get_by_role("textbox", name="Message")
    await box.fill("Typed into a deaf line")
    await box.press("Enter")
    mine = page.locator(".msg.customer", has_text="Typed into a deaf line")
    await expect(mine).to_contain_text("Delivered", timeout=WAIT_MS)
    shown_at = await page.evaluate("window.bannerShownAt")
    assert shown_at is not None, "the Reconnecting banner showed"
    # Unanswered: pinged after 5 s, dead 5 s later (it used to take 30 s and more).
    assert shown_at - sent_at < 12_000, f"the banner showed {shown_at - sent_at:.0f} ms after"
    await expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_hidden()
    assert len(sockets) >= 2, "a new socket replaced the deaf one"
    await agent.hears("Typed into a deaf line")
    await sees_once(page, "Typed into a deaf line")
    await context.close()
