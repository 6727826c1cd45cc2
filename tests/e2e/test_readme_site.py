"""README's "Put the chat on your site", followed: its settings for `serve` (verified customers,
guests off, the Origin allow-list), its script tag on a page of another origin (a site served
here), its Python as that site's backend behind a cookie login, and the AXP emulator as a
process. A visitor who is not signed in is asked to sign in; a signed-in customer chats without
a form and the agent sees the identity the site vouched for; a page on an origin not listed gets
no widget."""

from __future__ import annotations

import asyncio
import re
import secrets
import shlex
import time
import types
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.servers import ROOT, TIME_SCALE, connector_env, free_port, serve_app, spawn

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

WAIT_MS: Final = 15_000 * TIME_SCALE
_POLL_INTERVAL = 0.05  # a poll interval inside a wait with a deadline
SECTION: Final = "## Put the chat on your site"
README_SITE: Final = "https://www.example.com"
README_CONNECTOR: Final = "https://chat.example.com"
SIGNED_IN_COOKIE: Final = "shop-session"
ADA: Final = types.SimpleNamespace(id="c-42", name="Ada Lovelace", email="ada@example.com")


def readme_section(site: str, connector: str) -> str:
    """The README section, with its example origins replaced by this test's servers."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start : end if end != -1 else None]
    return section.replace(README_SITE, site).replace(README_CONNECTOR, connector)


def code_block(section: str, language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)\n\s*```", section, re.S)
    assert found, f"no {language} block in README's {SECTION!r}"
    return "\n".join(line.removeprefix("  ") for line in found[1].splitlines())


def readme_settings(section: str, id_token_key: str) -> dict[str, str]:
    """The `sh` block's settings, the key's `...` filled in."""
    settings = {}
    for line in code_block(section, "sh").splitlines():
        for word in shlex.split(line, comments=True):
            name, _, value = word.partition("=")
            settings[name] = id_token_key if value == "..." else value
    return settings


def readme_backend(section: str, id_token_key: str) -> Callable[[Any], dict[str, Any]]:
    """The README's Python, as the site's backend signs with it."""
    namespace: dict[str, Any] = {"ID_TOKEN_KEY": id_token_key}
    exec(code_block(section, "python"), namespace)  # noqa: S102 - our own README
    function: Callable[[Any], dict[str, Any]] = namespace["chat_id_token"]
    return function


def site_app(tag: str, chat_id_token: Callable[[Any], dict[str, Any]]) -> Starlette:
    """The site: a page with the tag, and the id-token route behind its own (cookie) login."""

    async def page(request: Request) -> Response:
        body = f"<h1>Velo Verde account</h1>\n{tag}\n"
        head = '<meta charset="utf-8"><title>My account</title>'
        return HTMLResponse(f'<!doctype html><html lang="en"><head>{head}</head><body>{body}')

    async def id_token(request: Request) -> Response:
        if request.cookies.get(SIGNED_IN_COOKIE) != ADA.id:
            return JSONResponse({"detail": "not signed in"}, status_code=401)
        return JSONResponse(chat_id_token(ADA), headers={"Cache-Control": "no-store"})

    return Starlette(routes=[Route("/", page), Route("/chat/id-token", id_token)])


class Stack:
    def __init__(self, site_port: int, connector_port: int, emulator_port: int) -> None:
        self.site = f"http://127.0.0.1:{site_port}"
        self.connector = f"http://127.0.0.1:{connector_port}"
        self.emulator = f"http://127.0.0.1:{emulator_port}"
        self.site_port = site_port
        self.id_token_key = secrets.token_urlsafe(32)
        self.section = readme_section(self.site, self.connector)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The emulator and `serve` with the README's settings (guests off), as processes."""
    result = Stack(free_port(), free_port(), free_port())
    store = tmp_path_factory.mktemp("readme") / "connector.db"
    env = connector_env(
        result.emulator,
        result.connector,
        f"sqlite:///{store}",
        **readme_settings(result.section, result.id_token_key),
    )
    assert env["AXP_CHAT_GUEST_MODE"] == "false"
    assert env["AXP_CHAT_ALLOWED_ORIGINS"] == f'["{result.site}"]'
    emulator_env = {"AXP_EMULATOR_ALLOW_HTTP_CALLBACKS": "true"}
    emulator_port = result.emulator.rsplit(":", 1)[1]
    connector_port = result.connector.rsplit(":", 1)[1]
    with (
        spawn(
            ["emulator", "--port", emulator_port],
            f"{result.emulator}/emulator/v1/health",
            env=emulator_env,
        ),
        spawn(
            ["serve", "--port", connector_port], f"{result.connector}/readyz", env=env, timeout=30
        ),
    ):
        yield result


