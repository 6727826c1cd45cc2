"""Fixtures for the emulator's API tests (`emulator`: a fake event sink; `sink`: its record)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from axp_chat_connector.emulator.config import EmulatorSettings
from tests.integration.emulator.harness import Emulator, running
from tests.unit.emulator.fakes import RecordingSink


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
async def emulator(sink: RecordingSink) -> AsyncIterator[Emulator]:
    async with running(EmulatorSettings(allow_http_callbacks=True), sink) as emu:
        await emu.login()
        yield emu
