"""Session tokens renewed in-band, and verified-mode login with the site's JWT (real processes)."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.e2e.chat.clients import Agent, WsClient
from tests.e2e.chat.conftest import Stack

pytestmark = pytest.mark.e2e

SITE_SECRET = "the-site-backend-shares-this-secret-with-the-connector"
GUEST_MODE = False
STACK_ENV = {
    "AXP_CHAT_SESSION_TOKEN_TTL": "10",
    "AXP_CHAT_ID_TOKEN_ALGORITHM": "HS256",
    "AXP_CHAT_ID_TOKEN_KEY": SITE_SECRET,
    "AXP_CHAT_ID_TOKEN_AUDIENCE": "velo-verde-chat",
}


def id_token(secret: str = SITE_SECRET, **claims: object) -> str:
    body = {
        "sub": "customer-42",
        "name": "Verified Vera",
        "email": "vera@example.com",
        "aud": "velo-verde-chat",
        "iat": int(time.time()),
        "exp": int(time.time()) + 300,
        **claims,
    }
    return jwt.encode(body, secret, algorithm="HS256")


async def test_a_fresh_session_token_arrives_in_band_before_the_old_one_expires(
    stack: Stack,
) -> None:
    client = await WsClient(stack.connector_url).open()
    login = await client.ok("login", idToken=id_token())
    renewed = await client.event(lambda e: e["type"] == "session.token", "a renewed token")
    assert renewed["token"] != login["token"]
    assert renewed["expiresAt"] > login["expiresAt"]
    again = await WsClient(stack.connector_url).open()
    resumed = await again.ok("resume", token=renewed["token"], after=0)
    assert resumed["sessionId"] == login["sessionId"]


async def test_verified_login_takes_the_name_and_identifiers_from_the_site_token(
    stack: Stack, agent: Agent
) -> None:
    client = await WsClient(stack.connector_url).open()
    await client.ok("login", idToken=id_token())
    started = await client.ok("start")
    session = (await agent.dialog(started["dialogId"]))["session"]
    assert session["displayName"] == "Verified Vera"
    assert session["customerIdentifiers"] == {"emailAddresses": ["vera@example.com"]}


@pytest.mark.parametrize(
    "token",
    [
        id_token(secret="not-the-site-secret-at-all-0000000000"),
        id_token(exp=int(time.time()) - 3600),
        id_token(aud="someone-else"),
        id_token(iat=int(time.time()) - 3600, exp=int(time.time()) + 300),
        "not.a.jwt",
    ],
    ids=["forged", "expired", "wrong-audience", "older-than-max-age", "garbage"],
)
async def test_a_bad_site_token_is_refused(stack: Stack, token: str) -> None:
    client = await WsClient(stack.connector_url).open()
    answer = await client.command("login", idToken=token)
    assert (answer["type"], answer["code"]) == ("error", "unauthorized")


async def test_guest_login_is_refused_when_guest_mode_is_off(stack: Stack) -> None:
    client = await WsClient(stack.connector_url).open()
    answer = await client.command(
        "login", customer={"displayName": "G", "identifiers": {"emailAddresses": ["g@x.io"]}}
    )
    assert (answer["type"], answer["code"]) == ("error", "forbidden")