@pytest_asyncio.fixture(loop_scope="session")
async def site(stack: Stack) -> AsyncIterator[Stack]:
    tag = code_block(stack.section, "html")
    backend = readme_backend(stack.section, stack.id_token_key)
    async with serve_app(site_app(tag, backend), port=stack.site_port):
        yield stack


async def engagement_of(emulator: str, name: str) -> dict[str, Any]:
    """The emulator's engagement of the customer called `name`, once there is one."""
    deadline = time.monotonic() + WAIT_MS / 1000
    async with httpx.AsyncClient(base_url=emulator, timeout=5) as http:
        while time.monotonic() < deadline:
            answer = await http.get("/emulator/v1/engagements")
            answer.raise_for_status()
            for engagement in answer.json()["engagements"]:
                names = [d.get("session", {}).get("displayName") for d in engagement["dialogs"]]
                if name in names:
                    found: dict[str, Any] = engagement
                    return found
            await asyncio.sleep(_POLL_INTERVAL)
    raise AssertionError(f"no engagement of {name} in the emulator")


async def test_a_signed_in_customer_chats_as_who_the_site_says(
    site: Stack, context: BrowserContext, artifacts: Path
) -> None:
    from playwright.async_api import expect

    visitor = await context.new_page()
    await visitor.goto(site.site)
    await visitor.get_by_role("button", name="Chat with us").click()
    await expect(visitor.get_by_text("Please sign in to your account")).to_be_visible(
        timeout=WAIT_MS
    )
    await expect(visitor.get_by_label("Name")).to_be_hidden()
    await expect(visitor.get_by_role("button", name="Start chat")).to_be_hidden()

    await context.add_cookies([{"name": SIGNED_IN_COOKIE, "value": ADA.id, "url": site.site}])
    customer = await context.new_page()
    await customer.goto(site.site)
    await customer.get_by_role("button", name="Chat with us").click()
    await expect(customer.get_by_text("You are signed in as Ada Lovelace")).to_be_visible(
        timeout=WAIT_MS
    )
    await expect(customer.get_by_label("Email")).to_be_hidden()
    await customer.get_by_role("button", name="Start chat").click()
    await expect(customer.get_by_text("Waiting for an agent").first).to_be_visible(timeout=WAIT_MS)
    await customer.screenshot(path=str(artifacts / "readme-site-verified.png"))

    engagement = await engagement_of(site.emulator, "Ada Lovelace")
    session = engagement["dialogs"][0]["session"]
    assert session["customerIdentifiers"]["emailAddresses"] == ["ada@example.com"]
    assert session["sessionParameters"]["pageUrl"].startswith(site.site)


async def test_a_page_on_an_origin_not_listed_gets_no_widget(
    site: Stack, context: BrowserContext
) -> None:
    """The same page on another origin: the connector's CORS refuses the widget's modules."""
    tag = code_block(site.section, "html")
    backend = readme_backend(site.section, site.id_token_key)
    async with serve_app(site_app(tag, backend)) as elsewhere:
        page = await context.new_page()
        async with page.expect_console_message(
            lambda message: "the widget could not load" in message.text, timeout=WAIT_MS
        ):
            await page.goto(elsewhere)
        assert await page.locator(".axp-chat-widget").count() == 0
