"""`identify` within Avaya's identifier limits (issue 15.8): what would exceed them is refused
before AXP is called, and neither AXP's session nor the connector's record changes."""

from __future__ import annotations

from tests.integration.sessions.conftest import Harness


async def test_identify_beyond_five_values_of_a_kind_is_refused_before_axp(
    harness: Harness,
) -> None:
    session_id = await harness.login("ada@example.com")
    axp_session_id = await harness.axp_session_of(session_id)
    more = [f"ada{n}@example.com" for n in range(4)]
    await harness.ok("identify", session_id, identifiers={"emailAddresses": more})

    answer = await harness.execute(
        "identify", session_id, identifiers={"emailAddresses": ["one-too-many@example.com"]}
    )

    assert answer.frame["type"] == "error", answer.frame
    assert answer.frame["code"] == "bad_request"
    assert "5" in answer.frame["message"]
    held = (await harness.third_party.get_session(axp_session_id)).customerIdentifiers
    assert held is not None
    assert held["emailAddresses"] == ["ada@example.com", *more]
    record, _ = await harness.records.load(session_id)
    assert record.identifiers["emailAddresses"] == ["ada@example.com", *more]
