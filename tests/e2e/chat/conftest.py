"""Real processes: the AXP emulator and the connector (`serve`), wired to each other."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.chat.clients import Agent, ChatClient
from tests.servers import connector_env, free_port, spawn


@dataclass
class Stack:
    emulator_url: str
    connector_url: str
    env: dict[str, str]
    port: int
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _connector: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def start_connector(self) -> None:
        self._connector.enter_context(
            spawn(
                ["serve", "--port", str(self.port)],
                f"{self.connector_url}/readyz",
                env=self.env,
                timeout=30,
            )
        )

    def stop_connector(self) -> None:
        self._connector.close()
        self._connector = contextlib.ExitStack()

    def close(self) -> None:
        self.stop_connector()
        self._stack.close()


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One emulator and one connector per test module; a module may set `STACK_ENV` (more
    connector settings, e.g. short timers)."""
    data: Path = tmp_path_factory.mktemp("connector")
    emulator_port, port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    env = connector_env(
        emulator_url,
        f"http://127.0.0.1:{port}",
        f"sqlite:///{data / 'connector.db'}",
        AXP_CHAT_GUEST_MODE=str(getattr(request.module, "GUEST_MODE", True)).lower(),
        AXP_CHAT_AXP_BACKOFF_BASE="0.05",
        **getattr(request.module, "STACK_ENV", {}),
    )
    emulator_env = {
        "AXP_EMULATOR_ALLOW_HTTP_CALLBACKS": "true",
        "AXP_EMULATOR_WEBHOOK_BACKOFF_BASE": "0.1",
        "AXP_EMULATOR_WEBHOOK_BACKOFF_MAX": "1",
        # a restarted connector takes a few seconds: AXP keeps retrying meanwhile
        "AXP_EMULATOR_WEBHOOK_ATTEMPTS": "40",
    }
    result = Stack(emulator_url, f"http://127.0.0.1:{port}", env, port)
    try:
        result._stack.enter_context(
            spawn(
                ["emulator", "--port", str(emulator_port)],
                f"{emulator_url}/emulator/v1/health",
                env=emulator_env,
            )
        )
        result.start_connector()
        yield result
    finally:
        result.close()


@pytest.fixture
async def agent(stack: Stack) -> AsyncIterator[Agent]:
    agent = Agent(stack.emulator_url)
    try:
        yield agent
    finally:
        await agent.clear_faults()
        await agent.aclose()


@pytest.fixture(autouse=True)
async def close_clients() -> AsyncIterator[None]:
    yield
    while ChatClient.live:
        await ChatClient.live.pop().close()
