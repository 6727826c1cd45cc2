"""Redis commands per webhook event, and how many of them touch the index hash tag (the one
slot, so the one Redis Cluster shard, that every cross-session index lives in).

    .venv/bin/python -m benchmarks.index_commands [--chats 20] [--rate 50] [--seconds 4]

Starts the stack as the benchmark does (emulator, one connector on a private redis-server),
opens the chats, warms up, then records every command with `MONITOR` during one fixed rate of
MESSAGES webhooks. Prints commands per delivered event, those on the index tag per event, and
the index commands by kind with an example of each. Small and slow by design (MONITOR costs
Redis time): run it at low rates only.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
from collections import Counter
from pathlib import Path

import redis

from benchmarks import servers
from benchmarks.loadgen import Tracker, run_rate
from benchmarks.scenarios import close_all
from benchmarks.suites import ConnectorRun, open_customers


class Monitor:
    """Every command Redis runs, from a MONITOR connection read in a thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.commands: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=30)
        with client.monitor() as monitor:  # type: ignore[no-untyped-call]
            for entry in monitor.listen():
                self.commands.append(str(entry["command"]))
                if self.stop.is_set():
                    return


def kind(command: str) -> str:
    words = command.split()
    name = words[0].upper()
    return f"{name} {words[1][:12]}" if name in {"EVALSHA", "EVAL"} and len(words) > 1 else name


async def count(chats: int, rate: float, seconds: float) -> None:
    servers.pin_self()
    with tempfile.TemporaryDirectory(prefix="axp-index-") as tmp:
        stack = servers.connector_stack("redis", 1, Path(tmp), Path(tmp))
        try:
            assert stack.redis is not None
            tracker = Tracker()
            customers = await open_customers(stack, chats, tracker, "m")
            run = ConnectorRun(stack, {c.address: c.customer for c in customers})
            target = run.target("index", list(customers), tracker)
            await run_rate(target.ports, target.pushes("warm"), tracker, rate, 1)
            monitor = Monitor(stack.redis.port)
            monitor.thread.start()
            await asyncio.sleep(0.5)
            first = len(monitor.commands)
            result = await run_rate(target.ports, target.pushes("mon"), tracker, rate, seconds)
            await asyncio.sleep(0.5)
            monitor.stop.set()
            during = monitor.commands[first:]
            await close_all(target.clients)
        finally:
            stack.stop()
    tag = "{" + stack_prefix(during) + "i}:" if during else ""
    index = [c for c in during if tag and tag in c]
    delivered = max(1, result.delivered)
    print(result.brief())
    print(f"commands per event: {len(during) / delivered:.2f}")
    print(f"on the index tag per event: {len(index) / delivered:.2f}")
    examples: dict[str, str] = {}
    for command in index:
        examples.setdefault(kind(command), command[:160])
    for name, n in Counter(kind(c) for c in index).most_common():
        print(f"  {n / delivered:5.2f}  {name}  e.g. {examples[name]}")


def stack_prefix(commands: list[str]) -> str:
    """The key prefix of the run (`bench-xxxxxxxx:`), read off the index tag `{<prefix>i}`."""
    for command in commands:
        if "{bench-" in command:
            start = command.index("{bench-") + 1
            return command[start : command.index(":", start) + 1]
    return "bench-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=4)
    args = parser.parse_args()
    asyncio.run(count(args.chats, args.rate, args.seconds))


if __name__ == "__main__":
    main()
