"""The widget's hard cases in headless Chromium against real processes (`axp-chat-connector
demo`: the connector and the AXP emulator): reload and navigation mid-chat, a message sent while
the line is cut, two tabs on one WebSocket with the leader tab closing, an agent's HTML shown as
text, and the chat ending from either side. The agent side is played through the emulator's
agent API (PROTOCOL §8) over HTTP. Screenshots go to test-artifacts/."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import httpx
import pytest
import pytest_asyncio

from tests.e2e.conftest import Demo
from tests.e2e.widget_kit import end_chat
from tests.servers import TIME_SCALE

_POLL_INTERVAL = 0.05  # a poll interval inside a wait with a deadline

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

WAIT: Final = 15 * TIME_SCALE
WAIT_MS: Final = WAIT * 1000
LAUNCHER: Final = "Chat with Velo Verde"
AGENT_NAME: Final = "Sam Spoke"
WS_GAUGE: Final = re.compile(r'^axp_chat_connections\{transport="websocket"\} (\S+)$', re.M)

T = TypeVar("T")


async def until(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = WAIT) -> T:
    """Poll `probe` until it returns something other than None (or False); return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(_POLL_INTERVAL)


class Agent:
    """The agent side of one customer's chats, through the emulator's agent API."""

    def __init__(self, http: httpx.AsyncClient, customer: str) -> None:
        self.http = http
        self.customer = customer
        self.engagement_id = ""

    async def _engagement(self) -> dict[str, Any] | None:
        answer = await self.http.get("/emulator/v1/engagements")
        answer.raise_for_status()
        for engagement in answer.json()["engagements"]:
            for dialog in engagement["dialogs"]:
                if dialog.get("session", {}).get("displayName") == self.customer:
                    found: dict[str, Any] = engagement
                    return found
        return None

    async def engagement(self) -> dict[str, Any]:
        engagement = await until(self._engagement, f"the engagement of {self.customer}")
        self.engagement_id = engagement["engagementId"]
        return engagement

    async def dialogs(self) -> list[dict[str, Any]]:
        dialogs: list[dict[str, Any]] = (await self.engagement())["dialogs"]
        return dialogs

    async def accept(self) -> None:
        await self.engagement()
        answer = await self.http.post(
            f"/emulator/v1/engagements/{self.engagement_id}:accept", json={"agentName": AGENT_NAME}
        )
        assert answer.status_code == 200, answer.text

    async def says(self, text: str) -> None:
        answer = await self.http.post(
            f"/emulator/v1/engagements/{self.engagement_id}/messages", json={"text": text}
        )
        assert answer.status_code == 201, answer.text

    async def disconnect(self) -> None:
        answer = await self.http.post(f"/emulator/v1/engagements/{self.engagement_id}:disconnect")
        assert answer.status_code == 200, answer.text

    async def heard(self) -> list[str]:
        """The customer's texts in the active dialog, in order."""
        answer = await self.http.get(f"/emulator/v1/engagements/{self.engagement_id}/messages")
        answer.raise_for_status()
        return [
            str(m["body"].get("elementText", {}).get("text", ""))
            for m in answer.json()["messages"]
            if m["senderParticipantType"] == "CUSTOMER"
        ]

    async def hears(self, text: str) -> None:
        async def probe() -> bool:
            return text in await self.heard()

        await until(probe, f"the agent to receive {text!r}")


@pytest_asyncio.fixture(loop_scope="session")
async def http(demo: Demo) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=demo.emulator, timeout=5) as client:
        yield client


async def start_chat(context: BrowserContext, demo: Demo, name: str, email: str) -> Page:
    from playwright.async_api import expect

    page = await context.new_page()
    await page.goto(f"{demo.site}/index.html")
    await page.get_by_role("button", name=LAUNCHER).click()
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.get_by_text("Waiting for an agent").first).to_be_visible(timeout=WAIT_MS)
    return page


async def accepted(page: Page, agent: Agent) -> None:
    from playwright.async_api import expect

    await agent.accept()
    await expect(page.get_by_text(f"{AGENT_NAME} joined the chat").last).to_be_visible(
        timeout=WAIT_MS
    )


async def customer_says(page: Page, text: str) -> None:
    from playwright.async_api import expect

    box = page.get_by_role("textbox", name="Message")
    await box.fill(text)
    await box.press("Enter")
    await expect(page.locator(".msg.customer", has_text=text)).to_contain_text(
        "Delivered", timeout=WAIT_MS
    )


async def sees_once(page: Page, text: str) -> None:
    """Exactly one message (or system line) of exactly this text is shown."""
    from playwright.async_api import expect

    exact = re.compile(f"^{re.escape(text)}$")
    shown = page.locator(".msg .text, .system").filter(has_text=exact)
    await expect(shown).to_have_count(1, timeout=WAIT_MS)
    await expect(shown).to_be_visible()


async def websocket_gauge(demo: Demo) -> float:
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.get(f"{demo.site}/metrics")
    answer.raise_for_status()
    found = WS_GAUGE.search(answer.text)
    return float(found.group(1)) if found else 0.0


async def settled_websocket_gauge(demo: Demo) -> float:
    """The gauge once it holds still (sockets of the tests before may still be closing)."""
    seen: list[float] = []

    async def probe() -> float | None:
        seen.append(await websocket_gauge(demo))
        return seen[-1] if seen[-3:] == [seen[-1]] * 3 else None

    return await until(probe, "the WebSocket gauge to settle")


async def test_reload_and_navigation_keep_the_chat_going_both_ways(
    demo: Demo, context: BrowserContext, http: httpx.AsyncClient, artifacts: Path
) -> None:
    page = await start_chat(context, demo, "Rita Reload", "rita@example.com")
    agent = Agent(http, "Rita Reload")
    await accepted(page, agent)
    await customer_says(page, "Before the reload")
    await agent.says("Agent before the reload")
    await sees_once(page, "Agent before the reload")

    await page.reload()
    for text in ("Before the reload", "Agent before the reload"):
        await sees_once(page, text)
    await customer_says(page, "After the reload")
    await agent.hears("After the reload")
    await agent.says("Agent after the reload")
    await sees_once(page, "Agent after the reload")

    await page.get_by_role("link", name="Workshop").click()
    await page.wait_for_url("**/page2.html")
    for text in ("Before the reload", "Agent before the reload", "Agent after the reload"):
        await sees_once(page, text)
    await customer_says(page, "From the workshop page")
    await agent.hears("From the workshop page")
    await agent.says("Agent on the workshop page")
    await sees_once(page, "Agent on the workshop page")
    assert await agent.heard() == [
        "Before the reload",
        "After the reload",
        "From the workshop page",
    ]
    await page.screenshot(path=artifacts / "widget-real-1-after-navigation.png")


