"""The benchmark's smoke run (`python -m benchmarks.run --smoke`), so that the harness cannot rot:
it starts its servers, runs every scenario small, and writes JSON with every figure; and the
capacity scenario (`python -m benchmarks.capacity`) at a tiny size."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.loadgen import RateResult
from tests.servers import ROOT, TIME_SCALE

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(int(300 * TIME_SCALE))]

RATE_KEYS = set(RateResult.__slots__)
SEND_KEYS = {"rate", "sent", "failed", "ok_p50_ms", "ok_p99_ms", "echo_p50_ms", "echo_p99_ms"}
STORM_KEYS = {"clients", "resumed", "failed", "all_bound_seconds", "resume_p50_ms", "resume_p99_ms"}


def entry(report: dict[str, Any], server: str, transport: str) -> dict[str, Any]:
    found = [r for r in report["servers"] if (r["server"], r["transport"]) == (server, transport)]
    assert len(found) == 1, f"{server} ({transport}) not once in {report['servers']}"
    return dict(found[0])


def assert_pushes(result: dict[str, Any]) -> None:
    assert result["rates"], result
    for rate in result["rates"]:
        assert set(rate) == RATE_KEYS
        assert rate["delivered"] == rate["sent"] > 0, rate
        assert rate["lost"] == rate["duplicated"] == rate["failed"] == 0, rate


def assert_idle(result: dict[str, Any]) -> None:
    (idle,) = result["idle"]
    assert idle["kb_each"] > 0, idle
    assert idle["open_seconds"] > 0, idle


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--out", str(out)],
        cwd=ROOT,
        check=True,
        timeout=280 * TIME_SCALE,
    )
    assert (out / "latency.png").stat().st_size > 0
    result: dict[str, Any] = json.loads((out / "bench.json").read_text())
    return result


def test_smoke_run_states_the_machine_and_the_generator_ceiling(report: dict[str, Any]) -> None:
    assert {"date", "machine", "pinned", "smoke"} <= set(report["meta"])
    assert report["meta"]["smoke"] is True
    assert report["generator_ceiling"] > 0


def test_smoke_run_measures_the_bare_peer(report: dict[str, Any]) -> None:
    bare = entry(report, "bare starlette", "ws")
    assert_pushes(bare)
    assert_idle(bare)


def test_smoke_run_measures_the_connector_over_every_transport(report: dict[str, Any]) -> None:
    ws = entry(report, "connector sqlite", "ws")
    assert_pushes(ws)
    assert_idle(ws)
    assert set(ws["send"]) >= SEND_KEYS
    assert ws["send"]["failed"] == 0
    assert set(ws["storm"]) >= STORM_KEYS
    assert ws["storm"]["resumed"] == ws["storm"]["clients"] > 0
    assert "gc_pause_max_seconds" in ws
    assert_pushes(entry(report, "connector sqlite", "polling"))
    sse = entry(report, "connector sqlite", "sse")
    if "note" not in sse:  # the connector has no /v1/sse yet: the run says so and skips it
        assert_pushes(sse)


def test_node_peer_is_measured_when_its_packages_are_installed(report: dict[str, Any]) -> None:
    if not (Path(ROOT) / "benchmarks" / "node" / "node_modules" / "socket.io").exists():
        pytest.skip("benchmarks/node/node_modules missing (the full run installs them)")
    assert_pushes(entry(report, "node socket.io", "ws"))
    assert_pushes(entry(report, "node socket.io", "polling"))


def test_smoke_run_loses_and_duplicates_nothing(report: dict[str, Any]) -> None:
    assert report["lost"] == 0
    assert report["duplicated"] == 0


@pytest.fixture(scope="module")
def capacity(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The capacity scenario at a tiny size (about 11 s): 2 instances x 20 idle sockets."""
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server installed (the capacity run starts its own)")
    out = tmp_path_factory.mktemp("capacity") / "capacity.json"
    argv = ["--instances", "2", "--idle", "20", "--chats", "4", "--rate", "20", "--seconds", "1"]
    subprocess.run(
        [sys.executable, "-m", "benchmarks.capacity", *argv, "--budget", "120", "--out", str(out)],
        cwd=ROOT,
        check=True,
        timeout=150 * TIME_SCALE,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def test_capacity_run_keeps_every_idle_socket_open_while_events_flow(
    capacity: dict[str, Any],
) -> None:
    assert capacity["phase"] == "done"
    assert "failed" not in capacity
    idle = capacity["idle"]
    assert idle["complete"], idle
    assert idle["opened"] == 2 * 20, idle
    assert all(i["kb_per_connection"] is not None for i in idle["instances"]), idle
    rate = capacity["rate"]
    assert rate["delivered"] == rate["sent"] > 0, rate
    assert rate["lost"] == rate["duplicated"] == rate["failed"] == 0, rate
    assert {"cpu_seconds_per_1000", "redis_commands_per_event", "gc"} <= set(rate)
    end = capacity["idle_at_end"]
    assert end["open"] == 40, end
    assert end["closed"] == 0, end
    assert end["ping_failures"] == 0, end
    assert capacity["model"]["lines"]
