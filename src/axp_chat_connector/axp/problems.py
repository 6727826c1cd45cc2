"""AXP's problem bodies (RFC 7807) turned into the connector's typed errors.

AXP's bodies vary (titles differ between APIs, `status` is sometimes a string, `violations` may
lack `code`, a gateway may answer with HTML): read leniently and key on the HTTP status.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from axp_chat_connector.errors import AxpAuthError, AxpNotFound, AxpRejected

_MAX_TEXT = 500  # problem texts are AXP's, but keep them short in errors and logs


def _text(value: object) -> str | None:
    if value is None:
        return None
    return str(value)[:_MAX_TEXT]


def problem_body(response: httpx.Response) -> dict[str, Any]:
    """The problem object of an error answer, or {} when the body is not a JSON object."""
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _violations(body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("violations")
    if not isinstance(raw, list):
        return []
    out = []
    for item in raw:
        if isinstance(item, dict):
            out.append(
                {
                    "field": _text(item.get("field")),
                    "message": _text(item.get("message")),
                    "code": item.get("code") if isinstance(item.get("code"), int) else None,
                }
            )
    return out


def rejected(response: httpx.Response, operation: str) -> AxpRejected:
    """`AxpNotFound` for 404, else `AxpRejected`, carrying AXP's title, detail and violations."""
    body = problem_body(response)
    cls = AxpNotFound if response.status_code == 404 else AxpRejected
    return cls(
        response.status_code,
        problem_title=_text(body.get("title")),
        problem_detail=_text(body.get("detail")),
        violations=_violations(body),
        operation=operation,
    )


def auth_error(response: httpx.Response, what: str) -> AxpAuthError:
    """AXP refused the connector's credentials (`what` names the call, never a secret)."""
    body = problem_body(response)
    reason = _text(body.get("detail")) or _text(body.get("title")) or "no detail given"
    return AxpAuthError(
        f"AXP answered {response.status_code} to {what}: {reason}",
        detail={"status": response.status_code, "title": _text(body.get("title"))},
    )
