"""Whatever messageIndex AXP sends, the dialog keeps working (issue 15 item 2)."""

from __future__ import annotations

import copy
import uuid

import httpx
import pytest

from tests.e2e.chat.clients import wait_for
from tests.faults.chat import chatting, customer_texts
from tests.faults.conftest import FaultAgent, FaultStack

pytestmark = pytest.mark.e2e

OUT_OF_RANGE = [2**31, 2**63]


@pytest.mark.parametrize("index", OUT_OF_RANGE)
async def test_an_out_of_range_message_index_does_not_silence_the_dialog(
    stack: FaultStack, agent: FaultAgent, index: int
) -> None:
    client, engagement_id, dialog_id = await chatting(stack, agent)
    await agent.say(engagement_id, "first")
    await client.event(lambda e: e.get("text") == "first", "the first agent message")
    real = next(
        r["body"]
        for r in await agent.deliveries("delivered")
        if r["dialog_id"] == dialog_id and r["event_type"] == "MESSAGES"
    )
    forged = copy.deepcopy(real)
    forged |= {"messageId": str(uuid.uuid4()), "messageIndex": index}
    forged["body"]["elementText"]["text"] = "from far ahead"
    async with httpx.AsyncClient() as http:
        response = await http.post(stack.callback_url, json=forged)
    assert response.status_code == 200, response.text
    # once released (at once, or after the hold window), it is what the hold compares against
    await client.event(lambda e: e.get("text") == "from far ahead", "the forged message")

    await client.ok("send", id_=f"after-{index}", text="are you there?")
    settled = await wait_for(
        lambda: [e for e in client.events if e.get("clientMessageId") == f"after-{index}"],
        what="the send to end in an echo or message.failed",
    )
    assert len(settled) == 1
    assert settled[0]["type"] in ("message", "message.failed")
    await agent.say(engagement_id, "yes, here")
    await client.event(lambda e: e.get("text") == "yes, here", "the agent's reply")
    agent_said = customer_texts(client.events, "AGENT")
    assert agent_said.count("yes, here") == 1
    assert agent_said.count("first") == 1
