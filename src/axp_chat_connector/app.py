"""The connector's ASGI app: a tiny router in front of Starlette.

    app = create_app(service=service, bus=bus, limits=limits, readiness=check,
                     extra_routes=[Route("/v1/axp/callback/{secret}", ...), Mount("/", static)],
                     lifespan=[store_cm, axp_client_cm], on_startup=[...], on_shutdown=[...])
    uvicorn.run(app, **uvicorn_options(limits))

WebSocket scopes for `/v1/ws` go straight to the raw `WebSocketHandler` (no middleware frames
held by an idle socket); everything else, lifespan included, goes to the Starlette app:
`/healthz`, `/readyz`, `/metrics` only when `metrics_public` (else it is served by
`metrics_app` on an internal listener), the long-polling routes, the SSE stream (`/v1/sse`), then
`extra_routes`. Long-polling and SSE answers carry CORS headers for the allowed origins.
Every HTTP answer carries `X-Content-Type-Options: nosniff` and a CSP whose `frame-ancestors`
are `frame_ancestors` (`security_headers`).
`X-Forwarded-For`/`-Proto` from `limits.trusted_proxies` (nobody's by default) are applied by
the Starlette side (`uvicorn_options` turns uvicorn's own proxy-header middleware off: it would
hold a coroutine frame per idle WebSocket); the WebSocket handler reads its client's address
with `limits.client_address`, the same rule (the right-most hop that is not a trusted proxy).
`direct_routes` (`(path prefix, route or raw ASGI app)`) skip the middleware stack too: the
webhook receiver, a server-to-server hot path that needs neither CORS nor forwarded addresses
(a raw app sets its own security headers: `WebhookReceiver.asgi`).

Lifespan: the hooks are entered in order at startup (async context managers, or callables
returning one, e.g. `contextlib.asynccontextmanager` functions), then `on_startup` callables
run, and the hub's re-check and the WebSocket watchdog start; at shutdown these stop, the
`on_shutdown` callables run, and the hooks exit in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from axp_chat_connector.bus.base import Bus
from axp_chat_connector.errors import ConnectorError
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.protocol.wire_asyncapi import asyncapi_document
from axp_chat_connector.security_headers import SecurityHeaders
from axp_chat_connector.security_log import SecurityLog
from axp_chat_connector.transports.admission import Holds, LoginGate
from axp_chat_connector.transports.hub import Hub
from axp_chat_connector.transports.limits import TransportLimits
from axp_chat_connector.transports.longpoll import LongPoll
from axp_chat_connector.transports.service import ClientService
from axp_chat_connector.transports.shell import Parts
from axp_chat_connector.transports.sse import ServerSentEvents
from axp_chat_connector.transports.websocket import WebSocketHandler

WS_PATH: Final = "/v1/ws"
CHECK_TIMEOUT: Final = 2.0
"""Seconds each readiness check may take before it counts as failing."""

Readiness = Callable[[], Awaitable[Sequence[str]]]
"""Returns the names of the failing parts (`store`, `axp_token`, …); empty when ready."""
LifespanHook = AbstractAsyncContextManager[Any] | Callable[[], AbstractAsyncContextManager[Any]]
Callback = Callable[[], Awaitable[None]]


class ConnectorApp:
    """The ASGI callable; its parts are attributes for the caller and for tests."""

    def __init__(
        self,
        starlette: Starlette,
        websocket: WebSocketHandler,
        hub: Hub,
        longpoll: LongPoll,
        sse: ServerSentEvents,
        metrics: Metrics,
        limits: TransportLimits,
        direct: Sequence[tuple[str, ASGIApp]] = (),
    ) -> None:
        self.direct = tuple(direct)
        self.starlette = starlette
        self.websocket = websocket
        self.hub = hub
        self.longpoll = longpoll
        self.sse = sse
        self.metrics = metrics
        self.limits = limits

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Hand the scope on without a coroutine frame of our own (an idle socket holds none)."""
        if scope["type"] == "websocket" and scope["path"] == scope.get("root_path", "") + WS_PATH:
            return self.websocket(scope, receive, send)
        if scope["type"] == "http":
            for prefix, app in self.direct:
                if scope["path"].startswith(prefix):
                    return app(scope, receive, send)
        return self.starlette(scope, receive, send)


