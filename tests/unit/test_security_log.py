"""The security log: every refusal counted, at most one line per (kind, source) per interval."""

from __future__ import annotations

from structlog.testing import capture_logs

from axp_chat_connector.metrics import Metrics
from axp_chat_connector.security_log import Kind, SecurityLog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def counted(metrics: Metrics, kind: Kind) -> float:
    value = metrics.registry.get_sample_value(
        "axp_chat_security_events_total", {"kind": kind.value}
    )
    return value or 0.0


def test_one_line_per_kind_and_source_per_interval_and_every_event_counted() -> None:
    metrics, clock = Metrics(), Clock()
    log = SecurityLog(metrics.security_events, interval=60, clock=clock)
    with capture_logs() as lines:
        for _ in range(5):
            log.report(Kind.BAD_TOKEN, "198.51.100.1")
        log.report(Kind.BAD_TOKEN, "198.51.100.2")
        log.report(Kind.ORIGIN_REFUSED, "198.51.100.1")
        clock.now = 61
        log.report(Kind.BAD_TOKEN, "198.51.100.1")
    assert [(line["event"], line["source"], line["suppressed"]) for line in lines] == [
        ("security.bad_token", "198.51.100.1", 0),
        ("security.bad_token", "198.51.100.2", 0),
        ("security.origin_refused", "198.51.100.1", 0),
        ("security.bad_token", "198.51.100.1", 4),  # the four left out in the last interval
    ]
    assert all(line["log_level"] == "warning" for line in lines)
    assert counted(metrics, Kind.BAD_TOKEN) == 7
    assert counted(metrics, Kind.ORIGIN_REFUSED) == 1


def test_the_table_of_sources_is_bounded() -> None:
    log = SecurityLog(Metrics().security_events, max_sources=3, clock=Clock())
    with capture_logs() as lines:
        for n in range(100):
            log.report(Kind.RATE_LIMITED, f"203.0.113.{n}")
    assert len(log._last) == 3
    assert len(lines) == 100  # each new source gets its line
