"""`axp-chat-connector demo`: the AXP emulator and the connector together, wired to each other,
guest mode on, the demo site at `/`, the agent console at the emulator's `/emulator/`. Needs no
setting; its data lives in memory-like temporary files and is gone when it stops."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
from pathlib import Path

import structlog
import uvicorn

from axp_chat_connector.commands.serve import uvicorn_config
from axp_chat_connector.config import Settings
from axp_chat_connector.connector import assemble, random_token_secret
from axp_chat_connector.emulator.app import create_app as create_emulator
from axp_chat_connector.emulator.config import EmulatorSettings
from axp_chat_connector.logs import configure_logging

_log = structlog.get_logger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8080, help="connector port (default 8080)")
    parser.add_argument(
        "--emulator-port", type=int, default=8090, help="emulator port (default 8090)"
    )
    parser.add_argument(
        "--auto-agent", action="store_true", help="an emulated agent accepts chats and answers"
    )
    parser.add_argument("--greeting-bot", action="store_true", help="a bot greets each new chat")


async def demo(args: argparse.Namespace, data_dir: Path) -> None:
    host = "127.0.0.1"
    emulator_settings = EmulatorSettings(
        allow_http_callbacks=True,
        auto_agent=args.auto_agent,
        greeting_bot=args.greeting_bot,
    )
    emulator = uvicorn.Server(
        uvicorn.Config(
            create_emulator(emulator_settings),
            host=host,
            port=args.emulator_port,
            log_level="warning",
            access_log=False,
        )
    )
    emulator_task = asyncio.create_task(emulator.serve())
    while not emulator.started:
        if emulator_task.done():
            emulator_task.result()
            return
        await asyncio.sleep(0.02)
    settings: Settings = Settings.for_emulator(
        f"http://{host}:{args.emulator_port}",
        public_url=f"http://{host}:{args.port}",
        store_url=f"sqlite:///{data_dir / 'demo.db'}",
        guest_mode=True,
        log_format="console",
    )
    try:
        async with assemble(settings, token_secret=random_token_secret()) as parts:
            _log.info(
                "demo.ready",
                demo=f"http://{host}:{args.port}/",
                console=f"http://{host}:{args.emulator_port}/emulator/",
                websocket=f"ws://{host}:{args.port}/v1/ws",
            )
            await uvicorn.Server(uvicorn_config(parts.app, settings, host, args.port)).serve()
    finally:
        emulator.should_exit = True
        await emulator_task


def run(args: argparse.Namespace) -> int:
    configure_logging("console")
    with (
        tempfile.TemporaryDirectory(prefix="axp-chat-demo-") as data_dir,
        contextlib.suppress(KeyboardInterrupt),
    ):
        asyncio.run(demo(args, Path(data_dir)))
    return 0