async def test_a_message_sent_while_the_line_is_cut_arrives_once(
    demo: Demo, context: BrowserContext, http: httpx.AsyncClient, artifacts: Path
) -> None:
    from playwright.async_api import Route, WebSocketRoute, expect

    # Every WebSocket goes through Playwright, so that the test can cut the live one, refuse
    # new ones, or let a command through and swallow everything the connector says after it.
    live: list[tuple[WebSocketRoute, WebSocketRoute]] = []  # (page side, connector side)
    cut = False
    swallow_after = "Sent as the line dies"
    swallowing = True  # once only: the send is sent again on the next socket
    refused: list[str] = []  # reconnects tried (and refused) while cut

    async def line(ws: WebSocketRoute) -> None:
        if cut:
            refused.append(ws.url)
            await ws.close(code=1011, reason="no network")
            return
        server = ws.connect_to_server()
        deaf = False

        def to_server(frame: str | bytes) -> None:
            nonlocal deaf, swallowing
            server.send(frame)
            if swallowing and isinstance(frame, str) and swallow_after in frame:
                deaf, swallowing = True, False

        def to_page(frame: str | bytes) -> None:
            if not deaf:
                ws.send(frame)

        ws.on_message(to_server)
        server.on_message(to_page)
        live.append((ws, server))

    async def drop_live_sockets() -> None:
        for page_side, connector_side in live:
            # The connector's side is a real browser WebSocket: close() allows 1000 only (a
            # 1011 there throws in the page and leaves the connection open). The page's side
            # is Playwright's: any code.
            await connector_side.close()
            await page_side.close(code=1011, reason="no network")
        live.clear()

    async def refuse(route: Route) -> None:
        await route.abort("internetdisconnected")

    await context.route_web_socket("**/v1/ws*", line)
    page = await start_chat(context, demo, "Carl Cutoff", "carl@example.com")
    agent = Agent(http, "Carl Cutoff")
    await accepted(page, agent)
    await customer_says(page, "Before the cut")
    banner = page.get_by_role("status").filter(has_text="Reconnecting")
    box = page.get_by_role("textbox", name="Message")

    # The send reaches the connector (and AXP), then the line dies before the answer comes
    # back: the client sends it again with its id, and the connector does not run it twice.
    await box.fill(swallow_after)
    await box.press("Enter")
    await agent.hears(swallow_after)
    dying = page.locator(".msg.customer", has_text=swallow_after)
    await expect(dying).to_contain_text("Sending")
    await drop_live_sockets()
    await expect(dying).to_contain_text("Delivered", timeout=WAIT_MS)
    assert await agent.heard() == ["Before the cut", swallow_after]

    # The network goes: the open socket drops, new ones and long polls fail.
    cut = True
    await context.route("**/v1/poll/**", refuse)
    await context.set_offline(True)
    context.on("requestfailed", lambda r: refused.append(r.url) if "/v1/" in r.url else None)
    await drop_live_sockets()
    await expect(banner).to_be_visible(timeout=WAIT_MS)
    await box.fill("Sent while cut off")
    await box.press("Enter")
    mine = page.locator(".msg.customer", has_text="Sent while cut off")
    await expect(mine).to_contain_text("Will be sent when the connection is back", timeout=WAIT_MS)
    await page.screenshot(path=artifacts / "widget-real-2-cut.png")

    async def retried() -> bool:
        return sum("/v1/ws" in url for url in refused) >= 2

    # The client tries again meanwhile, and fails; an outage is not a blocked WebSocket, so it
    # keeps to WebSocket (no fallback to long polling while the browser says it is offline).
    await until(retried, "reconnects refused while cut")
    assert not any("/v1/poll/" in url for url in refused)
    assert "Sent while cut off" not in await agent.heard()

    # It comes back: the send goes out and arrives once. (The network first: a socket routed
    # through Playwright while the context is still offline would never reach the connector.)
    await context.unroute("**/v1/poll/**")
    await context.set_offline(False)
    cut = False
    await expect(mine).to_contain_text("Delivered", timeout=WAIT_MS)
    await expect(banner).to_be_hidden()
    await agent.hears("Sent while cut off")
    await agent.says("Got it once")
    await sees_once(page, "Got it once")
    assert await agent.heard() == ["Before the cut", swallow_after, "Sent while cut off"]
    for text in ("Before the cut", swallow_after, "Sent while cut off"):
        await sees_once(page, text)


