"""Private Redis servers for tests: a 3-master Redis Cluster, and a standalone server that a
test may stop and start again. Each runs as child processes on free loopback ports in a temp
directory, with persistence off.

`needs_redis_server()` is the availability rule: without `redis-server` and `redis-cli` a test
fails when `CI=true` and is skipped otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from redis.cluster import RedisCluster

from tests.servers import free_port

_START_TIMEOUT = 20.0
_POLL_INTERVAL = 0.05  # a poll interval, not a wait for an outcome


def needs_redis_server(what: str) -> None:
    """Fail (CI=true) or skip unless redis-server and redis-cli are installed."""
    missing = [tool for tool in ("redis-server", "redis-cli") if shutil.which(tool) is None]
    if not missing:
        return
    reason = f"{what} needs {' and '.join(missing)} on PATH"
    if os.environ.get("CI", "").lower() == "true":
        raise AssertionError(f"{reason}; CI=true: these tests must run")
    import pytest

    pytest.skip(reason)


class RedisServer:
    """One `redis-server` child on a fixed port; `stop()` and `start()` as often as needed."""

    def __init__(self, directory: Path, port: int, *extra: str) -> None:
        self.port = port
        self.directory = directory
        self._extra = extra
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no", *self._extra]
        log = (self.directory / "redis.log").open("ab")
        self._process = subprocess.Popen(
            command, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + _START_TIMEOUT
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if self._process.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(self._failure("did not start")) from None
                    time.sleep(_POLL_INTERVAL)
        finally:
            client.close()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._process = None

    def _failure(self, what: str) -> str:
        log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
        return f"redis-server on port {self.port} {what}:\n{log}"


@contextlib.contextmanager
def redis_server(directory: Path, *extra: str) -> Iterator[RedisServer]:
    """A started standalone server; `extra`: more redis-server options."""
    needs_redis_server("a private redis-server")
    server = RedisServer(directory, free_port(), *extra)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def redis_cluster(directory: Path, masters: int = 3) -> Iterator[str]:
    """A cluster of `masters` masters (no replicas); yields `redis+cluster://127.0.0.1:<port>`."""
    needs_redis_server("Redis Cluster")
    nodes = [
        RedisServer(
            directory / f"node{i}",
            port,
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "5000",
        )
        for i, port in enumerate(_free_cluster_port() for _ in range(masters))
    ]
    try:
        for node in nodes:
            node.start()
        create = ["redis-cli", "--cluster", "create"]
        create += [f"127.0.0.1:{node.port}" for node in nodes]
        create += ["--cluster-replicas", "0", "--cluster-yes"]
        done = subprocess.run(create, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise AssertionError(f"redis-cli --cluster create failed:\n{done.stdout}{done.stderr}")
        _wait_until_served(nodes[0].port)
        yield f"redis+cluster://127.0.0.1:{nodes[0].port}"
    finally:
        for node in nodes:
            node.stop()


_CLUSTER_BUS_OFFSET = 10000  # a cluster node also listens on its port + 10000


def _free_cluster_port() -> int:
    """A free port whose cluster-bus port (+10000) is free too."""
    while True:
        port = free_port()
        if port + _CLUSTER_BUS_OFFSET > 65535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port + _CLUSTER_BUS_OFFSET))
            except OSError:
                continue
        return port


def _wait_until_served(port: int) -> None:
    """Until every node reports `cluster_state:ok` and a client can write through it."""
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        try:
            client = RedisCluster(host="127.0.0.1", port=port, socket_timeout=2)
            try:
                for node in client.get_nodes():  # type: ignore[no-untyped-call]
                    info = client.cluster_info(target_nodes=node)
                    assert info["cluster_state"] == "ok"
                client.set("cluster-fixture:probe", "1")
                return
            finally:
                client.close()
        except (redis.RedisError, AssertionError, KeyError):
            if time.monotonic() > deadline:
                raise AssertionError("the Redis Cluster did not become ready") from None
            time.sleep(_POLL_INTERVAL * 4)
