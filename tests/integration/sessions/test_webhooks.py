"""Webhooks that find no session: parked, then given up as unroutable by the sweeper."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.integration.sessions.conftest import running_harness, wait_for

PARK_TTL = 30.0


async def test_a_webhook_for_an_unknown_dialog_is_parked_then_counted_unroutable(
    tmp_path: Path,
) -> None:
    async with running_harness(tmp_path, config={"park_ttl": PARK_TTL}) as harness:
        session_id, _, _ = await harness.chatting()
        ours = await harness.events(session_id)
        # a chat the connector never started (another channel provider's, say)
        stranger = await harness.third_party.create_session(
            customer_identifiers={"emailAddresses": ["stranger@example.com"]},
            display_name="Stranger",
        )
        await harness.third_party.create_engagement(
            session_id=stranger.sessionId, provider_dialog_id=str(uuid.uuid4())
        )
        counters = harness.intake.counters

        async def both_parked() -> bool:
            return counters.get("parked", 0) >= 2  # ENGAGEMENT_CREATED, PARTICIPANT_ADDED

        await wait_for(both_parked, "the stranger's events to be parked")
        registry = harness.metrics.registry

        def unroutable() -> float | None:
            return registry.get_sample_value("axp_chat_webhook_unroutable_total")

        await harness.sweeper.sweep_once()
        assert unroutable() == 0  # kept for park_ttl

        harness.clock.advance(PARK_TTL + 1)
        await harness.sweeper.sweep_once()

        assert unroutable() == 2
        await harness.sweeper.sweep_once()
        assert unroutable() == 2  # given up once, not again
        assert counters["parked"] == 2
        assert await harness.events(session_id) == ours
        assert await harness.store.last_seq(session_id) == ours[-1]["seq"]
