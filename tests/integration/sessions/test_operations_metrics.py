"""The session layer's operations metrics move when their thing happens (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path

from tests.integration.sessions.conftest import Harness, running_harness, wait_for


def _sample(harness: Harness, name: str) -> float:
    value = harness.metrics.registry.get_sample_value(name)
    return 0.0 if value is None else value


async def test_a_delivered_send_is_timed_from_acceptance_to_delivery(harness: Harness) -> None:
    session_id, _, _ = await harness.chatting()
    assert _sample(harness, "axp_chat_outbox_wait_seconds_count") == 0
    await harness.ok("send", session_id, text="hello")
    await harness.event(session_id, lambda e: e.get("text") == "hello", "the echo")

    async def timed() -> bool:
        return _sample(harness, "axp_chat_outbox_wait_seconds_count") == 1

    await wait_for(timed, "the send's wait to be observed")
    assert _sample(harness, "axp_chat_outbox_wait_seconds_sum") > 0


async def test_a_send_waiting_in_the_outbox_ages_until_it_is_delivered(tmp_path: Path) -> None:
    async with running_harness(tmp_path, settings={"axp_retry_attempts": 1}) as harness:
        session_id, _, _ = await harness.chatting()
        await harness.faults(
            operations=[{"operation": "sendDigitalMessage", "status": 503, "count": 1000}]
        )
        await harness.ok("send", session_id, text="retried")
        harness.clock.advance(120)  # any claim from now on finds the send 2 minutes old

        async def aged() -> bool:
            return _sample(harness, "axp_chat_outbox_oldest_age_seconds") >= 120

        await wait_for(aged, "the outbox's oldest send to be two minutes old")
        await harness.agent.delete("/faults")
        harness.clock.advance(120)  # past any retry backoff
        await harness.event(session_id, lambda e: e.get("text") == "retried", "the echo")

        async def drained() -> bool:
            return _sample(harness, "axp_chat_outbox_oldest_age_seconds") == 0

        await wait_for(drained, "the oldest age to fall back to 0 once nothing is claimed")


async def test_the_sweeper_counts_the_sessions_connected_here(harness: Harness) -> None:
    session_id = await harness.login()
    await harness.sweeper.sweep_once()
    assert _sample(harness, "axp_chat_sessions_connected") == 0
    await harness.service.connection_opened(session_id)
    await harness.sweeper.sweep_once()
    assert _sample(harness, "axp_chat_sessions_connected") == 1
    await harness.service.connection_closed(session_id)
    await harness.sweeper.sweep_once()
    assert _sample(harness, "axp_chat_sessions_connected") == 0
