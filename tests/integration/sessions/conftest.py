"""A fast harness for the session layer: the real `SessionService` in-process against the real
AXP emulator in-process.

The emulator is served on a free loopback port, so its webhooks really arrive over HTTP at the
connector's `WebhookReceiver` (served on another port, at the callback URL the connector
subscribed with). The store is SQLite in `tmp_path`, the bus is local, the outbox worker runs
in the background; the sweeper does not: tests call `sweep_once()` after moving the clock,
which is shared by the session core and the store (`Clock.advance`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from starlette.applications import Starlette

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.axp.provisioning import ensure_subscriptions
from axp_chat_connector.bus import open_bus
from axp_chat_connector.bus.base import Bus
from axp_chat_connector.config import Settings
from axp_chat_connector.connector import (
    build_sessions,
    random_token_secret,
    service_config,
    webhook_receiver,
)
from axp_chat_connector.emulator.app import create_app
from axp_chat_connector.emulator.config import EmulatorSettings
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.protocol import codec
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.sessions.service import Answer, SessionService
from axp_chat_connector.sessions.sweeper import Sweeper
from axp_chat_connector.store import Retention, Store, open_store
from axp_chat_connector.webhooks.intake import WebhookIntake
from axp_chat_connector.webhooks.receiver import WebhookReceiver
from tests.integration.sessions.counting import counting, recording
from tests.servers import TIME_SCALE, free_port, serve_app

Frame = dict[str, Any]
T = TypeVar("T")

WAIT = 10.0 * TIME_SCALE
"""Longest wait for a condition (it normally holds within a few hundred ms)."""
_POLL = 0.02
ACCOUNT = "/api/digital/channel/v1/accounts/ABCDEF"

# AXP call budgets short enough that failure paths end fast
FAST_AXP: dict[str, Any] = {
    "axp_backoff_base": 0.01,
    "axp_backoff_max": 0.05,
    "axp_token_backoff_base": 0.05,
    "axp_token_backoff_max": 0.2,
    "axp_attempt_timeout": 3.0 * TIME_SCALE,
    "axp_retry_deadline": 6.0 * TIME_SCALE,
    "message_hold_window": 0.3,
}


async def wait_for(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Poll `check` until it returns something other than None/False; fail after WAIT."""
    deadline = time.monotonic() + WAIT
    while True:
        found = await check()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(_POLL)


