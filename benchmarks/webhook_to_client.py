"""Webhook → client latency on the connector's real path, and the webhook answer time.

    .venv/bin/python benchmarks/webhook_to_client.py [--clients 200] [--rates 200,500,1000]
        [--seconds 3] [--store sqlite|redis]

Starts the AXP emulator and the connector (`serve`) as child processes on loopback, logs in
`--clients` customers over WebSocket, opens a chat for each (accepted by an emulated agent),
then POSTs MESSAGES callbacks straight to the connector's callback URL, each addressed to one
random client, at each rate for `--seconds` (open loop, over 32 keep-alive connections). For
each callback it measures the time from when the POST was due to the `message` frame arriving
on that client's socket (webhook → dedupe → durable append → bus → pump → socket), and to the
callback's 200 answer. Prints p50/p90/p99/max per rate, and the connector's own mean timings
from its /metrics. The load generator shares the machine's cores with the connector.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "axp_chat_connector.cli", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def server_side(connector: str) -> str:
    """The connector's own view: mean webhook answer time and webhook-to-client time."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{connector}/metrics")).text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)

    def mean(metric: str) -> str:
        count = samples.get(f"{metric}_count", 0.0)
        total = samples.get(f"{metric}_sum", 0.0)
        return f"{1000 * total / count:.1f} ms (n={count:.0f})" if count else "no samples"

    return (
        f"server side, cumulative: webhook answer mean "
        f"{mean('axp_chat_webhook_answer_seconds')}, webhook → client write mean "
        f"{mean('axp_chat_webhook_to_client_seconds')}"
    )


async def ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(url)).is_success:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(url)


@dataclass
class Client:
    conn: ClientConnection
    dialog_id: str = ""
    engagement_id: str = ""
    session_id: str = ""
    waiting: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)


async def read(client: Client, started: asyncio.Event) -> None:
    async for raw in client.conn:
        frame = json.loads(raw)
        if frame.get("type") == "message" and frame.get("text", "").startswith("bench-"):
            sent = client.waiting.pop(frame["text"], None)
            if sent is not None:
                client.latencies.append(time.perf_counter() - sent)
        elif frame.get("type") == "participant.joined":
            started.set()


async def open_client(
    connector: str, emulator: httpx.AsyncClient, n: int
) -> tuple[Client, asyncio.Task[None]]:
    conn = await connect(connector.replace("http", "ws") + "/v1/ws", ping_interval=None)
    client = Client(conn)
    answers: dict[str, Any] = {}
    joined = asyncio.Event()

    async def command(frame: dict[str, Any]) -> dict[str, Any]:
        await conn.send(json.dumps(frame))
        while True:
            answer: dict[str, Any] = json.loads(await conn.recv())
            if answer.get("re") == frame["id"]:
                return answer
            answers[str(answer.get("seq"))] = answer

    login = await command(
        {
            "type": "login",
            "id": "l",
            "customer": {
                "displayName": f"Bench {n}",
                "identifiers": {"emailAddresses": [f"bench{n}-{uuid.uuid4().hex[:6]}@example.com"]},
            },
        }
    )
    assert login["type"] == "ok", login
    started = await command({"type": "start", "id": "s"})
    assert started["type"] == "ok", started
    client.dialog_id, client.engagement_id = started["dialogId"], started["engagementId"]
    reader = asyncio.create_task(read(client, joined))
    accepted = await emulator.post(f"/emulator/v1/engagements/{client.engagement_id}:accept")
    assert accepted.status_code < 300, accepted.text
    await asyncio.wait_for(joined.wait(), 10)
    return client, reader


def message_body(client: Client, text: str, index: int) -> dict[str, Any]:
    return {
        "eventType": "MESSAGES",
        "correlationId": str(uuid.uuid4()),
        "eventDate": "2026-11-25T10:00:00.000Z",
        "messageId": str(uuid.uuid4()),
        "accountId": "ABCDEF",
        "channelProviderId": "axp-chat-connector",
        "channelId": "Chat",
        "engagementId": client.engagement_id,
        "dialogId": client.dialog_id,
        "senderParticipantId": "bench-agent",
        "senderParticipantName": "Bench Agent",
        "senderParticipantType": "AGENT",
        "status": "SENT",
        "body": {"elementType": "text", "elementText": {"text": text, "textFormat": "PLAINTEXT"}},
        "messageIndex": index,
    }


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no samples"
    ms = sorted(v * 1000 for v in values)
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else [ms[0]] * 99
    return (
        f"{name}: p50 {q[49]:.1f} ms  p90 {q[89]:.1f} ms  p99 {q[98]:.1f} ms  "
        f"max {ms[-1]:.1f} ms  (n={len(ms)})"
    )


