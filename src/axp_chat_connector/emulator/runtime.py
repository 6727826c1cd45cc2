"""The parts of one emulator app, shared by its routes (kept on `app.state.runtime`)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from axp_chat_connector.emulator.config import EmulatorSettings
from axp_chat_connector.emulator.contact_center import ContactCenter, EventSink
from axp_chat_connector.emulator.faults import FaultRegistry
from axp_chat_connector.emulator.ratelimit import RateLimiter
from axp_chat_connector.emulator.state import EmulatorState
from axp_chat_connector.emulator.subscriptions import SubscriptionStore
from axp_chat_connector.emulator.tokens import TokenStore


@dataclass(slots=True)
class Runtime:
    settings: EmulatorSettings
    state: EmulatorState
    tokens: TokenStore
    subscriptions: SubscriptionStore
    faults: FaultRegistry
    sink: EventSink
    center: ContactCenter
    limiter: RateLimiter | None

    def greeting_bot(self) -> bool:
        override = self.faults.greeting_bot
        return self.settings.greeting_bot if override is None else override


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime
