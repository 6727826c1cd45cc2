"""The composition root: settings → store, bus, AXP client, session layer, webhooks, transports.

`assemble(settings)` opens every part in order (store, bus, AXP token, webhook subscriptions),
starts the background workers (outbox, sweeper) and yields the ASGI app; leaving the context
stops and closes them in reverse order. `serve` and `demo` run the app with uvicorn in the same
event loop; tests do the same on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

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
from axp_chat_connector.config import Settings
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.sessions.core import ServiceConfig, SessionCore
from axp_chat_connector.sessions.identity import IdTokenPolicy
from axp_chat_connector.sessions.outbox import OutboxWorker
from axp_chat_connector.sessions.service import SessionService
from axp_chat_connector.sessions.sweeper import Sweeper
from axp_chat_connector.store import Retention, Store, open_store
from axp_chat_connector.transports.limits import TransportLimits
from axp_chat_connector.webhooks.metrics import WebhookMetrics
from axp_chat_connector.webhooks.receiver import WebhookReceiver

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


def service_config(settings: Settings, token_secret: str) -> ServiceConfig:
    policy = None
    if settings.id_token_algorithm is not None and settings.id_token_key is not None:
        policy = IdTokenPolicy(
            algorithm=settings.id_token_algorithm,
            key=settings.id_token_key.get_secret_value(),
            issuer=settings.id_token_issuer,
            audience=settings.id_token_audience,
        )
    return ServiceConfig(
        token_secret=token_secret,
        token_ttl=timedelta(seconds=settings.session_token_ttl),
        guest_mode=settings.guest_mode,
        id_token_policy=policy,
        identifier_kinds=frozenset(settings.identifier_kinds),
        heartbeat=settings.heartbeat,
        chat_idle_timeout=settings.chat_idle_timeout,
        idle_warning=settings.idle_warning,
        session_idle_timeout=settings.session_idle_timeout,
        hold_window=settings.message_hold_window,
        park_ttl=settings.park_ttl,
    )


def transport_limits(settings: Settings) -> TransportLimits:
    return TransportLimits(
        max_frame_bytes=settings.max_frame_bytes,
        allowed_origins=frozenset(settings.allowed_origins),
        heartbeat=float(settings.heartbeat),
        heartbeat_timeout=float(settings.heartbeat),
        max_held_per_session=settings.polls_per_session,
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
    """Open and start every part; yield the app; stop and close them all."""
    secret = token_secret or (
        settings.session_token_secret.get_secret_value()
        if settings.session_token_secret is not None
        else None
    )
    if secret is None:
        raise ValueError("AXP_CHAT_SESSION_TOKEN_SECRET is required (32+ random bytes)")
    store = await open_store(
        settings.store_url,
        retention=Retention(settings.event_retention_count, settings.event_retention_age),
    )
    bus: Bus | None = None
    axp: AxpClient | None = None
    tasks = []
    try:
        bus = await open_bus(settings.bus_url)
        metrics = Metrics()
        axp = AxpClient(settings, registry=metrics.registry)
        await axp.tokens.get()
        if provision:
            plan = await ensure_subscriptions(axp, lock=_provisioning_lock(store))
            _log.info("startup.subscriptions", up_to_date=plan.up_to_date)
        core = SessionCore(store=store, bus=bus, axp=axp, config=service_config(settings, secret))
        core.on_webhook_appended = metrics.webhook_appended
        service = SessionService(core)
        outbox = OutboxWorker(core, service.inbound, service.wake_outbox)
        sweeper = Sweeper(service)
        receiver = WebhookReceiver(
            secrets=[settings.callback_secret.get_secret_value()],
            account_id=settings.axp_account_id,
            channel_provider_id=settings.axp_channel_provider_id,
            handler=service.on_webhook,
            max_bytes=settings.webhook_max_bytes,
            observe=WebhookMetrics(metrics.registry).observe,
        )

        async def ready() -> list[str]:
            failing: list[str] = []
            for name, check in (("store", store.ping), ("bus", bus.ping)):
                try:
                    await check()
                except Exception:
                    failing.append(name)
            try:
                await axp.tokens.get()
            except Exception:
                failing.append("axp")
            return failing

        app = create_app(
            service=service,
            bus=bus,
            limits=transport_limits(settings),
            readiness=ready,
            extra_routes=web_routes(),
            direct_routes=[(CALLBACK_PREFIX, receiver.route())],
            metrics=metrics,
        )
        tasks.append(background.spawn(outbox.run(), name="outbox"))
        tasks.append(background.spawn(sweeper.run(), name="sweeper"))
        _log.info("startup.ready", store=settings.store_url.split(":", 1)[0])
        yield Assembled(
            app=app,
            settings=settings,
            store=store,
            bus=bus,
            axp=axp,
            service=service,
            receiver=receiver,
            sweeper=sweeper,
        )
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if axp is not None:
            await axp.aclose()
        if bus is not None:
            await bus.close()
        await store.close()


def random_token_secret() -> str:
    return secrets.token_urlsafe(48)
