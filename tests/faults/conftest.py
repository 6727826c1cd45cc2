"""Fault tests: the emulator and the connector (`serve`) as real processes, with short timers,
a connector that can be killed with SIGKILL and restarted, and the emulator's fault records."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.chat.clients import Agent, WsClient
from tests.e2e.chat.conftest import Stack
from tests.faults.tally import TALLY, report
from tests.servers import connector_env, free_port, spawn

HOLD_WINDOW = 2.0
"""The connector's messageIndex hold (s): longer than any webhook delay a test injects."""


@dataclass
class FaultStack(Stack):
    """A `Stack` whose connector process can be killed with SIGKILL."""

    proc: subprocess.Popen[bytes] | None = None

    def start_connector(self) -> None:
        self.proc = self._connector.enter_context(
            spawn(
                ["serve", "--port", str(self.port)],
                f"{self.connector_url}/readyz",
                env=self.env,
                timeout=30,
            )
        )

    def kill_connector(self) -> None:
        """SIGKILL: no shutdown, no lease released, nothing flushed."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.stop_connector()

    @property
    def callback_url(self) -> str:
        return f"{self.connector_url}/v1/axp/callback/{self.env['AXP_CHAT_CALLBACK_SECRET']}"


def fault_stack_env(emulator_url: str, port: int, store_url: str, **more: str) -> dict[str, str]:
    return connector_env(
        emulator_url,
        f"http://127.0.0.1:{port}",
        store_url,
        AXP_CHAT_AXP_BACKOFF_BASE="0.05",
        AXP_CHAT_AXP_BACKOFF_MAX="0.5",
        AXP_CHAT_AXP_READ_TIMEOUT="1.5",
        AXP_CHAT_AXP_ATTEMPT_TIMEOUT="2",
        AXP_CHAT_AXP_RETRY_DEADLINE="8",
        AXP_CHAT_MESSAGE_HOLD_WINDOW=str(HOLD_WINDOW),
        **more,
    )


EMULATOR_ENV = {
    "AXP_EMULATOR_ALLOW_HTTP_CALLBACKS": "true",
    "AXP_EMULATOR_WEBHOOK_BACKOFF_BASE": "0.1",
    "AXP_EMULATOR_WEBHOOK_BACKOFF_MAX": "1",
    # a restarted connector takes a few seconds: AXP keeps retrying meanwhile
    "AXP_EMULATOR_WEBHOOK_ATTEMPTS": "60",
}


@contextlib.contextmanager
def fault_stack(data: Path, store_url: str | None = None, **more: str) -> Iterator[FaultStack]:
    emulator_port, port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    env = fault_stack_env(
        emulator_url, port, store_url or f"sqlite:///{data / 'connector.db'}", **more
    )
    result = FaultStack(emulator_url, f"http://127.0.0.1:{port}", env, port)
    try:
        result._stack.enter_context(
            spawn(
                ["emulator", "--port", str(emulator_port)],
                f"{emulator_url}/emulator/v1/health",
                env=EMULATOR_ENV,
            )
        )
        result.start_connector()
        yield result
    finally:
        result.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    """One stack for the fault tests that do not kill or restart anything (each test clears
    the faults it set, and chats as its own customer)."""
    with fault_stack(tmp_path_factory.mktemp("faults")) as result:
        yield result


def injected(faults: dict[str, Any]) -> int:
    """How many calls or deliveries a faults document will hit (`null` latency counts once)."""
    hits = sum(int(f.get("count", 1)) for f in faults.get("operations", ()))
    hits += sum(int(f.get("count") or 1) for f in faults.get("latency", ()))
    webhooks = faults.get("webhooks", {})
    hits += sum(int(webhooks.get(k, 0)) for k in ("drop", "duplicate", "reorder", "delayCount"))
    return hits + int(faults.get("engagementErrors", 0))


class FaultAgent(Agent):
    """The agent API plus the emulator's fault and delivery records (proof a fault fired)."""

    async def faults(self, **faults: Any) -> None:
        await super().faults(**faults)
        TALLY["faults injected"] += injected(faults)

    async def active_faults(self) -> dict[str, Any]:
        response = await self.http.get("/faults")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def operation_faults_left(self) -> int:
        """Calls still to fail: 0 once every injected operation fault has fired."""
        active = await self.active_faults()
        return sum(int(f["count"]) for f in active["operations"])

    async def deliveries(self, outcome: str | None = None) -> list[dict[str, Any]]:
        response = await self.http.get("/deliveries")
        records = list(response.json()["deliveries"])
        return [r for r in records if outcome is None or r["outcome"] == outcome]


@pytest.fixture
async def agent(stack: FaultStack) -> AsyncIterator[FaultAgent]:
    agent = FaultAgent(stack.emulator_url)
    try:
        yield agent
    finally:
        await agent.clear_faults()
        await agent.aclose()


@pytest.fixture(autouse=True)
async def close_clients() -> AsyncIterator[None]:
    yield
    while WsClient.live:
        await WsClient.live.pop().close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    report(terminalreporter)
