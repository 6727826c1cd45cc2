"""The AXP client against the emulator on a real loopback port, every request held to Avaya's
OpenAPI request schemas."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.config import Settings
from axp_chat_connector.emulator.app import create_app
from axp_chat_connector.emulator.config import EmulatorSettings
from tests.openapi_check import mock_request, openapi
from tests.servers import TIME_SCALE, serve_app

# Short budgets so failure paths end fast; generous enough for a loaded machine.
FAST: dict[str, Any] = {
    "axp_backoff_base": 0.02,
    "axp_backoff_max": 0.2,
    "axp_token_backoff_base": 0.05,
    "axp_token_backoff_max": 0.2,
    "axp_attempt_timeout": 3.0 * TIME_SCALE,
    "axp_retry_deadline": 6.0 * TIME_SCALE,
    "axp_retry_attempts": 6,
}


@dataclass
class Traffic:
    """What the client sent: every request checked against Avaya's spec as it leaves."""

    requests: list[httpx.Request] = field(default_factory=list)
    statuses: list[tuple[str, int]] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    async def on_request(self, request: httpx.Request) -> None:
        self.requests.append(request)
        try:
            name, mock = mock_request(request)
            openapi(name).validate_request(mock)
        except Exception as exc:  # recorded, asserted empty at teardown
            self.invalid.append(f"{request.method} {request.url.path}: {exc!r}")

    async def on_response(self, response: httpx.Response) -> None:
        self.statuses.append((response.request.url.path, response.status_code))

    @property
    def token_requests(self) -> int:
        return sum(1 for r in self.requests if r.url.path.endswith("/openid-connect/token"))

    def api_requests(self, path_suffix: str = "") -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if "/api/digital/" in r.url.path and r.url.path.endswith(path_suffix)
        ]


@dataclass
class Emulator:
    base: str
    control: httpx.AsyncClient

    async def faults(self, **document: Any) -> None:
        answer = await self.control.post("/emulator/v1/faults", json=document)
        assert answer.is_success, answer.text

    async def clear_faults(self) -> None:
        answer = await self.control.delete("/emulator/v1/faults")
        assert answer.is_success, answer.text


@contextlib.asynccontextmanager
async def running_emulator(**settings: Any) -> AsyncIterator[Emulator]:
    """The emulator on a free loopback port (http callbacks allowed, one webhook attempt)."""
    config = EmulatorSettings(**{"allow_http_callbacks": True, "webhook_attempts": 1, **settings})
    async with (
        serve_app(create_app(config)) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as control,
    ):
        yield Emulator(base, control)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """Tokens live 2 s, so a test of a few seconds sees them expire."""
    async with running_emulator(token_ttl=2) as emulator:
        yield emulator


@pytest.fixture
def traffic() -> Iterator[Traffic]:
    """Every request a test's clients send must be valid per Avaya's request schemas."""
    seen = Traffic()
    yield seen
    assert seen.invalid == []


def connector_settings(emulator: Emulator, **overrides: Any) -> Settings:
    return Settings.for_emulator(emulator.base, **{**FAST, **overrides})


def axp_client(settings: Settings, traffic: Traffic, **kwargs: Any) -> AxpClient:
    hooks: dict[str, list[Any]] = {
        "request": [traffic.on_request],
        "response": [traffic.on_response],
    }
    return AxpClient(settings, event_hooks=hooks, **kwargs)


@pytest.fixture
async def axp(emulator: Emulator, traffic: Traffic) -> AsyncIterator[AxpClient]:
    async with axp_client(connector_settings(emulator), traffic) as client:
        yield client
    assert traffic.requests


def elapsed_since(start: float) -> float:
    return time.monotonic() - start
