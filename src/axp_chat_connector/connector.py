"""The composition root: settings → store, bus, AXP client, session layer, webhooks, transports.

The session layer's rooms are built in `composition_sessions.py` (re-exported here).
`assemble(settings)` opens every part in order (store, bus, AXP token, webhook subscriptions),
starts the background workers (outbox, sweeper) and yields the ASGI app; leaving the context
stops and closes them in reverse order. `serve` and `demo` run the app with uvicorn in the same
event loop; tests do the same on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from axp_chat_connector import background
from axp_chat_connector.app import create_app
from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.axp.provisioning import ensure_subscriptions
from axp_chat_connector.bus import open_bus
from axp_chat_connector.bus.base import Bus
from axp_chat_connector.composition_sessions import Sessions, build_sessions, service_config
from axp_chat_connector.config import Settings
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.security_log import SecurityLog
from axp_chat_connector.sessions.service import SessionService
from axp_chat_connector.sessions.sweeper import Sweeper
from axp_chat_connector.store import Retention, Store, open_store
from axp_chat_connector.transports.limits import TransportLimits
from axp_chat_connector.webhooks.metrics import WebhookMetrics
from axp_chat_connector.webhooks.receiver import Handler, WebhookReceiver

__all__ = [
    "Assembled",
    "Sessions",
    "assemble",
    "build_sessions",
    "random_token_secret",
    "service_config",
    "transport_limits",
    "web_routes",
    "webhook_receiver",
]

_log = structlog.get_logger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "web"
PROVISIONING_LOCK = "provisioning"
CALLBACK_PREFIX = "/v1/axp/callback/"
LOCK_RETRY = 0.2
"""Seconds between attempts at the provisioning lock another instance holds."""


@dataclass(frozen=True, slots=True)
class Assembled:
    app: ASGIApp
    settings: Settings
    store: Store
    bus: Bus
    axp: AxpClient
    service: SessionService
    receiver: WebhookReceiver
    sweeper: Sweeper
    metrics: Metrics


def transport_limits(settings: Settings) -> TransportLimits:
    return TransportLimits(
        max_frame_bytes=settings.max_frame_bytes,
        allowed_origins=frozenset(settings.allowed_origins),
        heartbeat=float(settings.heartbeat),
        heartbeat_timeout=float(settings.heartbeat),
        max_held_per_session=settings.polls_per_session,
        trusted_proxies=settings.trusted_proxy_networks,
        logins_per_address_per_minute=settings.logins_per_ip_per_minute,
        logins_per_minute=settings.logins_per_minute,
        connections_per_address=settings.connections_per_ip,
    )


@contextlib.asynccontextmanager
async def _provisioning_lock(store: Store) -> AsyncIterator[object]:
    owner = str(uuid.uuid4())
    # held by another instance (another process): nothing local to wait on, so poll
    while True:
        if await store.try_lock(PROVISIONING_LOCK, owner, ttl=60):
            break
        await asyncio.sleep(LOCK_RETRY)
    try:
        yield owner
    finally:
        await store.unlock(PROVISIONING_LOCK, owner)


def web_routes() -> list[BaseRoute]:
    """The SDK and the widget, when they are installed: what a site's pages load from the
    connector. The demo shop is not the product's: only `demo` serves it (`commands/demo.py`)."""
    return [
        Mount(f"/{name}", StaticFiles(directory=WEB_DIR / name), name=name)
        for name in ("sdk", "widget")
        if (WEB_DIR / name).is_dir()
    ]


@contextlib.asynccontextmanager
async def assemble(
    settings: Settings, *, token_secret: str | None = None, provision: bool = True
) -> AsyncIterator[Assembled]:
    """Open and start every part; yield the app; stop and close them all (in reverse order:
    the background tasks, then the AXP client, the bus, the store)."""
    secret = _token_secret(settings, token_secret)
    async with contextlib.AsyncExitStack() as stack:
        store = await open_store(
            settings.store_url,
            retention=Retention(settings.event_retention_count, settings.event_retention_age),
        )
        stack.push_async_callback(store.close)
        bus = await open_bus(settings.bus_url)
        stack.push_async_callback(bus.close)
        metrics = Metrics()
        axp = AxpClient(settings, registry=metrics.registry)
        stack.push_async_callback(axp.aclose)
        await axp.tokens.get()
        if provision:
            plan = await ensure_subscriptions(axp, lock=_provisioning_lock(store))
            _log.info("startup.subscriptions", up_to_date=plan.up_to_date)
        sessions = build_sessions(
            store=store,
            bus=bus,
            axp=axp,
            config=service_config(settings, secret),
            clock=time.time,
            metrics=metrics,
        )
        security = SecurityLog(metrics.security_events)
        receiver = webhook_receiver(settings, sessions.intake.take, metrics, security=security)
        app = create_app(
            service=sessions.service,
            bus=bus,
            limits=transport_limits(settings),
            readiness=_readiness(store, bus, axp),
            extra_routes=web_routes(),
            direct_routes=[(CALLBACK_PREFIX, receiver.asgi(settings.frame_ancestors))],
            metrics=metrics,
            metrics_public=settings.metrics_public,
            frame_ancestors=settings.frame_ancestors,
            security=security,
        )
        metrics.gc.install()
        stack.callback(metrics.gc.uninstall)
        for name, work in (("outbox", sessions.outbox.run), ("sweeper", sessions.sweeper.run)):
            task = background.supervise(work, name=name, restarted=metrics.restarted)
            stack.push_async_callback(_stop, task)
        _log.info("startup.ready", store=settings.store_url.split(":", 1)[0])
        yield Assembled(
            app=app,
            settings=settings,
            store=store,
            bus=bus,
            axp=axp,
            service=sessions.service,
            receiver=receiver,
            sweeper=sessions.sweeper,
            metrics=metrics,
        )


def _token_secret(settings: Settings, given: str | None) -> str:
    """The session tokens' secret: the one given (the demo's), else the setting's."""
    secret = given or (
        settings.session_token_secret.get_secret_value()
        if settings.session_token_secret is not None
        else None
    )
    if secret is None:
        raise ValueError("AXP_CHAT_SESSION_TOKEN_SECRET is required (32+ random bytes)")
    return secret


def webhook_receiver(
    settings: Settings,
    handler: Handler,
    metrics: Metrics | None = None,
    *,
    security: SecurityLog | None = None,
) -> WebhookReceiver:
    """The callback route's receiver, from the settings (secret, our ids, size limit)."""
    previous = settings.callback_secret_previous
    webhook_metrics = None if metrics is None else WebhookMetrics(metrics.registry)
    return WebhookReceiver(
        secrets=[
            settings.callback_secret.get_secret_value(),
            *([] if previous is None else [previous.get_secret_value()]),
        ],
        account_id=settings.axp_account_id,
        channel_provider_id=settings.axp_channel_provider_id,
        handler=handler,
        max_bytes=settings.webhook_max_bytes,
        observe=None if webhook_metrics is None else webhook_metrics.observe,
        counted=None if webhook_metrics is None else webhook_metrics.counted,
        security=security,
    )


def _readiness(store: Store, bus: Bus, axp: AxpClient) -> Callable[[], Awaitable[list[str]]]:
    """`/readyz`: the parts that do not answer now, and the background workers that are down."""

    async def ready() -> list[str]:
        failing: list[str] = background.down()
        for name, check in (("store", store.ping), ("bus", bus.ping), ("axp", axp.tokens.get)):
            try:
                await check()
            except Exception:
                failing.append(name)
        return failing

    return ready


async def _stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


def random_token_secret() -> str:
    return secrets.token_urlsafe(48)
