"""Prometheus metrics of AXP calls: every attempt by operation, status and latency; and the
access token's fetches (the first and every renewal), by result.

`AxpClient(settings, registry=metrics.registry)` registers them on the app's registry
(`axp_chat.metrics.Metrics.registry`); without a registry nothing is recorded.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class AxpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Histogram(
            "axp_chat_axp_call_seconds",
            "AXP call attempts by Avaya operationId and HTTP status (or the transport error).",
            ["operation", "status"],
            buckets=BUCKETS,
            registry=registry,
        )

        self.token_renewals = Counter(
            "axp_chat_axp_token_renewals",
            "AXP access tokens fetched (at start and each renewal) by result (ok, failed).",
            ["result"],
            registry=registry,
        )
        for result in ("ok", "failed"):
            self.token_renewals.labels(result)

    def token_fetched(self, result: str) -> None:
        self.token_renewals.labels(result).inc()

    def attempt(self, operation: str, status: int | str, seconds: float) -> None:
        self.calls.labels(operation, str(status)).observe(seconds)
