"""The connector's exceptions, each carrying its wire form.

    ConnectorError                       code="internal", 500
    ├── ClientError                      the client's fault (never retryable as sent)
    │   ├── BadRequest                   bad_request, 400 (detail lists the fields)
    │   │   └── UnsupportedMediaType     bad_request, 415: a body that is not application/json
    │   ├── Unauthorized                 unauthorized, 401, close 4401
    │   ├── Forbidden                    forbidden, 403
    │   ├── NotFound                     not_found, 404, close 4409
    │   ├── InvalidState                 invalid_state, 409
    │   ├── TooLarge                     too_large, 413, close 4413
    │   ├── RateLimited                  rate_limited, 429, close 4429 (retry_after seconds)
    │   └── Gap                          gap, 410 (oldest kept seq)
    ├── AxpError                         something AXP said or did not say
    │   ├── AxpUnavailable               upstream_unavailable, 503, retryable
    │   │   └── AxpOutcomeUnknown        the request may have reached AXP: settle before resending
    │   ├── AxpRejected                  upstream_rejected, 502, AXP's problem body
    │   │   └── AxpNotFound              AXP answered 404
    │   └── AxpAuthError                 upstream_unavailable, 503: token request refused
    ├── Internal                         internal, 500: our fault, never the client's
    │   ├── Busy                         503, retryable: the same work is running elsewhere
    │   └── NotHandled                   503, retryable: an unexpected failure (AXP retries)
    ├── StoreUnavailable                 upstream_unavailable, 503, retryable: Redis/SQLite down
    └── Conflict                         internal, 503, retryable: a compare-and-set lost

`to_frame`, `to_problem` and `close_code` are the only places that turn an error into its wire
form (an `error` frame, an RFC 9457 problem body, a WebSocket close code). Error texts never
carry secrets, tokens or stack traces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from axp_chat_connector.protocol.codes import CloseCode


class ConnectorError(Exception):
    code: ClassVar[str] = "internal"
    http_status: ClassVar[int] = 500
    close_code: ClassVar[int] = CloseCode.INTERNAL
    retryable: ClassVar[bool] = False
    title: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None, *, detail: Any = None) -> None:
        self.message = message or self.title
        self.detail = detail
        super().__init__(self.message)

    def extra_fields(self) -> dict[str, Any]:
        """Fields added to the error frame / problem body besides code, message and detail."""
        return {}


class ClientError(ConnectorError):
    code = "bad_request"
    http_status = 400
    close_code = CloseCode.POLICY
    title = "Bad request"


class BadRequest(ClientError):
    code = "bad_request"
    http_status = 400
    title = "Bad request"


class MethodNotAllowed(BadRequest):
    http_status = 405
    title = "Method not allowed"


class UnsupportedMediaType(BadRequest):
    http_status = 415
    title = "Unsupported media type"


class Unauthorized(ClientError):
    code = "unauthorized"
    http_status = 401
    close_code = CloseCode.UNAUTHORIZED
    title = "Unauthorized"


class Forbidden(ClientError):
    code = "forbidden"
    http_status = 403
    close_code = CloseCode.FORBIDDEN
    title = "Forbidden"


class NotFound(ClientError):
    code = "not_found"
    http_status = 404
    close_code = CloseCode.SESSION_ENDED
    title = "Not found"


class InvalidState(ClientError):
    code = "invalid_state"
    http_status = 409
    title = "Invalid state"


class TooLarge(ClientError):
    code = "too_large"
    http_status = 413
    close_code = CloseCode.TOO_LARGE
    title = "Too large"


class RateLimited(ClientError):
    code = "rate_limited"
    http_status = 429
    close_code = CloseCode.RATE_LIMITED
    retryable = True
    title = "Rate limited"

    def __init__(self, message: str | None = None, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def extra_fields(self) -> dict[str, Any]:
        return {"retryAfter": max(1, round(self.retry_after))}


class Gap(ClientError):
    code = "gap"
    http_status = 410
    title = "Events no longer kept"

    def __init__(self, oldest_seq: int, message: str | None = None) -> None:
        super().__init__(message or f"events before seq {oldest_seq} are no longer kept")
        self.oldest_seq = oldest_seq

    def extra_fields(self) -> dict[str, Any]:
        return {"seq": self.oldest_seq}


class Internal(ConnectorError):
    """Something went wrong on our side (never the client's fault)."""


class Busy(Internal):
    """The same command is still running elsewhere: try again."""

    http_status = 503
    retryable = True
    title = "Busy"


class NotHandled(Internal):
    """An unexpected failure (a bug, an error nothing mapped) while handling a request that
    its sender retries, such as AXP's webhooks: answered 503 so the work is not lost."""

    http_status = 503
    retryable = True
    title = "Not handled"


class AxpError(ConnectorError):
    code = "upstream_unavailable"
    http_status = 502
    title = "AXP error"


class AxpUnavailable(AxpError):
    code = "upstream_unavailable"
    http_status = 503
    retryable = True
    title = "AXP unavailable"


class AxpOutcomeUnknown(AxpUnavailable):
    """A request that is unsafe to repeat may have reached AXP, but its answer was lost.

    Raised instead of retrying (e.g. Send Message that timed out): the caller settles it (MESSAGES
    callback, List Messages, List Engagements) before sending again.
    """

    title = "AXP outcome unknown"

    def __init__(
        self,
        message: str | None = None,
        *,
        operation: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.correlation_id = correlation_id


class AxpRejected(AxpError):
    """AXP answered 4xx (or a 5xx that retries did not cure) with a problem body."""

    code = "upstream_rejected"
    http_status = 502
    title = "AXP rejected the request"

    def __init__(
        self,
        status: int,
        *,
        problem_title: str | None = None,
        problem_detail: str | None = None,
        violations: Sequence[Mapping[str, Any]] = (),
        operation: str | None = None,
    ) -> None:
        self.status = status
        self.problem_title = problem_title
        self.problem_detail = problem_detail
        self.violations = [dict(v) for v in violations]
        self.operation = operation
        what = f"AXP answered {status}" + (f" to {operation}" if operation else "")
        super().__init__(
            what,
            detail={
                "status": status,
                "title": problem_title,
                "detail": problem_detail,
                "violations": self.violations,
            },
        )


class AxpNotFound(AxpRejected):
    """AXP answered 404: the session, engagement or subscription is gone."""


class AxpAuthError(AxpError):
    code = "upstream_unavailable"
    http_status = 503
    retryable = True
    title = "AXP refused the connector's credentials"


class StoreUnavailable(ConnectorError):
    code = "upstream_unavailable"
    http_status = 503
    retryable = True
    title = "Store unavailable"


class Conflict(ConnectorError):
    """A compare-and-set in the store lost: the session moved (or was created or deleted)
    meanwhile. Callers re-read and retry; one that escapes (the session kept changing) is
    answered as a retryable internal error."""

    code = "internal"
    http_status = 503
    retryable = True
    title = "Conflict"


def to_frame(error: ConnectorError, re: str | None) -> dict[str, Any]:
    """The `error` frame of PROTOCOL.md §4."""
    frame: dict[str, Any] = {
        "type": "error",
        "code": error.code,
        "message": error.message,
        "retryable": error.retryable,
    }
    if re is not None:
        frame["re"] = re
    if error.detail is not None:
        frame["detail"] = error.detail
    frame.update(error.extra_fields())
    return frame


def to_problem(error: ConnectorError) -> dict[str, Any]:
    """An RFC 9457 problem body (`application/problem+json`) for HTTP answers."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": error.title,
        "status": error.http_status,
        "detail": error.message,
        "code": error.code,
        "retryable": error.retryable,
    }
    if error.detail is not None:
        body["errors"] = error.detail
    body.update(error.extra_fields())
    return body


def close_code(error: ConnectorError) -> int:
    """The WebSocket close code for an error that ends a connection."""
    return error.close_code
