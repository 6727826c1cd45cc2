"""Profile the connector under load: one fixed push rate while py-spy samples every instance.

    .venv/bin/python -m benchmarks.profile --store sqlite --rate 1500 --seconds 10
    .venv/bin/python -m benchmarks.profile --store redis --instances 2 --rate 800
    .venv/bin/python -m benchmarks.profile --store redis --transport polling --rate 500

Starts the stack as the benchmark does (emulator, connector(s), a private Redis), opens the
customers, then runs the rate while `py-spy record --format raw` samples each instance (py-spy
is not a dependency: `pip install py-spy`; without it only the rate and the GC figure print).
Prints the rate's latencies, the connector's worst GC pause, and per instance the functions
with the most samples: *self* (the function itself was running) and *total* (anywhere on the
stack), as a share of the samples. The raw stacks stay in `--out` for a flame graph.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks import probes, servers
from benchmarks.clients import Client
from benchmarks.connector_clients import open_poll, open_sse
from benchmarks.loadgen import Tracker, run_rate
from benchmarks.scenarios import close_all
from benchmarks.suites import ConnectorRun, open_customers

TOP = 25


def _frame_name(frame: str) -> str:
    """`function (path/module.py:line)` → `module.py:function` (lines differ per sample)."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    return f"{Path(path).name}:{name}"


def summarize(raw: Path, top: int = TOP) -> str:
    """The `top` functions by self and by total samples of a py-spy raw (collapsed) file."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";")[1:]]  # [0] is the thread
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for name in set(frames):
            total[name] += count
    if not samples:
        return "no samples"
    lines = [f"{samples} samples", "self:"]
    lines += [f"  {100 * n / samples:5.1f} %  {name}" for name, n in own.most_common(top)]
    lines.append("total:")
    lines += [f"  {100 * n / samples:5.1f} %  {name}" for name, n in total.most_common(top)]
    return "\n".join(lines)


def start_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        return None
    argv = [spy, "record", "-p", str(pid), "-d", str(int(seconds) + 1), "-r", "250"]
    argv += ["-f", "raw", "-o", str(out), "--nonblocking", "--threads"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def profile(
    transport: str, store: str, instances: int, clients: int, rate: float, seconds: float, out: Path
) -> None:
    servers.pin_self()
    with tempfile.TemporaryDirectory(prefix="axp-profile-") as tmp:
        stack = servers.connector_stack(store, instances, Path(tmp), Path(tmp))
        try:
            tracker = Tracker()
            opened = await open_customers(stack, clients, tracker, "p")
            run = ConnectorRun(stack, {c.address: c.customer for c in opened})
            streams: list[Client] = list(opened)
            if transport != "ws":  # the same customers, each holding one poll or SSE stream
                await close_all(streams)
                opener = open_poll if transport == "polling" else open_sse
                streams = [await opener(c, tracker) for c in run.customers.values()]
            target = run.target(f"connector {store}", streams, tracker)
            await run_rate(target.ports, target.pushes("warm"), tracker, rate / 2, 2)
            spies = [
                (
                    pid,
                    out / f"{store}-{pid}.txt",
                    start_spy(pid, seconds, out / f"{store}-{pid}.txt"),
                )
                for pid in target.pids
            ]
            before = probes.gc_pauses(target.ports)
            redis_port = stack.redis.port if stack.redis else None
            start = probes.snapshot(target.pids, redis_port)
            result = await run_rate(target.ports, target.pushes("profile"), tracker, rate, seconds)
            cost = probes.cost_per_event(
                start, probes.snapshot(target.pids, redis_port), result.delivered
            )
            during = probes.pauses_between(before, probes.gc_pauses(target.ports))
            print(result.brief())
            print("cost: " + ", ".join(f"{k} {v:.3g}" for k, v in cost.items()))
            print(f"worst GC pause since start: {probes.gc_pause_max(target.ports)}")
            print(f"GC collections during the rate: {during}")
            for pid, path, spy in spies:
                if spy is None:
                    print("py-spy is not installed: no profile")
                    continue
                spy.wait(timeout=seconds + 30)
                print(f"--- instance pid {pid} ({path})")
                print(summarize(path) if path.exists() else "py-spy wrote nothing")
            await close_all(target.clients)
        finally:
            stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--transport", choices=["ws", "polling", "sse"], default="ws")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--out", type=Path, default=Path("test-artifacts/profile"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(
        profile(
            args.transport,
            args.store,
            args.instances,
            args.clients,
            args.rate,
            args.seconds,
            args.out,
        )
    )


if __name__ == "__main__":
    main()
