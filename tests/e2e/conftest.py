"""Browser fixtures: headless Debian Chromium driven by Playwright, the emulator serving the
agent console, and `axp-chat-connector demo` (the real connector and emulator) as a process.

Chromium comes from Debian (`apt-get install -y chromium`), not from Playwright's download. When
it is missing the browser tests are skipped, except under CI (`CI=true`), where that fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest
import pytest_asyncio

from axp_chat_connector.emulator.app import create_app
from axp_chat_connector.emulator.config import EmulatorSettings
from tests.servers import ROOT, free_port, serve_app, spawn

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

    from tests.e2e.fake_connector import FakeConnector

CHROMIUM: Final = Path(os.environ.get("AXP_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS: Final = ROOT / "test-artifacts"
WEB: Final = ROOT / "src" / "axp_chat_connector" / "web"
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    # Nothing but this machine: a page that reaches for the internet fails fast.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
]


def _unavailable(reason: str) -> None:
    install = "apt-get update && apt-get install -y chromium"
    message = (
        f"{reason}. The browser tests need Debian's Chromium at {CHROMIUM} (`{install}`, "
        "or set AXP_TEST_CHROMIUM) and the Python package playwright (`scripts/install dev`)."
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)) and not shutil.which(
        str(CHROMIUM)
    ):
        _unavailable(f"no Chromium at {CHROMIUM}")
    return CHROMIUM


# Browser tests run in one event loop for the session (mark them
# `pytest.mark.asyncio(loop_scope="session")`), so that one Chromium serves them all.
@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    """A headless Chromium for the session; each test opens its own context."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("the Python package playwright is not installed")
        raise
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A desktop-sized browser context; the test fails if a page of it throws."""
    context = await browser.new_context(viewport={"width": 1100, "height": 800})
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context
    await context.close()
    assert errors == [], f"errors on the pages: {errors}"


@pytest_asyncio.fixture(loop_scope="session")
async def fake() -> AsyncIterator[tuple[FakeConnector, str]]:
    """tests/e2e/fake_connector.py on a free port (it serves web/ at /web/); its base URL."""
    from tests.e2e.fake_connector import FakeConnector

    connector = FakeConnector(WEB)
    async with serve_app(connector.app()) as base:
        yield connector, base


@pytest_asyncio.fixture(loop_scope="session")
async def chatting(
    fake: tuple[FakeConnector, str], context: BrowserContext
) -> tuple[FakeConnector, Page]:
    """The demo page in `context` with a chat started through the widget (on the fake)."""
    from tests.e2e.widget_kit import open_demo, start_chat

    connector, base = fake
    page = await open_demo(context, base)
    await start_chat(page, connector)
    return connector, page


@pytest_asyncio.fixture(loop_scope="session")
async def emulator_url() -> AsyncIterator[str]:
    """The emulator (default settings, no webhooks; it serves the console at /emulator/) on a
    free loopback port."""
    app = create_app(EmulatorSettings(allow_http_callbacks=True))
    async with serve_app(app) as base:
        yield base


@dataclass(frozen=True)
class Demo:
    """`axp-chat-connector demo` running: the connector (demo site at `/`) and the emulator."""

    site: str
    emulator: str


@pytest.fixture(scope="session")
def demo() -> Iterator[Demo]:
    """The real connector and emulator as one child process, started once for the session.

    Tests share it: each one finds its own engagements by a customer name of its own."""
    port, emulator_port = free_port(), free_port()
    site = f"http://127.0.0.1:{port}"
    args = ["demo", "--port", str(port), "--emulator-port", str(emulator_port)]
    with spawn(args, f"{site}/readyz", timeout=30):
        yield Demo(site, f"http://127.0.0.1:{emulator_port}")
