"""Fuzz targets over real processes: one emulator + `serve`, a logged-in customer with a chat."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings

from tests.faults.conftest import FaultStack, fault_stack
from tests.faults.tally import report

EXAMPLES = int(os.environ.get("AXP_TEST_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


@dataclass(frozen=True)
class Live:
    stack: FaultStack
    token: str
    engagement_id: str
    dialog_id: str


def _command(http: httpx.Client, frame: dict[str, object], token: str | None = None) -> dict:  # type: ignore[type-arg]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = http.post("/v1/poll/commands", json=[frame], headers=headers)
    assert response.status_code == 200, response.text
    (answer,) = response.json()
    assert answer["type"] == "ok", answer
    return dict(answer)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data: Path = tmp_path_factory.mktemp("fuzz")
    with fault_stack(data) as stack, httpx.Client(base_url=stack.connector_url) as http:
        customer = {"displayName": "Fuzz", "identifiers": {"emailAddresses": ["fuzz@example.com"]}}
        token = _command(http, {"type": "login", "id": "l1", "customer": customer})["token"]
        started = _command(http, {"type": "start", "id": "s1"}, token)
        yield Live(stack, token, started["engagementId"], started["dialogId"])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    report(terminalreporter)
