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
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
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
from axp_chat_connector.config import Settings
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.security_log import SecurityLog
from axp_chat_connector.sessions import config as session_config
from axp_chat_connector.sessions.axp_session import AxpSessions
from axp_chat_connector.sessions.chat import Chats, Unpark
from axp_chat_connector.sessions.closing import Closing
from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.hold import MessageHold
from axp_chat_connector.sessions.identity import IdTokenPolicy
from axp_chat_connector.sessions.login import Logins
from axp_chat_connector.sessions.messages import Messages
from axp_chat_connector.sessions.outbox import OutboxWorker
from axp_chat_connector.sessions.records import Clock, SessionRecords
from axp_chat_connector.sessions.service import SessionService
from axp_chat_connector.sessions.settlement import Settlement
from axp_chat_connector.sessions.sweeper import Sweeper
from axp_chat_connector.sessions.timers import Timers
from axp_chat_connector.store import Retention, Store, open_store
from axp_chat_connector.transports.limits import TransportLimits
from axp_chat_connector.webhooks.intake import WebhookIntake
from axp_chat_connector.webhooks.metrics import WebhookAppended, WebhookMetrics
from axp_chat_connector.webhooks.receiver import Handler, WebhookReceiver

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


def service_config(settings: Settings, token_secret: str) -> ServiceConfig:
    policy = None
    if settings.id_token_algorithm is not None and settings.id_token_key is not None:
        policy = IdTokenPolicy(
            algorithm=settings.id_token_algorithm,
            key=settings.id_token_key.get_secret_value(),
            issuer=settings.id_token_issuer,
            audience=settings.id_token_audience,
            max_age=timedelta(seconds=settings.id_token_max_age),
        )
    return ServiceConfig(
        token_secret=token_secret,
        token_secret_previous=(
            settings.session_token_secret_previous.get_secret_value()
            if settings.session_token_secret_previous is not None
            else None
        ),
        token_ttl=timedelta(seconds=settings.session_token_ttl),
        token_renew_before=session_config.TOKEN_RENEW_BEFORE,
        guest_mode=settings.guest_mode,
        id_token_policy=policy,
        identifier_kinds=frozenset(settings.identifier_kinds),
        heartbeat=settings.heartbeat,
        chat_idle_timeout=settings.chat_idle_timeout,
        idle_warning=settings.idle_warning,
        session_idle_timeout=settings.session_idle_timeout,
        hold_window=settings.message_hold_window,
        park_ttl=settings.park_ttl,
        dedupe_ttl=session_config.DEDUPE_TTL,
        idempotency_ttl=session_config.IDEMPOTENCY_TTL,
        outbox_lease=session_config.OUTBOX_LEASE,
        outbox_max_attempts=session_config.OUTBOX_MAX_ATTEMPTS,
        outbox_backoff_base=session_config.OUTBOX_BACKOFF_BASE,
        outbox_backoff_max=session_config.OUTBOX_BACKOFF_MAX,
        settle_wait=session_config.SETTLE_WAIT,
        ended_session_keep=session_config.ENDED_SESSION_KEEP,
        sweep_interval=session_config.SWEEP_INTERVAL,
        history_max_pages=settings.history_max_pages,
    )


@dataclass(frozen=True, slots=True)
class Sessions:
    """The session layer, one room per concern, wired: client commands (`service`), webhook
    intake (`intake`), delivery of customer sends (`outbox`), timers (`sweeper`)."""

    service: SessionService
    intake: WebhookIntake
    outbox: OutboxWorker
    sweeper: Sweeper
    records: SessionRecords


def build_sessions(
    *,
    store: Store,
    bus: Bus,
    axp: AxpClient,
    config: ServiceConfig,
    clock: Clock,
    webhook_appended: WebhookAppended | None = None,
    outbox_depth: Callable[[int], None] | None = None,
    metrics: Metrics | None = None,
) -> Sessions:
    """Every room of the session layer, each given what it uses (and nothing else) here;
    `metrics`' callbacks go to the rooms that record them (the rooms know no Prometheus)."""
    if metrics is not None:
        webhook_appended = webhook_appended or metrics.webhook_appended
        outbox_depth = outbox_depth or metrics.outbox_depth.set
    records = SessionRecords(store=store, bus=bus, clock=clock)
    timers = Timers(store=store, config=config, clock=clock)
    closing = Closing(records=records, timers=timers)
    hold = MessageHold(records=records, store=store, config=config)
    settlement = Settlement(records=records, hold=hold, config=config)
    axp_sessions = AxpSessions(records=records, closing=closing, store=store, axp=axp)
    intake = WebhookIntake(
        records=records,
        hold=hold,
        closing=closing,
        timers=timers,
        store=store,
        bus=bus,
        axp=axp,
        config=config,
        appended=webhook_appended,
    )
    wake_outbox = asyncio.Event()
    service, chats, logins = _client_commands(
        records=records,
        closing=closing,
        timers=timers,
        axp_sessions=axp_sessions,
        store=store,
        axp=axp,
        config=config,
        unpark=intake.unpark,
        wake_outbox=wake_outbox,
    )
    outbox = OutboxWorker(
        records=records,
        settlement=settlement,
        closing=closing,
        axp_sessions=axp_sessions,
        store=store,
        axp=axp,
        config=config,
        wake=wake_outbox,
        depth=outbox_depth,
        claimed=None if metrics is None else metrics.outbox_claimed,
        waited=None if metrics is None else metrics.outbox_wait.observe,
    )
    sweeper = Sweeper(
        records=records,
        chats=chats,
        logins=logins,
        hold=hold,
        store=store,
        config=config,
        connected_sessions=service.connected_sessions,
        unroutable=None if metrics is None else metrics.unroutable.inc,
        sessions_connected=None if metrics is None else metrics.sessions_connected.set,
    )
    return Sessions(service, intake, outbox, sweeper, records)


def _client_commands(
    *,
    records: SessionRecords,
    closing: Closing,
    timers: Timers,
    axp_sessions: AxpSessions,
    store: Store,
    axp: AxpClient,
    config: ServiceConfig,
    unpark: Unpark,
    wake_outbox: asyncio.Event,
) -> tuple[SessionService, Chats, Logins]:
    """The client commands' room and the rooms it dispatches to (the sweeper uses two)."""
    chats = Chats(
        records=records,
        closing=closing,
        axp_sessions=axp_sessions,
        store=store,
        axp=axp,
        unpark=unpark,
    )
    logins = Logins(
        records=records,
        closing=closing,
        chats=chats,
        timers=timers,
        store=store,
        axp=axp,
        config=config,
    )
    messages = Messages(
        records=records,
        axp_sessions=axp_sessions,
        closing=closing,
        timers=timers,
        store=store,
        axp=axp,
        wake_outbox=wake_outbox,
        history_max_pages=config.history_max_pages,
    )
    service = SessionService(
        records=records,
        logins=logins,
        axp_sessions=axp_sessions,
        chats=chats,
        messages=messages,
        store=store,
        config=config,
    )
    return service, chats, logins


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
    secret = token_secret or (
        settings.session_token_secret.get_secret_value()
        if settings.session_token_secret is not None
        else None
    )
    if secret is None:
        raise ValueError("AXP_CHAT_SESSION_TOKEN_SECRET is required (32+ random bytes)")
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
            direct_routes=[(CALLBACK_PREFIX, receiver.route())],
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
