"""Prometheus metrics of one app, on its own `CollectorRegistry` (tests build many apps).

Other parts add their metrics to `Metrics.registry`. The webhook-to-client latency is measured
in two halves: the webhook intake calls `webhook_appended(session_id, seq, started)` once the
event is appended (`started` = `time.perf_counter()` when the POST arrived), and the transports
call `delivered(session_id, seq)` when they first write that event to a client of this
process; the histogram gets the difference. Events that never reach a local client are
forgotten (the table is bounded).

The operations metrics (docs/operations.md) are recorded through callbacks handed to each part
at construction (`connector.assemble`): the outbox worker, the sweeper, the background tasks'
supervisor, the AXP token manager; the transports call `resume_answered` and `gap`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from axp_chat_connector.errors import Gap
from axp_chat_connector.gc_pauses import GcPauses

PENDING_MAX: Final = 10_000
"""Appended events awaiting their first delivery that are remembered for the histogram."""

LATENCY_BUCKETS: Final = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)

OUTBOX_WAIT_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
TRANSPORTS: Final = ("websocket", "sse", "longpoll")
WORKERS: Final = ("outbox", "sweeper")
"""The supervised background workers (`connector.assemble`)."""


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.connections = Gauge(
            "axp_chat_connections",
            "Client connections open now (long polling: polls being held).",
            ["transport"],
            registry=self.registry,
        )
        self.security_events = Counter(
            "axp_chat_security_events",
            "Refusals that may be an attack, by kind (`security_log.Kind`).",
            ["kind"],
            registry=self.registry,
        )
        self.commands = Counter(
            "axp_chat_commands",
            "Client commands by type and result (ok, or the error code).",
            ["type", "result"],
            registry=self.registry,
        )
        self.frames_out = Counter(
            "axp_chat_frames_out",
            "Frames written to clients, by transport and kind (answer, event, ephemeral).",
            ["transport", "kind"],
            registry=self.registry,
        )
        self.webhook_to_client = Histogram(
            "axp_chat_webhook_to_client_seconds",
            "From a webhook POST arriving to its event's first write to a client.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "axp_chat_outbox_depth",
            "Customer sends accepted and not yet delivered to AXP (all instances).",
            registry=self.registry,
        )
        self._operations()
        self.ws_connections = self.connections.labels("websocket")
        self.poll_connections = self.connections.labels("longpoll")
        self.ws_answers = self.frames_out.labels("websocket", "answer")
        self.ws_events = self.frames_out.labels("websocket", "event")
        self.ws_ephemeral = self.frames_out.labels("websocket", "ephemeral")
        self.poll_answers = self.frames_out.labels("longpoll", "answer")
        self.poll_events = self.frames_out.labels("longpoll", "event")
        self.poll_ephemeral = self.frames_out.labels("longpoll", "ephemeral")
        self._pending: OrderedDict[tuple[str, int], float] = OrderedDict()

    def _operations(self) -> None:
        registry = self.registry
        self.outbox_oldest_age = Gauge(
            "axp_chat_outbox_oldest_age_seconds",
            "Age of the oldest send in the outbox worker's last batch that claimed any (a send "
            "backing off keeps it; 0 once the outbox is empty).",
            registry=registry,
        )
        self.outbox_wait = Histogram(
            "axp_chat_outbox_wait_seconds",
            "From a send's acceptance to its delivery to AXP (or its failure).",
            buckets=OUTBOX_WAIT_BUCKETS,
            registry=registry,
        )
        self.sessions_connected = Gauge(
            "axp_chat_sessions_connected",
            "Sessions with a client connected to this instance (refreshed by the sweeper).",
            registry=registry,
        )
        self.resumes = Counter(
            "axp_chat_resumes",
            "Clients that resumed a session (a reconnect), by transport.",
            ["transport"],
            registry=registry,
        )
        self.replayed = Counter(
            "axp_chat_replayed_events",
            "Events sent again to a resuming client (those after its resume point), by transport.",
            ["transport"],
            registry=registry,
        )
        self.gaps = Counter(
            "axp_chat_gaps",
            "Resumes that asked for events no longer kept (a `gap`), by transport.",
            ["transport"],
            registry=registry,
        )
        self.unroutable = Counter(
            "axp_chat_webhook_unroutable",
            "Parked AXP callbacks that never found their chat and were dropped.",
            registry=registry,
        )
        self.background_restarts = Counter(
            "axp_chat_background_restarts",
            "Background workers restarted after a failure, by task (outbox, sweeper).",
            ["task"],
            registry=registry,
        )
        self.gc = GcPauses(registry)
        for task in WORKERS:
            self.background_restarts.labels(task)
        for transport in TRANSPORTS:  # every series exists from the start (rate() needs it)
            self.resumes.labels(transport)
            self.replayed.labels(transport)
            self.gaps.labels(transport)

    def resume_answered(self, transport: str, after: int, frame: Mapping[str, object]) -> None:
        """A `resume` command's answer over `transport`: a resume, with the events after the
        client's `after` that it will be sent again; or a `gap` (then `history` is its way)."""
        if frame.get("type") == "error":
            if frame.get("code") == Gap.code:
                self.resumes.labels(transport).inc()
                self.gaps.labels(transport).inc()
            return
        self.resumes.labels(transport).inc()
        seq = frame.get("seq")
        if isinstance(seq, int) and seq > after:
            self.replayed.labels(transport).inc(seq - after)

    def gap(self, transport: str) -> None:
        self.gaps.labels(transport).inc()

    def outbox_claimed(self, created_at: list[float], now: float) -> None:
        """A claim: its oldest send's age. An empty claim changes nothing (the sends left may
        be backing off: they are no younger for it); `outbox_seen(0)` says it is empty."""
        if created_at:
            self.outbox_oldest_age.set(now - min(created_at))

    def outbox_seen(self, depth: int) -> None:
        """The outbox's depth, read while the worker idles."""
        self.outbox_depth.set(depth)
        if depth == 0:
            self.outbox_oldest_age.set(0.0)

    def restarted(self, task: str) -> None:
        self.background_restarts.labels(task).inc()

    def command(self, command_type: str, frame: dict[str, object]) -> None:
        result = frame.get("code", "ok") if frame.get("type") == "error" else "ok"
        self.commands.labels(command_type, str(result)).inc()

    def webhook_appended(self, session_id: str, seq: int, started: float) -> None:
        pending = self._pending
        pending[session_id, seq] = started
        if len(pending) > PENDING_MAX:
            pending.popitem(last=False)

    def delivered(self, session_id: str, seq: int) -> None:
        if not self._pending:
            return
        started = self._pending.pop((session_id, seq), None)
        if started is not None:
            self.webhook_to_client.observe(time.perf_counter() - started)