class RawPoster:
    """Keep-alive HTTP/1.1 POSTs over raw sockets: a load generator much lighter than an HTTP
    client library, so the figures are the connector's, not the generator's."""

    def __init__(self, url: str, connections: int) -> None:
        parsed = httpx.URL(url)
        self.host, self.port, self.path = parsed.host, parsed.port or 80, parsed.raw_path.decode()
        self.connections = connections
        self.queue: asyncio.Queue[tuple[bytes, Client, str, float] | None] = asyncio.Queue()
        self.answers: list[float] = []
        self.failed = 0

    async def worker(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            while (job := await self.queue.get()) is not None:
                body, client, text, scheduled = job
                head = (
                    f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode()
                client.waiting[text] = scheduled
                writer.write(head + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                self.answers.append(time.perf_counter() - scheduled)
                if b" 200 " not in status_line:
                    self.failed += 1
                    client.waiting.pop(text, None)
        finally:
            writer.close()


async def run_rate(
    clients: list[Client], callback: str, rate: int, seconds: float, indexes: dict[str, int]
) -> None:
    for client in clients:
        client.latencies.clear()
    poster = RawPoster(callback, connections=32)
    workers = [asyncio.create_task(poster.worker()) for _ in range(poster.connections)]
    total = int(rate * seconds)
    begin = time.perf_counter()
    for i in range(total):
        at = begin + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        client = random.choice(clients)
        indexes[client.dialog_id] += 1
        text = f"bench-{rate}-{i}"
        body = json.dumps(message_body(client, text, indexes[client.dialog_id])).encode()
        poster.queue.put_nowait((body, client, text, at))
    for _ in workers:
        poster.queue.put_nowait(None)
    await asyncio.gather(*workers)
    deadline = time.monotonic() + 10
    while any(c.waiting for c in clients) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    achieved = total / (time.perf_counter() - begin)
    latencies = [v for c in clients for v in c.latencies]
    lost = sum(len(c.waiting) for c in clients)
    print(f"rate {rate}/s (completed at {achieved:.0f}/s), lost {lost}, non-200 {poster.failed}")
    print("  " + summary("webhook → client", latencies))
    print("  " + summary("webhook answer  ", poster.answers))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rates", default="200,500,1000")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    args = parser.parse_args()
    emulator_port, port = free_port(), free_port()
    emulator_url, connector_url = f"http://127.0.0.1:{emulator_port}", f"http://127.0.0.1:{port}"
    callback_secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as data:
        prefix = f"bench-{uuid.uuid4().hex[:8]}:"
        store = (
            f"sqlite:///{data}/bench.db"
            if args.store == "sqlite"
            else f"redis://127.0.0.1:6379/0?prefix={prefix}"
        )
        env = {
            "AXP_CHAT_AXP_BASE_URL": emulator_url,
            "AXP_CHAT_AXP_ACCOUNT_ID": "ABCDEF",
            "AXP_CHAT_AXP_CLIENT_ID": "axp-chat-connector",
            "AXP_CHAT_AXP_CLIENT_SECRET": "emulator-client-secret",
            "AXP_CHAT_AXP_APP_KEY": "emulator-app-key",
            "AXP_CHAT_AXP_CHANNEL_PROVIDER_ID": "axp-chat-connector",
            "AXP_CHAT_PUBLIC_URL": connector_url,
            "AXP_CHAT_CALLBACK_SECRET": callback_secret,
            "AXP_CHAT_SESSION_TOKEN_SECRET": secrets.token_urlsafe(48),
            "AXP_CHAT_STORE_URL": store,
            "AXP_CHAT_BUS_URL": "local://" if args.store == "sqlite" else store,
            "AXP_CHAT_GUEST_MODE": "true",
            "AXP_CHAT_LOG_FORMAT": "json",
            "AXP_CHAT_LOG_LEVEL": "WARNING",
            "AXP_CHAT_METRICS_PUBLIC": "true",  # read below
            "AXP_CHAT_LOGINS_PER_IP_PER_MINUTE": "100000",  # every client is loopback
            "AXP_CHAT_LOGINS_PER_MINUTE": "1000000",
            "AXP_CHAT_CONNECTIONS_PER_IP": "100000",
        }
        emulator = start(["emulator", "--port", str(emulator_port)], {}, Path(data) / "emu.log")
        connector_log = Path(data) / "connector.log"
        await ready(f"{emulator_url}/emulator/v1/health")
        connector = start(["serve", "--port", str(port)], env, connector_log)
        try:
            try:
                await ready(f"{connector_url}/readyz")
            except TimeoutError:
                print(connector_log.read_text()[-3000:])
                raise
            async with httpx.AsyncClient(base_url=emulator_url, timeout=30) as http:
                opened = [await open_client(connector_url, http, n) for n in range(args.clients)]
            clients = [c for c, _ in opened]
            indexes = {c.dialog_id: 0 for c in clients}
            callback = f"{connector_url}/v1/axp/callback/{callback_secret}"
            print(f"{args.clients} clients with an open chat; store {args.store}")
            for rate in (int(r) for r in args.rates.split(",")):
                await run_rate(clients, callback, rate, args.seconds, indexes)
                print("  " + await server_side(connector_url))
            for client, reader in opened:
                reader.cancel()
                await client.conn.close()
        finally:
            for proc in (connector, emulator):
                proc.terminate()
                proc.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
