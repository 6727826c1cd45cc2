"""A customer send as kept: its content from the frame, the AXP body, the outbox payload."""

from __future__ import annotations

import json

import pytest

from axp_chat_connector.protocol import codec, frames
from axp_chat_connector.protocol.ids import DialogId, EngagementId
from axp_chat_connector.sessions.sends import (
    QueuedSend,
    SendContent,
    command_of,
    provider_message_id,
)


def send(**fields: object) -> frames.Send:
    frame = json.dumps({"type": "send", "id": "c-1", **fields})
    command = codec.parse_command(frame, max_bytes=65536, identifier_kinds=frozenset())
    assert isinstance(command, frames.Send)
    return command


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        (
            {"text": "hi", "format": "MARKDOWN"},
            {"elementType": "text", "elementText": {"text": "hi", "textFormat": "MARKDOWN"}},
        ),
        (
            {"reply": {"text": "Yes", "payload": "y"}},
            {
                "elementType": "reply",
                "elementText": {"text": "Yes", "textFormat": "PLAINTEXT"},
                "payload": "y",
            },
        ),
        (
            {"postback": {"payload": "p"}},
            {
                "elementType": "postback",
                "elementText": {"text": "", "textFormat": "PLAINTEXT"},
                "payload": "p",
            },
        ),
    ],
)
def test_the_axp_body_of_each_kind_of_send(fields: dict[str, object], body: object) -> None:
    assert SendContent.of(send(**fields)).axp_body() == body


def test_the_outbox_payload_round_trips_through_json() -> None:
    queued = QueuedSend(
        "c-1", EngagementId("e-1"), DialogId("d-1"), SendContent("reply", "Yes", "PLAINTEXT", "y")
    )
    stored = json.loads(json.dumps(queued.to_json()))
    assert QueuedSend.from_json(stored) == queued


def test_provider_message_ids_carry_the_command_id() -> None:
    pmid = provider_message_id("s-1", "c:1")
    assert pmid == "s-1:c:1"
    assert command_of(pmid) == "c:1"
