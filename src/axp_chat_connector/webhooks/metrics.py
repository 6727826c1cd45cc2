"""Prometheus metrics of the webhook intake (on the app's registry)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

ANSWER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "axp_chat_webhook_events",
            "AXP callbacks by event type and outcome (appended, duplicate, parked, ignored).",
            ["event_type", "outcome"],
            registry=registry,
        )
        self.answer = Histogram(
            "axp_chat_webhook_answer_seconds",
            "Time to answer an AXP callback (target: p99 under 50 ms).",
            buckets=ANSWER_BUCKETS,
            registry=registry,
        )

        self.requests = Counter(
            "axp_chat_webhook_requests",
            "AXP callback POSTs by result: the intake's outcome, or why the receiver refused it "
            "(unauthorized, too_large, malformed, foreign, store_unavailable, busy).",
            ["result"],
            registry=registry,
        )

    def counted(self, result: str) -> None:
        self.requests.labels(result).inc()

    def observe(self, event_type: str, outcome: str, seconds: float) -> None:
        self.events.labels(event_type, outcome).inc()
        self.answer.observe(seconds)


WebhookAppended = Callable[[str, int, float], None]
"""(session id, seq, `time.perf_counter()` when the webhook came in) of each event a webhook
appended: `Metrics.webhook_appended`, for the webhook-to-client latency."""
