"""Real servers for tests: an ASGI app on a free loopback port, or a real child process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

_ASYNC_POLL_INTERVAL = 0.01  # a poll interval inside a wait with a deadline

ROOT = Path(__file__).resolve().parent.parent
# One time unit for tests that wait on conditions, scaled by an env var on slow machines.
TIME_SCALE = float(os.environ.get("AXP_TEST_TIME_SCALE", "1"))
_POLL_INTERVAL = 0.05


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve_app(app: ASGIApp, port: int | None = None) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 in this event loop; yield its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10 * TIME_SCALE
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn exited before it started")
        if time.monotonic() > deadline:
            raise TimeoutError("uvicorn did not start within 10 s")
        await asyncio.sleep(_ASYNC_POLL_INTERVAL)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10 * TIME_SCALE)


LOG_DIR = ROOT / "test-artifacts" / "logs"


def connector_env(
    emulator_url: str, public_url: str, store_url: str, **more: str
) -> dict[str, str]:
    """The environment of a `serve` process wired to the emulator at `emulator_url` (whose
    default credentials it uses), guest mode on, no per-address limits (every test client comes
    from loopback), `/metrics` on the public listener (tests read it); `more` adds or overrides
    settings."""
    return {
        "AXP_CHAT_AXP_BASE_URL": emulator_url,
        "AXP_CHAT_AXP_ACCOUNT_ID": "ABCDEF",
        "AXP_CHAT_AXP_CLIENT_ID": "axp-chat-connector",
        "AXP_CHAT_AXP_CLIENT_SECRET": "emulator-client-secret",
        "AXP_CHAT_AXP_APP_KEY": "emulator-app-key",
        "AXP_CHAT_AXP_CHANNEL_PROVIDER_ID": "axp-chat-connector",
        "AXP_CHAT_PUBLIC_URL": public_url,
        "AXP_CHAT_CALLBACK_SECRET": secrets.token_urlsafe(32),
        "AXP_CHAT_SESSION_TOKEN_SECRET": secrets.token_urlsafe(48),
        "AXP_CHAT_ALLOWED_ORIGINS": '["*"]',
        "AXP_CHAT_STORE_URL": store_url,
        "AXP_CHAT_GUEST_MODE": "true",
        "AXP_CHAT_MESSAGE_HOLD_WINDOW": "0.5",
        "AXP_CHAT_LOG_FORMAT": "console",
        "AXP_CHAT_LOGINS_PER_IP_PER_MINUTE": "100000",
        "AXP_CHAT_LOGINS_PER_MINUTE": "1000000",
        "AXP_CHAT_CONNECTIONS_PER_IP": "100000",
        "AXP_CHAT_METRICS_PUBLIC": "true",
        **more,
    }


@contextlib.contextmanager
def spawn(
    args: Sequence[str], ready_url: str, *, env: dict[str, str] | None = None, timeout: float = 20
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `python -m axp_chat_connector.cli ARGS` and wait until `ready_url` answers 2xx.

    The child's output goes to a file under test-artifacts/logs (never to an unread pipe,
    which would block a chatty child once the pipe buffer is full)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{args[0]}-{os.getpid()}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "axp_chat_connector.cli", *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout * TIME_SCALE
        while True:
            if proc.poll() is not None:
                err = log_path.read_text(errors="replace")
                raise RuntimeError(f"{args[0]} exited with {proc.returncode}: {err[-2000:]}")
            try:
                if httpx.get(ready_url, timeout=1).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{ready_url} not ready within {timeout} s (log: {log_path})")
            time.sleep(_POLL_INTERVAL)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
