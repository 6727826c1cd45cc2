"""Inactivity timers and AXP forgetting a session, with short timers (real processes)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.chat.clients import Agent, WsClient, eventually
from tests.e2e.chat.conftest import Stack
from tests.e2e.chat.test_chat import chatting, session_token

pytestmark = pytest.mark.e2e

STACK_ENV = {
    "AXP_CHAT_CHAT_IDLE_TIMEOUT": "3",
    "AXP_CHAT_IDLE_WARNING": "1.5",
    "AXP_CHAT_SESSION_IDLE_TIMEOUT": "4",
}


async def test_a_silent_customer_is_warned_then_the_chat_ends_as_user_inactive(
    stack: Stack, agent: Agent
) -> None:
    client, engagement_id, dialog_id = await chatting(stack, agent)
    await agent.say(engagement_id, "Still there?")
    idle = await client.event(lambda e: e["type"] == "chat.idle", "the idle warning")
    assert "endsAt" in idle
    ended = await client.event(lambda e: e["type"] == "chat.ended", "the chat ending")
    assert (ended["by"], ended["reason"]) == ("system", "USER_INACTIVE")
    assert idle["seq"] < ended["seq"]
    assert (await agent.dialog(dialog_id))["dialogStatus"] == "TERMINATED"


async def test_a_customer_message_clears_the_idle_timer(stack: Stack, agent: Agent) -> None:
    client, engagement_id, _ = await chatting(stack, agent)
    await agent.say(engagement_id, "Anything else?")
    await client.event(lambda e: e["type"] == "chat.idle", "the idle warning")
    await client.ok("send", text="yes, one more thing")
    await client.event(lambda e: e.get("text") == "yes, one more thing", "echo")
    # the chat would have ended 1.5 s after the warning; the reply keeps it open past that
    await agent.say(engagement_id, "Go on")
    await client.event(lambda e: e.get("text") == "Go on", "the agent answering")
    assert not client.of_type("chat.ended")


async def test_a_session_without_connection_ends_after_session_idle_timeout(
    stack: Stack, agent: Agent
) -> None:
    client, _, dialog_id = await chatting(stack, agent)
    axp_session_id = (await agent.dialog(dialog_id))["sessionId"]
    token = await session_token(client)
    await client.close()

    async def deleted_at_axp() -> bool:
        status = await axp_session_status(stack, axp_session_id)
        return status in (None, "TERMINATED")

    assert await eventually(deleted_at_axp, timeout=20, what="the AXP session to be deleted")
    assert (await agent.dialog(dialog_id))["dialogStatus"] == "TERMINATED"
    again = await WsClient(stack.connector_url).open()
    answer = await again.command("resume", token=token, after=0)
    assert (answer["type"], answer["code"]) == ("error", "not_found")


async def test_a_session_axp_forgot_is_recreated_invisibly_when_no_chat_is_open(
    stack: Stack, agent: Agent
) -> None:
    client, engagement_id, dialog_id = await chatting(stack, agent)
    await client.ok("end")
    await client.event(lambda e: e["type"] == "chat.ended", "the chat ending")
    axp_session_id = (await agent.dialog(dialog_id))["sessionId"]
    await delete_axp_session(stack, axp_session_id)

    await client.ok("context", parameters={"page": "/two"})
    started = await client.ok("start")
    new_dialog = await agent.dialog(started["dialogId"])
    assert new_dialog["sessionId"] != axp_session_id
    assert new_dialog["session"]["sessionParameters"]["page"] == "/two"
    assert not client.of_type("session.ended")
    del engagement_id


async def axp_bearer(http: httpx.AsyncClient) -> dict[str, str]:
    token = await http.post(
        "/api/auth/v1/ABCDEF/protocol/openid-connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "axp-chat-connector",
            "client_secret": "emulator-client-secret",
        },
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def axp_session_status(stack: Stack, session_id: str) -> str | None:
    """The AXP session's status as AXP reports it (None: AXP does not know it)."""
    headers = {"appkey": "emulator-app-key"}
    async with httpx.AsyncClient(base_url=stack.emulator_url, headers=headers) as http:
        found = await http.get(
            f"/api/digital/channel/v1/accounts/ABCDEF/sessions/{session_id}",
            headers=await axp_bearer(http),
        )
    if found.status_code == 404:
        return None
    return str(found.json()["sessionStatus"])


async def delete_axp_session(stack: Stack, session_id: str) -> None:
    """What AXP does when a session expires on its side (as a third party, over the API)."""
    headers = {"appkey": "emulator-app-key"}
    async with httpx.AsyncClient(base_url=stack.emulator_url, headers=headers) as http:
        bearer = await axp_bearer(http)
        deleted = await http.delete(
            f"/api/digital/channel/v1/accounts/ABCDEF/sessions/{session_id}",
            params={"reason": "USER_INACTIVE"},
            headers=bearer,
        )
        assert deleted.status_code == 204, deleted.text
