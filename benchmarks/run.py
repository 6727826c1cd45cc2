"""The side-by-side benchmark: every server started here, one table, one JSON file, plots.

    .venv/bin/python -m benchmarks.run [--smoke] [--out DIR] [--only NAME,...]

Servers: bare Starlette/uvicorn (WS), python-socketio (WS), node socket.io 4 (WS and long
polling; `npm ci` into benchmarks/node when its node_modules are missing), and the connector
with the AXP emulator on SQLite and on Redis (1, 2 and 3 instances on one private
redis-server). Each server runs pinned to core 0, the load generator (this process) and the
emulator to core 1. Everything talks to 127.0.0.1 only. `--smoke`: a few clients, one low rate,
SQLite and the bare peer only (and node if its node_modules are present), well under a minute.
Writes DIR/bench.json, DIR/latency.png and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from benchmarks import report, servers
from benchmarks.clients import open_bare, open_socketio_polling, open_socketio_ws
from benchmarks.loadgen import generator_ceiling
from benchmarks.report import progress
from benchmarks.suites import Opener, Plan, connector_suite, peer_suite

FULL = Plan(
    clients=1000,
    rates=(500, 2000),
    poll_rates=(500,),
    seconds=4.0,
    search=True,
    search_start=250,
    idle_counts=(1000, 5000, 10000),
    idle_budget=120.0,
    send_clients=20,
    send_rate=50,
    send_seconds=4.0,
    scale_rate=200,
    redis_instances=(1, 2, 3),
    ceiling_seconds=2.0,
    storm_clients=10000,
)
SMOKE = Plan(
    clients=4,
    rates=(20,),
    poll_rates=(20,),
    seconds=1.5,
    search=False,
    search_start=20,
    idle_counts=(20,),
    idle_budget=20.0,
    send_clients=2,
    send_rate=5,
    send_seconds=1.0,
    scale_rate=20,
    redis_instances=(1, 2),
    ceiling_seconds=0.5,
    smoke=True,
)
EVERY = ("bare", "python-socketio", "node", "sqlite", "redis")


def raise_open_files() -> None:
    """10,000 idle connections need more than the usual 1,024 descriptors on each side."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    node = "none"
    if shutil.which("node"):  # its packages may still be installed later in the run
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}, node {node}, load average at start {load}"
    )


Results = list[dict[str, Any]]


async def guarded(results: Results, name: str, transport: str, suite: Awaitable[Any]) -> None:
    """Run one suite; a failure is noted as that server's result and the run goes on."""
    try:
        found = await suite
        results += found if isinstance(found, list) else [found]
    except Exception as exc:
        progress(f"  {name} ({transport}) failed: {exc!r}")
        results.append({"server": name, "transport": transport, "note": f"failed: {exc!r}"})


async def peers(plan: Plan, only: set[str], logs: Path, ceiling: float, results: Results) -> None:
    runs: list[tuple[str, str, str, Opener]] = []
    if "bare" in only:
        runs.append(("bare starlette", "ws", "bare", open_bare))
    if "python-socketio" in only:
        runs.append(("python-socketio", "ws", "pysocketio", open_socketio_ws))
    if "node" in only and (servers.node_ready() if plan.smoke else servers.node_install()):
        runs.append(("node socket.io", "ws", "node", open_socketio_ws))
        runs.append(("node socket.io", "polling", "node", open_socketio_polling))
    for name, transport, module, opener in runs:
        progress(f"{name} ({transport})")
        process = servers.node_peer(logs) if module == "node" else servers.python_peer(module, logs)
        with servers.running(process):
            suite = peer_suite(name, transport, process, opener, plan, ceiling)
            await guarded(results, name, transport, suite)


async def connector(store: str, instances: int, plan: Plan, tmp: Path, ceiling: float) -> Any:
    stack = servers.connector_stack(store, instances, tmp, tmp)
    try:
        return await connector_suite(stack, plan, ceiling)
    finally:
        stack.stop()


async def run(plan: Plan, only: set[str], out: Path) -> dict[str, Any]:
    """Every suite in turn; the JSON is rewritten after each, so a run cut short keeps what
    it measured."""
    servers.pin_self()
    raise_open_files()
    results: Results = []
    report_: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "pinned": servers.pinning(),
            "smoke": plan.smoke,
            "argv": sys.argv[1:],
        },
        "plan": {**plan.__dict__},
        "servers": results,
    }

    def save() -> None:
        report_["lost"], report_["duplicated"] = report.totals(results)
        (out / "bench.json").write_text(json.dumps(report_, indent=1) + "\n")

    with tempfile.TemporaryDirectory(prefix="axp-bench-") as tmp:
        null = servers.python_peer("null", Path(tmp))
        with servers.running(null):
            ceiling = report_["generator_ceiling"] = await generator_ceiling(
                null.port, plan.ceiling_seconds
            )
        progress(f"load generator ceiling: {ceiling:,.0f} POSTs/s")
        await peers(plan, only, Path(tmp), ceiling, results)
        save()
        layouts = [("sqlite", 1)] if "sqlite" in only else []
        layouts += [("redis", n) for n in plan.redis_instances if "redis" in only]
        for store, instances in layouts:
            progress(f"connector {store} x {instances}")
            suite = connector(store, instances, plan, Path(tmp), ceiling)
            await guarded(results, f"connector {store}", "ws", suite)
            save()
    return report_


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run, well under a minute")
    parser.add_argument(
        "--report", type=Path, help="print the table and plot of an earlier run's JSON; no run"
    )
    parser.add_argument(
        "--out", type=Path, help="default: benchmarks/results (smoke: test-artifacts/bench-smoke)"
    )
    parser.add_argument(
        "--only", help=f"a subset of {','.join(EVERY)} (default: all; smoke: bare,node,sqlite)"
    )
    parser.add_argument("--clients", type=int, help="override the plan's client count")
    parser.add_argument("--seconds", type=float, help="override the plan's seconds per rate")
    parser.add_argument("--rates", help="override the plan's fixed WS rates, e.g. 500,2000")
    parser.add_argument("--storm", type=int, help="override the reconnect storm's customer count")
    parser.add_argument("--idle", help="override the plan's idle connection counts, e.g. 1000,5000")
    args = parser.parse_args()
    # stopped with SIGTERM: unwind, so that every server started is stopped too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.report:
        result = json.loads(args.report.read_text())
        print(report.text(result))
        print(f"plot: {report.plot(result, args.report.with_name('latency.png'))}")
        return
    plan = SMOKE if args.smoke else FULL
    overrides = {"clients": args.clients, "seconds": args.seconds, "storm_clients": args.storm}
    if args.rates:
        overrides["rates"] = tuple(float(rate) for rate in args.rates.split(","))
    if args.idle:
        overrides["idle_counts"] = tuple(int(count) for count in args.idle.split(","))
    plan = dataclasses.replace(plan, **{k: v for k, v in overrides.items() if v is not None})
    default_out = "test-artifacts/bench-smoke" if args.smoke else "benchmarks/results"
    out: Path = args.out or Path(default_out)
    only = set((args.only or ("bare,node,sqlite" if args.smoke else ",".join(EVERY))).split(","))
    out.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(run(plan, only, out))
    plotted = report.plot(result, out / "latency.png")
    print(report.text(result))
    print(f"JSON: {out / 'bench.json'}" + (f", plot: {plotted}" if plotted else ""))


if __name__ == "__main__":
    main()
