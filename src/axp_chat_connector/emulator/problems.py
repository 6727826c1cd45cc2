"""Avaya's error shape: `application/problem+json` bodies with violations.

Every error the emulator answers goes through `ApiProblem` and `problem_response`. Violation codes
20002 (must not be null) and 20006 (must match a pattern) are Avaya's; the others are ours and
listed in docs/emulator.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

from pydantic import ValidationError
from starlette.responses import JSONResponse

ERROR_DOCS: Final = "https://developers.avayacloud.com/onecloud-ccaas/docs/error-handling"

# Violation codes.
INVALID_TYPE: Final = 20001
NOT_NULL: Final = 20002
SIZE: Final = 20003
NOT_IN_ENUM: Final = 20004
INVALID_VALUE: Final = 20005
PATTERN: Final = 20006
UNKNOWN_FIELD: Final = 20008

_TITLES: Final[Mapping[int, tuple[str, str]]] = {
    400: ("Bad Request", "bad-request"),
    401: ("Unauthorized", "unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("Not Found", "not-found"),
    415: ("Unsupported Media Type", "unsupported-media-type"),
    429: ("Too Many Requests", "too-many-requests"),
    500: ("Server Error", "server-error"),
}


@dataclass(frozen=True, slots=True)
class Violation:
    field: str
    message: str
    code: int

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "code": self.code}


class ApiProblem(Exception):
    """An error answer: status, Avaya's title, a detail, violations and extra headers."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        violations: Sequence[Violation] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.violations = list(violations)
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        if self.violations:
            title, anchor = "Constraint Violation", "constraint-violation"
        elif self.status in _TITLES:
            title, anchor = _TITLES[self.status]
        else:
            title = _phrase(self.status)
            anchor = title.lower().replace(" ", "-")
        body: dict[str, Any] = {
            "type": f"{ERROR_DOCS}#{anchor}",
            "title": title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.violations:
            body["violations"] = [v.to_json() for v in self.violations]
        return body

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(0, math.ceil(self.retry_after)))}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(problem: ApiProblem) -> JSONResponse:
    return JSONResponse(
        problem.body(),
        status_code=problem.status,
        headers=problem.headers(),
        media_type="application/problem+json",
    )


def bad_request(detail: str) -> ApiProblem:
    return ApiProblem(400, detail)


def constraint(field: str, message: str, code: int) -> ApiProblem:
    return ApiProblem(400, f"{field}: {message}", violations=[Violation(field, message, code)])


def not_found(what: str, ident: str) -> ApiProblem:
    return ApiProblem(404, f"{what} {ident} was not found")


def violations_from(error: ValidationError, prefix: str = "") -> list[Violation]:
    """pydantic errors as Avaya violations: dotted field paths, Bean-Validation-like messages."""
    found: list[Violation] = []
    for item in error.errors(include_url=False):
        path = _field_path(item["loc"], prefix)
        kind = item["type"]
        ctx = item.get("ctx") or {}
        if kind == "missing":
            found.append(Violation(path, "must not be null", NOT_NULL))
        elif kind == "string_pattern_mismatch":
            found.append(Violation(path, f'must match "{ctx.get("pattern", "")}"', PATTERN))
        elif kind in {"string_too_short", "string_too_long", "too_short", "too_long"}:
            found.append(Violation(path, _size_message(kind, ctx), SIZE))
        elif kind == "enum" or kind == "literal_error":
            expected = ctx.get("expected", "")
            found.append(Violation(path, f"must be one of {expected}", NOT_IN_ENUM))
        elif kind == "extra_forbidden":
            found.append(Violation(path, "unknown field", UNKNOWN_FIELD))
        elif kind.endswith("_type") or kind.endswith("_parsing"):
            found.append(Violation(path, _lowercase_start(item["msg"]), INVALID_TYPE))
        else:
            found.append(Violation(path, _lowercase_start(item["msg"]), INVALID_VALUE))
    return found


def _lowercase_start(message: str) -> str:
    """pydantic's "Input should be ..." as Bean Validation words it ("input should be ...");
    the rest keeps its case (field names such as `delayMs` stay readable)."""
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _size_message(kind: str, ctx: Mapping[str, Any]) -> str:
    if kind.startswith("string_too_short") or kind == "too_short":
        low = ctx.get("min_length", 0)
        return f"size must be at least {low}"
    high = ctx.get("max_length", 0)
    return f"size must be at most {high}"


def _field_path(loc: Sequence[int | str], prefix: str) -> str:
    parts: list[str] = [prefix] if prefix else []
    for part in loc:
        if part == "root" or (isinstance(part, str) and part.startswith("function-")):
            continue
        if isinstance(part, int):
            if parts:
                parts[-1] = f"{parts[-1]}[{part}]"
            else:
                parts.append(f"[{part}]")
        else:
            parts.append(part)
    return ".".join(parts) or (prefix or "body")


def validation_problem(error: ValidationError, prefix: str = "") -> ApiProblem:
    violations = violations_from(error, prefix)
    detail = "; ".join(f"{v.field}: {v.message}" for v in violations[:5])
    return ApiProblem(400, detail or "invalid request", violations=violations)
