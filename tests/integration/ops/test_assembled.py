"""The assembled connector (as `serve` runs it) records the operations metrics: the GC hook is
installed for its life and removed after, and `/metrics` serves what the dashboard reads."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx

from axp_chat_connector.config import Settings
from axp_chat_connector.connector import assemble
from axp_chat_connector.emulator.app import create_app
from axp_chat_connector.emulator.config import EmulatorSettings
from tests.servers import serve_app


async def test_the_assembled_app_measures_gc_pauses_and_serves_them(tmp_path: Path) -> None:
    hooks_before = list(gc.callbacks)
    emulator = create_app(EmulatorSettings(allow_http_callbacks=True))
    async with serve_app(emulator) as emulator_url:
        settings = Settings.for_emulator(
            emulator_url,
            public_url="http://127.0.0.1:9",
            store_url=f"sqlite:///{tmp_path / 'c.db'}",
            metrics_public=True,
        )
        async with assemble(settings, provision=False) as parts:
            assert len(gc.callbacks) == len(hooks_before) + 1
            gc.collect()
            transport = httpx.ASGITransport(app=parts.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://c") as http:
                text = (await http.get("/metrics")).text
            worst = parts.metrics.registry.get_sample_value("axp_chat_gc_pause_max_seconds")
            assert worst is not None
            assert worst > 0
            for name in (
                "axp_chat_gc_pause_max_seconds",
                'axp_chat_background_restarts_total{task="outbox"} 0.0',
                'axp_chat_axp_token_renewals_total{result="ok"} 1.0',
                "axp_chat_outbox_oldest_age_seconds",
            ):
                assert name in text
    assert gc.callbacks == hooks_before
