"""The connector killed with SIGKILL in the middle of a send, then restarted (issue 15 item 1).

Own stack per test: killing the shared one would disturb its neighbours."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.chat.clients import WsClient, eventually, wait_for
from tests.faults.chat import agent_texts, chatting, last_seq, session_token
from tests.faults.conftest import FaultAgent, fault_stack

pytestmark = pytest.mark.e2e

SEND_LATENCY_MS = 4000
KILL_AFTER_ACCEPTED = 1.0
TAKEOVER_WAIT = 60.0
"""The dead owner's outbox lease (30 s) must expire before the restarted process takes over."""


async def test_a_send_cut_by_sigkill_reaches_axp_once_after_restart(tmp_path: Path) -> None:
    with fault_stack(tmp_path) as stack:
        agent = FaultAgent(stack.emulator_url)
        try:
            client, engagement_id, _ = await chatting(stack, agent)
            token = await session_token(client)
            await agent.faults(
                latency=[{"operation": "sendDigitalMessage", "ms": SEND_LATENCY_MS, "count": 1}],
                webhooks={"drop": 1, "eventTypes": ["MESSAGES"]},
            )
            answer = await client.ok("send", id_="cut-1", text="sent as the connector dies")
            accepted = time.monotonic()
            assert answer["status"] == "accepted"

            async def send_at_axp() -> bool:  # the latency fault fired: the call is in flight
                return not (await agent.active_faults())["latency"]

            await eventually(send_at_axp, what="Send Message to reach the emulator")
            await wait_for(
                lambda: time.monotonic() - accepted >= KILL_AFTER_ACCEPTED, what="the kill point"
            )
            after = last_seq(client)
            stack.kill_connector()
            await client.close()
            stack.start_connector()

            again = await WsClient(stack.connector_url).open()
            await again.ok("resume", token=token, after=after)
            echo = await wait_for(
                lambda: [e for e in again.events if e.get("clientMessageId") == "cut-1"],
                timeout=TAKEOVER_WAIT,
                what="the send to settle after the restart",
            )
            assert echo[0]["type"] == "message", echo
            dropped = await agent.deliveries("dropped")
            assert [r["event_type"] for r in dropped] == ["MESSAGES"], "the drop fault fired"
            texts = await agent_texts(agent, engagement_id)
            assert texts.count("sent as the connector dies") == 1, texts
            assert len([e for e in again.events if e.get("clientMessageId") == "cut-1"]) == 1
        finally:
            await agent.clear_faults()
            await agent.aclose()
