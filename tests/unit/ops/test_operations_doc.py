"""docs/operations.md and the Grafana dashboard stay true to the code: every warning and error
the connector logs is explained, every metric is listed, and every query names only metrics
the connector's registry exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.connector import webhook_receiver
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.security_log import Kind
from tests.unit.axp.fakes import settings

ROOT = Path(__file__).resolve().parents[3]
SOURCE = ROOT / "src" / "axp_chat_connector"
DOC = ROOT / "docs" / "operations.md"
DASHBOARD = ROOT / "docs" / "grafana" / "axp-chat-connector.json"

LOG_CALL = re.compile(r'(?<![\w.])_?log\.(warning|error|exception|critical)\(\s*"([^"]+)"')
METRIC_NAME = re.compile(r"\baxp_chat_[a-z0-9_]+")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def logged_problems() -> dict[str, str]:
    """Event name → level of every warning and error logged by the connector (not the
    emulator, which is a test double of AXP)."""
    found: dict[str, str] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        if "emulator" in path.relative_to(SOURCE).parts:
            continue
        for level, event in LOG_CALL.findall(path.read_text(encoding="utf-8")):
            found[event] = "error" if level in ("exception", "critical") else level
    found.update({f"security.{kind.value}": "warning" for kind in Kind})  # one call, a name each
    return found


def section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def table_rows(title: str) -> Iterator[list[str]]:
    """The cells of each body row of the section's table (after its `|---|` line)."""
    body = False
    for line in section(title).splitlines():
        body = body or line.startswith("|---")
        if body and line.startswith("| "):
            cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
            yield [cell.strip().replace("\\|", "|") for cell in cells]


async def exported() -> tuple[set[str], set[str]]:
    """(the metric names a scrape shows, as listed in the doc; every sample name a query may
    use) of a registry filled as `connector.assemble` fills it."""
    metrics = Metrics()
    axp = AxpClient(settings(), registry=metrics.registry)
    await axp.aclose()

    async def handler(body: dict[str, object], started: float) -> str:
        return "appended"

    webhook_receiver(settings(), handler, metrics)
    return _names(metrics.registry)


def _names(registry: CollectorRegistry) -> tuple[set[str], set[str]]:
    listed: set[str] = set()
    samples: set[str] = set()
    for family in registry.collect():
        suffixes = SUFFIXES[family.type]
        listed.add(family.name + ("_total" if family.type == "counter" else ""))
        samples.update(family.name + suffix for suffix in suffixes)
    return listed, samples


def test_every_logged_warning_and_error_is_explained_with_its_level() -> None:
    documented = {
        row[0].strip("`"): row[1] for row in table_rows("Log events (warnings and errors)")
    }
    assert documented == logged_problems()


def test_the_log_scan_finds_calls_across_lines_and_bound_loggers() -> None:
    found = LOG_CALL.findall('_log.warning(\n    "a.b", x=1)\nlog.error("c.d")\nx.log.info("e")')
    assert found == [("warning", "a.b"), ("error", "c.d")]


async def test_every_exported_metric_is_listed_and_every_listed_one_exported() -> None:
    listed, _ = await exported()
    documented = {row[0].strip("`") for row in table_rows("Metrics")}
    assert documented == listed


async def test_every_alert_names_only_exported_metrics() -> None:
    _, samples = await exported()
    queries = [row[1] for row in table_rows("Alerts")]
    assert len(queries) >= 10
    for query in queries:
        names = set(METRIC_NAME.findall(query))
        assert names, query
        assert names <= samples, (query, names - samples)


async def test_every_dashboard_query_names_only_exported_metrics() -> None:
    _, samples = await exported()
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(queries) >= 20
    used: set[str] = set()
    for query in queries:
        names = set(METRIC_NAME.findall(query))
        assert names, query
        assert names <= samples, (query, names - samples)
        used |= names
    assert {name.removesuffix("_bucket") for name in used} >= {
        "axp_chat_outbox_depth",
        "axp_chat_gc_pause_max_seconds",
        "axp_chat_background_restarts_total",
    }


@pytest.mark.parametrize("query", ["rate(axp_chat_no_such_metric_total[5m])"])
async def test_a_query_naming_an_unknown_metric_would_be_caught(query: str) -> None:
    _, samples = await exported()
    assert not set(METRIC_NAME.findall(query)) <= samples
