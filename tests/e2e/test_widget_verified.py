"""Verified customers in the widget, in headless Chromium against the fake connector: the id
token from a page's function (`data-id-token-provider`, `setIdTokenProvider()`) and from the
site's URL (`data-id-token-url`), no pre-chat form but who is signed in, a refused token asked
for again once, and a provider that fails: a clear message, and the guest form only where the
site allows guests (`data-guest="true"`)."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import WEB
from tests.e2e.fake_connector import FakeConnector
from tests.e2e.widget_kit import LAUNCHER, WAIT_MS, axe_violations, until

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page, Route

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

DEMO = (WEB / "demo" / "index.html").read_text(encoding="utf-8")
SCRIPT_TAG = re.compile(r'<script src="\.\./widget/widget\.js"[^>]*>')


def id_token(name: str, lifetime: int = 300) -> str:
    """A JWT with the customer's name (the fake does not check signatures)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"name": name, "email": "ada@example.com", "iat": now, "exp": now + lifetime}
    return f"{part({'alg': 'HS256'})}.{part(claims)}.signature"


async def site_page(
    context: BrowserContext, base: str, name: str, attrs: str, head: str = ""
) -> Page:
    """The demo page as `/web/demo/<name>` with these widget attributes and a script in head."""
    tag = f'<script src="../widget/widget.js" data-title="{LAUNCHER}" {attrs} defer>'
    html = SCRIPT_TAG.sub(tag, DEMO)
    html = html.replace("</head>", f"<script>{head}</script></head>")

    async def serve(route: Route) -> None:
        await route.fulfill(body=html, content_type="text/html; charset=utf-8")

    await context.route(f"{base}/web/demo/{name}", serve)
    page = await context.new_page()
    await page.goto(f"{base}/web/demo/{name}")
    return page


def logins(fake: FakeConnector) -> list[dict[str, Any]]:
    return fake.commands_of("login")


async def test_a_signed_in_customer_starts_a_chat_without_the_form(
    fake: tuple[FakeConnector, str], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    connector, base = fake
    token = id_token("Ada Lovelace")
    provider = f"window.asked = 0; window.chatToken = async () => (window.asked++, {token!r});"
    page = await site_page(
        context, base, "provider.html", 'data-id-token-provider="chatToken"', provider
    )
    await page.get_by_role("button", name=LAUNCHER).click()
    await expect(page.get_by_text("You are signed in as Ada Lovelace.")).to_be_visible()
    await expect(page.get_by_label("Name")).to_be_hidden()
    await expect(page.get_by_role("button", name="Start chat")).to_be_focused()
    assert await axe_violations(page) == []
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.get_by_text("Waiting for an agent").first).to_be_visible(timeout=WAIT_MS)
    await until(lambda: bool(connector.commands_of("start")), "start")
    login = logins(connector)[-1]
    assert login["idToken"] == token
    assert "customer" not in login
    assert login["parameters"]["pageUrl"].endswith("/provider.html")
    assert await page.evaluate("window.asked") == 1  # the token shown was the one sent


async def test_a_refused_token_is_asked_for_again_once(
    fake: tuple[FakeConnector, str], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    connector, base = fake
    stale, fresh = id_token("Ada Lovelace"), id_token("Ada Lovelace", lifetime=299)
    connector.refused_id_tokens.add(stale)
    tokens = f"window.tokens = [{stale!r}, {fresh!r}];"
    page = await site_page(context, base, "refused.html", "", tokens)
    await page.wait_for_function("window.axpChatWidget !== undefined")
    await page.evaluate(
        "window.axpChatWidget.setIdTokenProvider("
        "  async () => ({ idToken: window.tokens.shift(), expiresIn: 300 }))"
    )
    await page.get_by_role("button", name=LAUNCHER).click()
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.get_by_text("Waiting for an agent").first).to_be_visible(timeout=WAIT_MS)
    assert [login["idToken"] for login in logins(connector)[-2:]] == [stale, fresh]


