"""`POST /v1/axp/callback/{secret}`: AXP's webhook events in.

authenticate (constant-time secret in the path) → size and depth limits → JSON object →
`accountId`/`channelProviderId` are ours → `WebhookIntake.take` (`intake.py`: dedupe, route or
park, map, append) → `200`. Any failure there (the store down, a writer that kept losing, a
bug) is `503` with a problem body from `errors.to_problem`, logged with the event's
`correlationId`, so AXP delivers it again. Unknown
event types, foreign payloads and events for no chat are answered `200` and counted (Avaya's
rule for `ALL` subscribers). The secret never reaches a log: run uvicorn without its access log.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Final

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from axp_chat_connector.errors import (
    BadRequest,
    Busy,
    Conflict,
    ConnectorError,
    MethodNotAllowed,
    NotFound,
    NotHandled,
    StoreUnavailable,
    TooLarge,
    to_problem,
)
from axp_chat_connector.security_headers import policy
from axp_chat_connector.security_log import Kind, SecurityLog
from axp_chat_connector.transports.body import JSON_TYPE, decode_json, read_stream

_log = structlog.get_logger(__name__)

DEFAULT_MAX_BYTES: Final = 4 * 1024 * 1024
MAX_DEPTH: Final = 32
PREFIX: Final = "/v1/axp/callback/"
PROBLEM_TYPE: Final = "application/problem+json"

Handler = Callable[[dict[str, Any], float], Awaitable[str]]
"""(the event body, `time.perf_counter()` when the POST arrived) → the outcome."""
Observe = Callable[[str, str, float], None]
"""(eventType, outcome, seconds) for metrics."""


def _problem(error: ConnectorError) -> tuple[int, dict[str, Any]]:
    return error.http_status, to_problem(error)


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The request body's chunks from raw ASGI `receive`."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest("the client left before the body arrived")
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


def _depth(value: Any, limit: int) -> bool:
    """True when `value` nests deeper than `limit`."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if level > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)
    return False


class WebhookReceiver:
    def __init__(
        self,
        *,
        secrets: Sequence[str],
        account_id: str,
        channel_provider_id: str,
        handler: Handler,
        max_bytes: int = DEFAULT_MAX_BYTES,
        observe: Observe | None = None,
        security: SecurityLog | None = None,
        counted: Callable[[str], None] | None = None,
    ) -> None:
        """`counted`: told the result of every POST (an outcome, or why it was refused)."""
        if not secrets:
            raise ValueError("at least one callback secret is needed")
        self._secrets = [s.encode() for s in secrets]
        self._account_id = account_id
        self._channel_provider_id = channel_provider_id
        self._handler = handler
        self._max_bytes = max_bytes
        self._observe = observe
        self._security = security
        self._counted = counted
        self.counts: dict[str, int] = {}

    def route(self) -> Route:
        """The endpoint as a Starlette route (tests, and apps that want the middleware)."""
        return Route("/v1/axp/callback/{secret}", self.endpoint, methods=["POST"])

    def asgi(self, frame_ancestors: Sequence[str] = ("'none'",)) -> ASGIApp:
        """The endpoint as a raw ASGI app for every path under `PREFIX` (the connector's hot
        path: no router, request object or middleware per event), answering with the
        security headers every connector answer carries (`security_headers`)."""
        static = [
            (b"x-content-type-options", b"nosniff"),
            (b"content-security-policy", policy(frame_ancestors).encode("latin-1")),
        ]

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            secret = scope["path"][len(PREFIX) :]
            if scope["method"] != "POST" or not secret or "/" in secret:
                status, content = 405, to_problem(MethodNotAllowed("POST to a callback URL"))
                if scope["method"] == "POST":
                    status, content = 404, to_problem(NotFound("no such callback"))
            else:
                declared = None
                for name, value in scope["headers"]:
                    if name == b"content-length":
                        declared = value.decode("latin-1")
                client = scope.get("client")
                address = client[0] if client else ""
                status, content = await self.handle(secret, declared, _chunks(receive), address)
            media = JSON_TYPE if status == 200 else PROBLEM_TYPE
            body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
            headers = [
                (b"content-type", media.encode()),
                (b"content-length", str(len(body)).encode()),
                *static,
                *([(b"allow", b"POST")] if status == 405 else []),
            ]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        return app

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        if self._counted is not None:
            self._counted(what)

    def _authentic(self, given: str) -> bool:
        candidate = given.encode()
        ok = False
        for secret in self._secrets:  # every secret compared: no early exit to time
            ok |= hmac.compare_digest(candidate, secret)
        return ok

    async def endpoint(self, request: Request) -> Response:
        status, content = await self.handle(
            request.path_params["secret"],
            request.headers.get("content-length"),
            request.stream(),
            request.client.host if request.client else "",
        )
        media = JSON_TYPE if status == 200 else PROBLEM_TYPE
        return JSONResponse(content, status_code=status, media_type=media)

    async def handle(
        self, secret: str, declared: str | None, chunks: AsyncIterator[bytes], address: str
    ) -> tuple[int, dict[str, Any]]:
        """One POST: (status, JSON answer). `declared`: its Content-Length header."""
        started = time.perf_counter()
        if not self._authentic(secret):
            self._count("unauthorized")
            if self._security is not None:  # throttled, with the source address
                self._security.report(Kind.BAD_CALLBACK_SECRET, address)
            else:
                _log.warning("webhook.bad_secret")
            return _problem(NotFound("no such callback"))
        try:
            if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
                raise TooLarge("declared too large")
            body = decode_json(await read_stream(chunks, self._max_bytes))
        except TooLarge:
            self._count("too_large")
            return _problem(TooLarge(f"at most {self._max_bytes} bytes"))
        except BadRequest:
            self._count("malformed")
            _log.warning("webhook.malformed")
            return _problem(BadRequest("the body is not valid JSON"))
        if not isinstance(body, dict) or _depth(body, MAX_DEPTH):
            self._count("malformed")
            return _problem(BadRequest("the body must be one JSON object (event)"))
        event_type = body.get("eventType")
        event_name = event_type if isinstance(event_type, str) else "?"
        if not self._ours(body):
            self._count("foreign")
            _log.warning("webhook.foreign", event_type=event_name)
            return 200, {"outcome": "ignored"}
        correlation_id = body.get("correlationId")
        try:
            outcome = await self._handler(body, started)
        except StoreUnavailable:
            self._count("store_unavailable")
            _log.error(
                "webhook.store_unavailable", event_type=event_name, correlation_id=correlation_id
            )
            return _problem(StoreUnavailable("the connector cannot store events now"))
        except (Busy, Conflict) as exc:  # another writer kept winning: AXP delivers again
            self._count("busy")
            _log.warning("webhook.busy", event_type=event_name, correlation_id=correlation_id)
            return _problem(exc)
        except Exception as exc:  # anything else: a 503, so AXP delivers it again
            self._count("failed")
            _log.error(
                "webhook.failed",
                event_type=event_name,
                correlation_id=correlation_id,
                error=type(exc).__name__,
                exc_info=exc,
            )
            return _problem(NotHandled("the event could not be handled now"))
        self._count(outcome)
        if self._observe is not None:
            self._observe(event_name, outcome, time.perf_counter() - started)
        return 200, {"outcome": outcome}

    def _ours(self, body: dict[str, Any]) -> bool:
        provider = body.get("channelProviderId")
        if provider is not None and provider != self._channel_provider_id:
            return False
        account = body.get("accountId")
        return account is None or account == self._account_id
