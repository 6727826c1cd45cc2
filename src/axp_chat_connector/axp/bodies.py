"""Bodies of AXP requests that the connector builds from its own values (the rest are built in
`client.py` from its arguments)."""

from __future__ import annotations

from typing import Any


def message_body(
    *, element_type: str, text: str | None, text_format: str, payload: str | None
) -> dict[str, Any]:
    """The `body` (a BodyElement) of Send Message: `text`, `reply` or `postback`."""
    body: dict[str, Any] = {
        "elementType": element_type,
        "elementText": {"text": text or "", "textFormat": text_format},
    }
    if payload is not None:
        body["payload"] = payload
    return body
