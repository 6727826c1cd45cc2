"""The session layer's composition: settings → `ServiceConfig`, and every room of the session
layer built and wired (`build_sessions`). `connector.assemble` calls it with the real store, bus
and AXP client; the session tests call it with theirs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.bus.base import Bus
from axp_chat_connector.bus.redis import RedisBus
from axp_chat_connector.config import Settings
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.sessions import config as session_config
from axp_chat_connector.sessions.axp_session import AxpSessions
from axp_chat_connector.sessions.chat import Chats, Unpark
from axp_chat_connector.sessions.closing import Closing
from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.hold import MessageHold
from axp_chat_connector.sessions.identity import IdTokenPolicy
from axp_chat_connector.sessions.login import Logins
from axp_chat_connector.sessions.memory import SessionMemory
from axp_chat_connector.sessions.messages import Messages
from axp_chat_connector.sessions.outbox import OutboxWorker
from axp_chat_connector.sessions.records import Clock, SessionRecords
from axp_chat_connector.sessions.service import SessionService
from axp_chat_connector.sessions.settlement import Settlement
from axp_chat_connector.sessions.sweeper import Sweeper
from axp_chat_connector.sessions.timers import Timers
from axp_chat_connector.store import Store
from axp_chat_connector.store.redis import RedisStore
from axp_chat_connector.webhooks.intake import WebhookIntake
from axp_chat_connector.webhooks.metrics import WebhookAppended


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
        outbox_depth = _both(metrics.outbox_seen, outbox_depth)
    records = SessionRecords(
        store=store,
        bus=bus,
        clock=clock,
        notices=_write_notices(store, bus),
        memory=_memory(store),
    )
    timers = Timers(store=store, config=config, clock=clock)
    closing = Closing(records=records, timers=timers)
    hold = MessageHold(records=records, store=store, config=config)
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
        settlement=Settlement(records=records, hold=hold, config=config),
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
    sweeper = _sweeper(records, hold, chats, logins, service, store, config, metrics)
    return Sessions(service, intake, outbox, sweeper, records)


def _sweeper(
    records: SessionRecords,
    hold: MessageHold,
    chats: Chats,
    logins: Logins,
    service: SessionService,
    store: Store,
    config: ServiceConfig,
    metrics: Metrics | None,
) -> Sweeper:
    """The timers' worker, over the rooms whose deadlines it runs."""
    return Sweeper(
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


def _both(
    first: Callable[[int], None], then: Callable[[int], None] | None
) -> Callable[[int], None]:
    """`first`, and `then` too when given (a test's observer beside the metrics)."""
    if then is None:
        return first

    def both(value: int) -> None:
        first(value)
        then(value)

    return both


def _write_notices(store: Store, bus: Bus) -> Callable[[str], str] | None:
    """A session's bus channel, when the store can publish a write's notice in the write's own
    step (a Redis store and a Redis bus on one single server): one round trip fewer per write,
    and no write whose notice a crash lost."""
    if (
        isinstance(store, RedisStore)
        and isinstance(bus, RedisBus)
        and bus.same_server(store.client)
    ):
        return bus.channel
    return None


def _memory(store: Store) -> SessionMemory | None:
    """A memory of the sessions AXP's webhooks write, so the next webhook skips the read
    (`sessions/memory.py`), where this process is their only writer (SQLite). On Redis the
    other instances write them too: a remembered version would often be stale there, and a
    stale one costs a failed write and a read, more than the read it saves."""
    return SessionMemory() if store.sole_writer else None