async def test_the_site_url_says_nobody_is_signed_in_and_guests_are_offered_the_form(
    fake: tuple[FakeConnector, str], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    _, base = fake

    async def nobody(route: Route) -> None:
        await route.fulfill(status=401, json={"detail": "not signed in"})

    await context.route(f"{base}/site/id-token", nobody)
    guests = await site_page(
        context, base, "guests.html", 'data-id-token-url="/site/id-token" data-guest="true"'
    )
    await guests.get_by_role("button", name=LAUNCHER).click()
    await expect(guests.get_by_text("or tell us who you are below")).to_be_visible()
    await expect(guests.get_by_label("Name")).to_be_visible()

    members = await site_page(context, base, "members.html", 'data-id-token-url="/site/id-token"')
    await members.get_by_role("button", name=LAUNCHER).click()
    await expect(members.get_by_text("Please sign in to your account")).to_be_visible()
    await expect(members.get_by_label("Name")).to_be_hidden()
    await expect(members.get_by_role("button", name="Start chat")).to_be_hidden()


async def test_a_failing_provider_is_said_and_guests_only_where_allowed(
    fake: tuple[FakeConnector, str], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    connector, base = fake

    async def broken(route: Route) -> None:
        await route.fulfill(status=503, body="down")

    await context.route(f"{base}/site/broken-token", broken)
    members = await site_page(
        context, base, "broken.html", 'data-id-token-url="/site/broken-token"'
    )
    await members.get_by_role("button", name=LAUNCHER).click()
    alert = members.get_by_role("alert").filter(has_text="could not check that you are signed in")
    await expect(alert).to_contain_text("answered 503")
    await expect(members.get_by_label("Name")).to_be_hidden()
    await expect(members.get_by_role("button", name="Start chat")).to_be_visible()  # try again

    guests = await site_page(
        context,
        base,
        "broken-guests.html",
        'data-id-token-url="/site/broken-token" data-guest="true"',
    )
    await guests.get_by_role("button", name=LAUNCHER).click()
    await expect(guests.get_by_text("could not check that you are signed in")).to_be_visible()
    assert await axe_violations(guests) == []
    await guests.get_by_label("Name").fill("Guest Gale")
    await guests.get_by_label("Email").fill("gale@example.com")
    await guests.get_by_role("button", name="Start chat").click()
    await expect(guests.get_by_text("Waiting for an agent").first).to_be_visible(timeout=WAIT_MS)
    assert logins(connector)[-1]["customer"]["displayName"] == "Guest Gale"


async def test_a_token_near_its_end_is_never_used_the_next_login_gets_a_new_one(
    fake: tuple[FakeConnector, str], context: BrowserContext
) -> None:
    from playwright.async_api import expect

    connector, base = fake
    tokens = [id_token(f"Ada {n}") for n in range(1, 5)]
    # each good for 30 s: too little to keep, so each showing and each login asks anew
    provider = f"window.tokens = {tokens!r};" + (
        "window.chatToken = async () => ({ idToken: window.tokens.shift(), expiresIn: 30 });"
    )
    page = await site_page(
        context, base, "again.html", 'data-id-token-provider="chatToken"', provider
    )
    await page.get_by_role("button", name=LAUNCHER).click()
    await expect(page.get_by_text("You are signed in as Ada 1.")).to_be_visible()
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.get_by_text("Waiting for an agent").first).to_be_visible(timeout=WAIT_MS)
    assert logins(connector)[-1]["idToken"] == tokens[1]

    await connector.emit(connector.session, {"type": "session.ended", "reason": "USER_INACTIVE"})
    await expect(page.get_by_text("You are signed in as Ada 3.")).to_be_visible(timeout=WAIT_MS)
    await page.get_by_role("button", name="Start chat").click()
    await until(lambda: logins(connector)[-1].get("idToken") == tokens[3], "the second login")
    await expect(page.get_by_text("Waiting for an agent").first).to_be_visible(timeout=WAIT_MS)
