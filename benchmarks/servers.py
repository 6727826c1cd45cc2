"""Start and stop every server of the run as child processes on 127.0.0.1, pinned to a core.

The servers measured run on `SERVER_CORE`; the load generator (this process) and the AXP
emulator run on `LOAD_CORE`. On a one-core machine nothing is pinned.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = Path(__file__).resolve().parent / "node"
SERVER_CORE, LOAD_CORE = 0, 1
READY_SECONDS = 60.0


_PIN = {SERVER_CORE, LOAD_CORE} <= os.sched_getaffinity(0)


def pinning() -> bool:
    """Whether servers and load generator get a core each (both cores are ours to use)."""
    return _PIN


def pin_self() -> None:
    """Pin the load generator (this process and the children it starts later) to LOAD_CORE."""
    if _PIN:
        os.sched_setaffinity(0, {LOAD_CORE})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Process:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(
    name: str,
    argv: Sequence[str],
    port: int,
    logs: Path,
    env: dict[str, str] | None = None,
    *,
    core: int | None = SERVER_CORE,
) -> Process:
    """Start `argv` (pinned to `core` when there are cores to spare); output to a log file."""
    prefix = ["taskset", "-c", str(core)] if core is not None and pinning() else []
    log = logs / f"{name}-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*prefix, *argv],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Process(name, port, proc, log)


def wait_ready(process: Process, url: str | None = None) -> Process:
    """Wait until `url` answers 2xx (or, without one, the port accepts connections)."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            tail = process.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{process.name} exited with {process.proc.returncode}: {tail}")
        with contextlib.suppress(httpx.TransportError, OSError):
            if url is None:
                socket.create_connection(("127.0.0.1", process.port), timeout=1).close()
                return process
            if httpx.get(url, timeout=2).is_success:
                return process
        time.sleep(0.05)
    process.stop()
    raise TimeoutError(f"{process.name} not ready within {READY_SECONDS} s (log: {process.log})")


def python_peer(module: str, logs: Path) -> Process:
    port = free_port()
    argv = [sys.executable, "-m", f"benchmarks.peers.{module}", str(port)]
    return wait_ready(start(module, argv, port, logs))


def node_ready() -> bool:
    return shutil.which("node") is not None and (NODE_DIR / "node_modules" / "socket.io").exists()


def node_install() -> bool:
    """`npm ci` into benchmarks/node when its node_modules are missing; False without npm."""
    if node_ready():
        return True
    if shutil.which("npm") is None or shutil.which("node") is None:
        return False
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    return node_ready()


def node_peer(logs: Path) -> Process:
    port = free_port()
    argv = ["node", str(NODE_DIR / "server.js"), str(port)]
    return wait_ready(start("node-socketio", argv, port, logs))


def redis_server(logs: Path) -> Process | None:
    """A private redis-server on a free port (no persistence), or None if none is installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = free_port()
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "no",
    ]
    return wait_ready(start("redis", argv, port, logs))


@dataclass
class ConnectorStack:
    """The AXP emulator and one or more connector instances sharing one store."""

    emulator: Process
    instances: list[Process]
    callback_path: str
    store: str
    redis: Process | None = None
    extra: list[Process] = field(default_factory=list)

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator.port}"

    @property
    def ports(self) -> list[int]:
        return [instance.port for instance in self.instances]

    def stop(self) -> None:
        for process in [*self.instances, self.emulator, *([self.redis] if self.redis else [])]:
            process.stop()


CONNECTOR_ENV = {
    "AXP_CHAT_AXP_ACCOUNT_ID": "ABCDEF",
    "AXP_CHAT_AXP_CLIENT_ID": "axp-chat-connector",
    "AXP_CHAT_AXP_CLIENT_SECRET": "emulator-client-secret",
    "AXP_CHAT_AXP_APP_KEY": "emulator-app-key",
    "AXP_CHAT_AXP_CHANNEL_PROVIDER_ID": "axp-chat-connector",
    "AXP_CHAT_GUEST_MODE": "true",
    "AXP_CHAT_ALLOWED_ORIGINS": '["*"]',  # the load generator sends no Origin anyway
    "AXP_CHAT_LOG_FORMAT": "json",
    "AXP_CHAT_LOG_LEVEL": "WARNING",
    # a run must not be cut short by the inactivity timers
    "AXP_CHAT_CHAT_IDLE_TIMEOUT": "86400",
    "AXP_CHAT_SESSION_IDLE_TIMEOUT": "86400",
    # every load client comes from loopback; the probes read /metrics from each instance
    "AXP_CHAT_LOGINS_PER_IP_PER_MINUTE": "100000",
    "AXP_CHAT_LOGINS_PER_MINUTE": "1000000",
    "AXP_CHAT_CONNECTIONS_PER_IP": "100000",
    "AXP_CHAT_METRICS_PUBLIC": "true",
}


def connector_stack(store: str, instances: int, logs: Path, data: Path) -> ConnectorStack:
    """The emulator (on the load core) and `instances` connectors (on the server core) on
    `store`: "sqlite" (one instance, local bus) or "redis" (a private redis-server)."""
    emulator_port = free_port()
    emulator = wait_ready(
        start(
            "emulator",
            [
                sys.executable,
                "-m",
                "axp_chat_connector.cli",
                "emulator",
                "--port",
                str(emulator_port),
            ],
            emulator_port,
            logs,
            {"AXP_EMULATOR_ALLOW_HTTP_CALLBACKS": "true"},
            core=LOAD_CORE,
        ),
        f"http://127.0.0.1:{emulator_port}/emulator/v1/health",
    )
    redis = redis_server(logs) if store == "redis" else None
    if store == "redis" and redis is None:
        emulator.stop()
        raise RuntimeError("no redis-server installed")
    if redis is not None:
        store_url = f"redis://127.0.0.1:{redis.port}/0?prefix=bench-{uuid.uuid4().hex[:8]}:"
        bus_url = store_url
    else:
        store_url, bus_url = f"sqlite:///{data}/bench-{uuid.uuid4().hex[:8]}.db", "local://"
    ports = [free_port() for _ in range(instances)]
    secret = secrets.token_urlsafe(32)
    env = {
        **CONNECTOR_ENV,
        "AXP_CHAT_AXP_BASE_URL": f"http://127.0.0.1:{emulator_port}",
        "AXP_CHAT_PUBLIC_URL": f"http://127.0.0.1:{ports[0]}",
        "AXP_CHAT_CALLBACK_SECRET": secret,
        "AXP_CHAT_SESSION_TOKEN_SECRET": secrets.token_urlsafe(48),
        "AXP_CHAT_STORE_URL": store_url,
        "AXP_CHAT_BUS_URL": bus_url,
    }
    started: list[Process] = []
    try:
        for port in ports:
            argv = [sys.executable, "-m", "axp_chat_connector.cli", "serve", "--port", str(port)]
            process = start("connector", argv, port, logs, env)
            started.append(process)
            wait_ready(process, f"http://127.0.0.1:{port}/readyz")
    except BaseException:
        for process in [*started, emulator, *([redis] if redis else [])]:
            process.stop()
        raise
    return ConnectorStack(emulator, started, f"/v1/axp/callback/{secret}", store, redis)


@contextlib.contextmanager
def running(*processes: Process) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            process.stop()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` (and its threads) from /proc/<pid>/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
