"""The emulator's ASGI app: Avaya's auth, Custom Chat and Notification APIs plus the agent API.

`create_app(settings)` builds every part; the lifespan starts and stops webhook delivery.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from axp_chat_connector.emulator import agents, auth, chat, notifications
from axp_chat_connector.emulator.config import EmulatorSettings
from axp_chat_connector.emulator.contact_center import ContactCenter, EventSink
from axp_chat_connector.emulator.dispatcher import Dispatcher
from axp_chat_connector.emulator.faults import FaultRegistry
from axp_chat_connector.emulator.problems import ApiProblem, problem_response
from axp_chat_connector.emulator.ratelimit import RateLimiter
from axp_chat_connector.emulator.runtime import Runtime
from axp_chat_connector.emulator.state import EmulatorState
from axp_chat_connector.emulator.subscriptions import SubscriptionStore
from axp_chat_connector.emulator.tokens import TokenStore

_log = structlog.get_logger(__name__)
# The agent console (static files of the web package), served at /emulator/; it renders
# Markdown with the widget's renderer, served at /widget/.
CONSOLE_DIR = Path(__file__).resolve().parent.parent / "web" / "console"
WIDGET_DIR = CONSOLE_DIR.parent / "widget"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.status_code != 404 else f"no resource at {request.url.path}"
    return problem_response(ApiProblem(exc.status_code, str(detail)))


async def _server_error(request: Request, exc: Exception) -> Response:
    _log.error("emulator.error", path=request.url.path, error=type(exc).__name__)
    return problem_response(ApiProblem(500, "Internal error in the emulator"))


def create_app(
    settings: EmulatorSettings | None = None,
    *,
    dispatcher: EventSink | Dispatcher | None = None,
    state: EmulatorState | None = None,
) -> Starlette:
    """The emulator app. Without `dispatcher`, a real `Dispatcher` delivers the webhooks to the
    subscriptions made through the Notification API."""
    settings = settings or EmulatorSettings()
    runtime = _runtime(settings, dispatcher, state or EmulatorState())
    sink = runtime.sink

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await sink.start()
        _log.info("emulator.started", account_id=settings.account_id)
        try:
            yield
        finally:
            await runtime.center.close()
            await sink.stop()

    app = Starlette(
        routes=[
            *auth.ROUTES,
            *chat.ROUTES,
            *notifications.ROUTES,
            *agents.ROUTES,
            Mount("/emulator", StaticFiles(directory=CONSOLE_DIR, html=True), name="console"),
            Mount("/widget", StaticFiles(directory=WIDGET_DIR), name="widget"),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app


def _runtime(
    settings: EmulatorSettings, dispatcher: EventSink | Dispatcher | None, state: EmulatorState
) -> Runtime:
    """The parts the routes share (`app.state.runtime`), with a real `Dispatcher` as the sink
    unless one is given."""
    subscriptions = SubscriptionStore()
    sink: EventSink = (
        dispatcher
        if dispatcher is not None
        else Dispatcher(subscriptions=subscriptions.targets, policy=settings.retry_policy())
    )
    return Runtime(
        settings=settings,
        state=state,
        tokens=TokenStore(settings.token_ttl),
        subscriptions=subscriptions,
        faults=FaultRegistry(),
        sink=sink,
        center=ContactCenter(
            state,
            sink,
            greeting_bot=settings.greeting_bot,
            auto_agent=settings.auto_agent,
            auto_agent_delay=settings.auto_agent_delay,
            flush_timeout=settings.webhook_timeout,
        ),
        limiter=(
            RateLimiter(settings.rate_limit_per_second)
            if settings.rate_limit_per_second is not None
            else None
        ),
    )