async def test_two_tabs_share_one_websocket_and_the_second_takes_over(
    demo: Demo, context: BrowserContext, http: httpx.AsyncClient, artifacts: Path
) -> None:
    from playwright.async_api import expect

    before = await settled_websocket_gauge(demo)
    sockets: dict[str, int] = {}  # WebSockets each tab opened, tabs named in order: tab1, tab2

    def watch(page: Page) -> None:
        tab = f"tab{len(sockets) + 1}"
        sockets[tab] = 0

        def opened(_: object) -> None:
            sockets[tab] += 1

        page.on("websocket", opened)

    context.on("page", watch)
    first = await start_chat(context, demo, "Tabitha Tabs", "tabitha@example.com")
    agent = Agent(http, "Tabitha Tabs")
    await accepted(first, agent)
    second = await context.new_page()
    await second.goto(f"{demo.site}/page2.html")
    await second.get_by_role("button", name=LAUNCHER).click()
    await expect(second.get_by_role("textbox", name="Message")).to_be_visible(timeout=WAIT_MS)
    await sees_once(second, f"{AGENT_NAME} joined the chat")

    await agent.says("Seen in both tabs")
    await sees_once(first, "Seen in both tabs")
    await sees_once(second, "Seen in both tabs")
    await customer_says(second, "Typed in the second tab")
    await sees_once(first, "Typed in the second tab")
    await customer_says(first, "Typed in the first tab")
    await sees_once(second, "Typed in the first tab")
    assert sockets == {"tab1": 1, "tab2": 0}, "one WebSocket for both tabs, the first tab's"
    assert await websocket_gauge(demo) == before + 1, "one WebSocket at the connector"
    await second.screenshot(path=artifacts / "widget-real-3-second-tab.png")

    await first.close()
    await agent.says("After the leader left")
    await sees_once(second, "After the leader left")

    async def taken_over() -> bool:
        return sockets["tab2"] == 1

    async def one_websocket() -> bool:
        return await websocket_gauge(demo) == before + 1

    await until(taken_over, "the second tab to open its own WebSocket")
    await until(one_websocket, "one WebSocket at the connector again")
    await customer_says(second, "Still here in the second tab")
    await agent.hears("Still here in the second tab")
    assert await agent.heard() == [
        "Typed in the second tab",
        "Typed in the first tab",
        "Still here in the second tab",
    ]
    for text in ("Seen in both tabs", "Typed in the first tab"):
        await sees_once(second, text)
    assert sockets == {"tab1": 1, "tab2": 1}


async def test_an_agents_html_is_shown_as_text(
    demo: Demo, context: BrowserContext, http: httpx.AsyncClient, artifacts: Path
) -> None:
    from playwright.async_api import Dialog, expect

    page = await start_chat(context, demo, "Xavier Script", "xavier@example.com")
    dialogs: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    agent = Agent(http, "Xavier Script")
    await accepted(page, agent)
    html = "Look: <img src=x onerror=alert(1)> <b>bold?</b>"
    await agent.says(html)
    message = page.locator(".msg.agent", has_text="Look:")
    await expect(message).to_contain_text(html, timeout=WAIT_MS)
    await page.screenshot(path=artifacts / "widget-real-4-html-as-text.png")
    assert await page.locator(".msg img, .msg b").count() == 0
    await agent.says("And after it")  # had the image loaded and failed, its alert came first
    await sees_once(page, "And after it")
    assert dialogs == []


async def test_the_agent_ends_one_chat_and_the_customer_the_next(
    demo: Demo, context: BrowserContext, http: httpx.AsyncClient, artifacts: Path
) -> None:
    from playwright.async_api import expect

    page = await start_chat(context, demo, "Enid Ender", "enid@example.com")
    agent = Agent(http, "Enid Ender")
    await accepted(page, agent)
    await agent.disconnect()
    await expect(page.get_by_text("The agent ended the chat.")).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_role("textbox", name="Message")).to_be_hidden()
    await expect(page.get_by_role("button", name="End chat")).to_be_hidden()

    await page.get_by_role("button", name="Start a new chat").click()

    async def second_dialog() -> list[dict[str, Any]] | None:
        dialogs = await agent.dialogs()
        return dialogs if len(dialogs) == 2 else None

    first, second = await until(second_dialog, "a second dialog")
    assert first["dialogStatus"] == "TERMINATED"
    assert second["dialogStatus"] != "TERMINATED"
    await accepted(page, agent)
    await customer_says(page, "One more question")
    await agent.hears("One more question")

    await end_chat(page)
    await expect(page.get_by_text("You ended the chat.")).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()

    async def terminated() -> bool:
        dialogs = await agent.dialogs()
        return [d["dialogStatus"] for d in dialogs] == ["TERMINATED", "TERMINATED"]

    await until(terminated, "the second dialog TERMINATED at the emulator")
    await page.screenshot(path=artifacts / "widget-real-5-ended.png")