def _mark_coroutine_function(function: Callable[..., Any]) -> None:
    """Let servers that inspect the app (uvicorn's `interface="auto"`) see an ASGI 3 callable."""
    mark = getattr(inspect, "markcoroutinefunction", None)  # Python 3.12+
    if mark is not None:
        mark(function)
    else:
        function._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]


_mark_coroutine_function(ConnectorApp.__call__)


def create_app(
    *,
    service: ClientService,
    bus: Bus,
    limits: TransportLimits | None = None,
    readiness: Readiness | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    lifespan: Sequence[LifespanHook] = (),
    on_startup: Sequence[Callback] = (),
    on_shutdown: Sequence[Callback] = (),
    metrics: Metrics | None = None,
    direct_routes: Sequence[tuple[str, BaseRoute | ASGIApp]] = (),
    metrics_public: bool = False,
    frame_ancestors: Sequence[str] = ("'none'",),
    security: SecurityLog | None = None,
) -> ConnectorApp:
    limits = limits or TransportLimits()
    metrics = metrics or Metrics()
    hub = Hub(bus, service, limits)
    logins = LoginGate(
        limits.logins_per_address_per_minute, limits.logins_per_minute, time.monotonic()
    )
    addresses = Holds(limits.connections_per_address, per="client address")
    security = security or SecurityLog(metrics.security_events)
    parts = Parts(service, hub, limits, metrics, logins, addresses, security)
    websocket = WebSocketHandler(parts)
    holds = Holds(limits.max_held_per_session)
    longpoll = LongPoll(parts, holds)
    sse = ServerSentEvents(parts, holds)

    @contextlib.asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for hook in lifespan:
                await stack.enter_async_context(_as_cm(hook))
            for callback in on_startup:
                await callback()
            stack.push_async_callback(_run_all, on_shutdown)
            hub.start()
            stack.push_async_callback(hub.stop)
            websocket.start()
            stack.push_async_callback(websocket.stop)
            yield

    origins = sorted(limits.allowed_origins) or ["*"]
    starlette = Starlette(
        routes=[
            *_operations_routes(bus, readiness),
            *([metrics_route(metrics)] if metrics_public else []),
            *longpoll.routes(),
            *sse.routes(),
            *extra_routes,
        ],
        middleware=[
            Middleware(SecurityHeaders, frame_ancestors=frame_ancestors),
            Middleware(
                ProxyHeadersMiddleware,
                trusted_hosts=[str(network) for network in limits.trusted_proxies],
            ),
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
                max_age=600,
            ),
        ],
        lifespan=run,
    )
    direct = [
        (
            prefix,
            SecurityHeaders(Router(routes=[route]), frame_ancestors)
            if isinstance(route, BaseRoute)
            else route,
        )
        for prefix, route in direct_routes
    ]
    return ConnectorApp(starlette, websocket, hub, longpoll, sse, metrics, limits, direct)


def metrics_route(metrics: Metrics) -> Route:
    """`GET /metrics` (Prometheus text)."""

    async def metrics_text(request: Request) -> Response:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics_text, methods=["GET"])


def metrics_app(metrics: Metrics) -> Starlette:
    """The app of the internal metrics listener (`AXP_CHAT_METRICS_PORT`): `/metrics` only."""
    return Starlette(routes=[metrics_route(metrics)])


def _operations_routes(bus: Bus, readiness: Readiness | None) -> list[Route]:
    """`/healthz`, `/readyz`, `/v1/asyncapi.json`."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        failing = await _failing_parts(bus, readiness)
        if failing:
            return JSONResponse({"status": "unavailable", "failing": failing}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def asyncapi(request: Request) -> Response:
        return JSONResponse(asyncapi_document())

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/v1/asyncapi.json", asyncapi, methods=["GET"]),
    ]


def _as_cm(hook: LifespanHook) -> AbstractAsyncContextManager[Any]:
    if isinstance(hook, AbstractAsyncContextManager):
        return hook
    return hook()


async def _run_all(callbacks: Sequence[Callback]) -> None:
    for callback in callbacks:
        await callback()


async def _failing_parts(bus: Bus, readiness: Readiness | None) -> list[str]:
    failing: list[str] = []
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await bus.ping()
    except (ConnectorError, TimeoutError, OSError):
        failing.append("bus")
    if readiness is not None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                failing.extend(await readiness())
        except TimeoutError:
            failing.append("readiness_check_timeout")
    return failing