@dataclass
class Clock:
    """Wall time plus an offset the tests move forward (shared by the core and the store)."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Harness:
    service: SessionService
    sweeper: Sweeper
    intake: WebhookIntake
    records: SessionRecords
    store: Store
    clock: Clock
    settings: Settings
    receiver: WebhookReceiver
    emulator_url: str
    agent: httpx.AsyncClient
    """The emulator's agent API (`/emulator/v1`)."""
    third_party: AxpClient
    """Another client of the Custom Chat API (acts on AXP behind the connector's back)."""
    webhook_store_calls: list[tuple[str, list[str]]]
    """(eventType, the store methods awaited before the answer) of each webhook handled."""
    outbox_depths: list[int]
    """The outbox depths the worker reported (each time it went idle)."""
    metrics: Metrics
    """The Prometheus metrics the session layer records (as `assemble` gives them)."""
    _ids: int = field(default=0)

    def new_id(self, prefix: str = "c") -> str:
        self._ids += 1
        return f"{prefix}{self._ids}-{uuid.uuid4().hex[:8]}"

    # -- commands --------------------------------------------------------------------------
    async def execute(
        self, type_: str, session_id: str | None, *, id_: str | None = None, **fields: Any
    ) -> Answer:
        frame = {"type": type_, "id": id_ or self.new_id(type_[:2]), **fields}
        command = codec.parse_command(
            json.dumps(frame),
            max_bytes=self.settings.max_frame_bytes,
            identifier_kinds=frozenset(self.settings.identifier_kinds),
        )
        return await self.service.execute(command, session_id=session_id)

    async def ok(self, type_: str, session_id: str | None, **fields: Any) -> Frame:
        answer = await self.execute(type_, session_id, **fields)
        assert answer.frame.get("type") == "ok", answer.frame
        return answer.frame

    async def login(self, email: str = "ada@example.com") -> str:
        answer = await self.execute(
            "login",
            None,
            customer={"displayName": "Ada", "identifiers": {"emailAddresses": [email]}},
        )
        assert answer.frame["type"] == "ok", answer.frame
        assert answer.bound is not None
        return str(answer.frame["sessionId"])

    async def start(self, session_id: str) -> tuple[str, str]:
        started = await self.ok("start", session_id)
        return str(started["engagementId"]), str(started["dialogId"])

    async def chatting(self, email: str = "ada@example.com") -> tuple[str, str, str]:
        """A session with an open chat an agent has joined: (session, engagement, dialog)."""
        session_id = await self.login(email)
        engagement_id, dialog_id = await self.start(session_id)
        await self.act(engagement_id, "accept", agentName="Grace")
        await self.event(session_id, lambda e: e["type"] == "participant.joined", "the agent")
        return session_id, engagement_id, dialog_id

    # -- events ----------------------------------------------------------------------------
    async def events(self, session_id: str, after: int = 0) -> list[Frame]:
        return await self.service.events_after(session_id, after, 1000)

    async def event(self, session_id: str, predicate: Callable[[Frame], bool], what: str) -> Frame:
        async def find() -> Frame | None:
            return next((e for e in await self.events(session_id) if predicate(e)), None)

        return await wait_for(find, what)

    async def text(self, session_id: str, text: str) -> Frame:
        """Wait for the `message` event carrying `text`."""
        return await self.event(session_id, lambda e: e.get("text") == text, repr(text))

    async def of_type(self, session_id: str, type_: str) -> list[Frame]:
        return [e for e in await self.events(session_id) if e["type"] == type_]

    # -- the emulator ----------------------------------------------------------------------
    async def act(self, engagement_id: str, verb: str, **body: Any) -> Frame:
        answer = await self.agent.post(f"/engagements/{engagement_id}:{verb}", json=body or None)
        assert answer.status_code < 300, answer.text
        return dict(answer.json()) if answer.content else {}

    async def say(self, engagement_id: str, text: str) -> Frame:
        answer = await self.agent.post(
            f"/engagements/{engagement_id}/messages", json={"text": text}
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    async def transcript(self, engagement_id: str) -> list[Frame]:
        answer = await self.agent.get(f"/engagements/{engagement_id}/messages")
        assert answer.status_code == 200, answer.text
        return list(answer.json()["messages"])

    async def engagements(self) -> list[Frame]:
        answer = await self.agent.get("/engagements")
        assert answer.status_code == 200, answer.text
        return list(answer.json()["engagements"])

    async def faults(self, **document: Any) -> None:
        answer = await self.agent.post("/faults", json=document)
        assert answer.status_code == 200, answer.text

    async def deliveries(self) -> list[Frame]:
        answer = await self.agent.get("/deliveries")
        assert answer.status_code == 200, answer.text
        return list(answer.json()["deliveries"])

    async def delivered(self, count: int) -> None:
        """Wait until `count` webhooks have been answered 200 (so handled) by the connector."""

        async def done() -> bool:
            answered = [d for d in await self.deliveries() if d["status"] == 200]
            return len(answered) >= count

        await wait_for(done, f"{count} webhooks delivered")

    async def axp_session_of(self, session_id: str) -> str:
        record, _ = await self.records.load(session_id)
        assert record.axp_session_id is not None
        return record.axp_session_id


async def _store_and_bus(
    stack: contextlib.AsyncExitStack, settings: Settings, clock: Clock
) -> tuple[Store, Bus]:
    """The store (behind the counting proxy, on the test's clock) and the bus, closed by
    `stack`."""
    retention = Retention(settings.event_retention_count, settings.event_retention_age)
    store = await open_store(settings.store_url, retention=retention, clock=clock)
    stack.push_async_callback(store.close)
    bus = await open_bus(settings.bus_url)
    stack.push_async_callback(bus.close)
    return counting(store), bus


@contextlib.asynccontextmanager
async def running_harness(
    tmp_path: Path,
    *,
    emulator: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> AsyncIterator[Harness]:
    """The emulator and the session layer, wired as `connector.assemble` wires them (but with
    the clock injected and the sweeper left to the test). `config` overrides `ServiceConfig`."""
    emulator_settings = EmulatorSettings(
        **{"allow_http_callbacks": True, "webhook_backoff_base": 0.1, **(emulator or {})}
    )
    port = free_port()
    clock = Clock()
    async with contextlib.AsyncExitStack() as stack:
        emulator_url = await stack.enter_async_context(serve_app(create_app(emulator_settings)))
        connector_settings = Settings.for_emulator(
            emulator_url,
            **{
                **FAST_AXP,
                "public_url": f"http://127.0.0.1:{port}",
                "store_url": f"sqlite:///{tmp_path / 'c.db'}",
                "guest_mode": True,
                **(settings or {}),
            },
        )
        store, bus = await _store_and_bus(stack, connector_settings, clock)
        axp, third_party = AxpClient(connector_settings), AxpClient(connector_settings)
        stack.push_async_callback(axp.aclose)
        stack.push_async_callback(third_party.aclose)
        webhook_store_calls: list[tuple[str, list[str]]] = []
        outbox_depths: list[int] = []
        metrics = Metrics()
        service_settings = service_config(connector_settings, random_token_secret())
        sessions = build_sessions(
            store=store,
            bus=bus,
            axp=axp,
            config=dataclasses.replace(service_settings, **(config or {})),
            clock=clock,
            outbox_depth=outbox_depths.append,
            metrics=metrics,
        )
        receiver = webhook_receiver(
            connector_settings, recording(sessions.intake.take, webhook_store_calls)
        )
        await stack.enter_async_context(serve_app(Starlette(routes=[receiver.route()]), port))
        await axp.tokens.get()
        await ensure_subscriptions(axp)
        task = asyncio.create_task(sessions.outbox.run(), name="outbox")

        async def stop_outbox() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        stack.push_async_callback(stop_outbox)
        agent = httpx.AsyncClient(base_url=emulator_url + "/emulator/v1", timeout=10)
        stack.push_async_callback(agent.aclose)
        yield Harness(
            service=sessions.service,
            sweeper=sessions.sweeper,
            intake=sessions.intake,
            records=sessions.records,
            store=store,
            clock=clock,
            settings=connector_settings,
            receiver=receiver,
            emulator_url=emulator_url,
            agent=agent,
            third_party=third_party,
            webhook_store_calls=webhook_store_calls,
            outbox_depths=outbox_depths,
            metrics=metrics,
        )


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_harness(tmp_path) as running:
        yield running
