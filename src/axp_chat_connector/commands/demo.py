"""`axp-chat-connector demo`: the AXP emulator and the connector together, wired to each other,
guest mode and verified mode on (HS256 with a random key, which the sample backend of
`demo_id_token.py` signs the "signed-in customer" page's tokens with), the demo shop at `/`, the
agent console at the emulator's `/emulator/`.

Needs no setting, yet honours them: every `AXP_CHAT_*` environment variable applies (say
`AXP_CHAT_STORE_URL=redis://…`; `.env` and `*_FILE` secrets do not), except the `AXP_CHAT_AXP_*`
ones, which are always the emulator's; `--store` and `--bus` win over the environment. Without
a store setting the data lives in a temporary SQLite file, gone when the demo stops. A second
instance joins a running demo's emulator with `--emulator-url` (same store, bus and
`AXP_CHAT_SESSION_TOKEN_SECRET`; and the same `AXP_CHAT_ID_TOKEN_*` where one instance's
`/demo/id-token` may log in at another: each makes its own random key otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Sequence
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from pydantic_settings import EnvSettingsSource
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from axp_chat_connector import event_loop
from axp_chat_connector.commands import demo_id_token
from axp_chat_connector.commands.serve import uvicorn_config
from axp_chat_connector.commands.startup import EXIT_BAD_SETTINGS, EXIT_OK
from axp_chat_connector.config import Settings, SettingsError
from axp_chat_connector.connector import WEB_DIR, assemble, random_token_secret
from axp_chat_connector.emulator.app import create_app as create_emulator
from axp_chat_connector.emulator.config import EmulatorSettings
from axp_chat_connector.logs import configure_logging

_log = structlog.get_logger(__name__)

SITE_DIR = WEB_DIR / "demo"
_TENANT_PREFIX = "axp_"
"""Settings named so are the AXP tenant's: in the demo, always the emulator's."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="connector port (default 8080)")
    parser.add_argument(
        "--emulator-port", type=int, default=8090, help="emulator port (default 8090)"
    )
    parser.add_argument(
        "--emulator-url",
        help="use the emulator of a demo already running there (a second instance); start none",
    )
    parser.add_argument(
        "--store", help="store URL, e.g. redis://127.0.0.1:6379/0 (default: a temporary SQLite)"
    )
    parser.add_argument("--bus", help="bus URL, e.g. redis://127.0.0.1:6379/0 (default local://)")
    parser.add_argument(
        "--auto-agent", action="store_true", help="an emulated agent accepts chats and answers"
    )
    parser.add_argument("--greeting-bot", action="store_true", help="a bot greets each new chat")


def demo_settings(args: argparse.Namespace, emulator_url: str, data_dir: Path) -> Settings:
    """The demo's defaults, under the environment's settings, under `--store` and `--bus`; the
    AXP tenant settings are the emulator's whatever the environment says. Verified mode is the
    sample backend's (HS256, a random key) unless the environment sets any `ID_TOKEN` setting."""
    defaults: dict[str, Any] = {
        "public_url": f"http://127.0.0.1:{args.port}",
        "store_url": f"sqlite:///{data_dir / 'demo.db'}",
        "guest_mode": True,
        "log_format": "console",
        # one machine: every browser and test client comes from loopback, /metrics is local
        "logins_per_ip_per_minute": 10_000,
        "connections_per_ip": 10_000,
        "metrics_public": True,
    }
    environment = {
        name: value
        for name, value in EnvSettingsSource(Settings)().items()
        if not name.startswith(_TENANT_PREFIX)
    }
    if not any(name.startswith("id_token_") for name in environment):
        defaults |= {
            "id_token_algorithm": demo_id_token.ALGORITHM,
            "id_token_key": secrets.token_urlsafe(32),
            "id_token_issuer": demo_id_token.ISSUER,
            "id_token_audience": demo_id_token.AUDIENCE,
        }
    flags = {
        name: value
        for name, value in (("store_url", args.store), ("bus_url", args.bus))
        if value is not None
    }
    return Settings.for_emulator(emulator_url, **{**defaults, **environment, **flags})


class WithDemoSite:
    """The connector app with the demo shop's files at `/` and its sample backend's `routes`;
    every other path is the connector's."""

    def __init__(
        self, connector: ASGIApp, site_dir: Path = SITE_DIR, routes: Sequence[BaseRoute] = ()
    ) -> None:
        self.connector = connector
        self.site = StaticFiles(directory=site_dir, html=True)
        files = (p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*") if p.is_file())
        self.paths = frozenset({"/", *(f"/{name}" for name in files)})
        self.routes = {getattr(route, "path", ""): route for route in routes}

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "http" and scope["path"] in self.routes:
            return self.routes[scope["path"]](scope, receive, send)
        if scope["type"] == "http" and scope["path"] in self.paths:
            return self.site(scope, receive, send)
        return self.connector(scope, receive, send)


def emulator_url(args: argparse.Namespace) -> str:
    return str(args.emulator_url or f"http://127.0.0.1:{args.emulator_port}").rstrip("/")


@contextlib.asynccontextmanager
async def running_emulator(args: argparse.Namespace) -> AsyncIterator[None]:
    """The emulator, started here for as long as the demo runs, unless `--emulator-url` names
    one already running."""
    if args.emulator_url:
        yield
        return
    emulator_settings = EmulatorSettings(
        allow_http_callbacks=True, auto_agent=args.auto_agent, greeting_bot=args.greeting_bot
    )
    config = uvicorn.Config(
        create_emulator(emulator_settings),
        host=args.host,
        port=args.emulator_port,
        log_level="warning",
        access_log=False,
    )
    emulator = uvicorn.Server(config)
    task = asyncio.create_task(emulator.serve())
    try:
        while not emulator.started:
            if task.done():
                task.result()
                raise RuntimeError("the emulator stopped before it started")
            await asyncio.sleep(0.02)
        yield
    finally:
        emulator.should_exit = True
        await task


async def demo(args: argparse.Namespace, data_dir: Path) -> None:
    settings = demo_settings(args, emulator_url(args), data_dir)
    configure_logging(settings.log_format, settings.log_level)
    async with running_emulator(args):
        secret = None if settings.session_token_secret else random_token_secret()
        async with assemble(settings, token_secret=secret) as parts:
            _log.info(
                "demo.ready",
                demo=f"http://{args.host}:{args.port}/",
                console=f"{emulator_url(args)}/emulator/",
                websocket=f"ws://{args.host}:{args.port}/v1/ws",
                store=settings.store_url.split(":", 1)[0],
            )
            app = WithDemoSite(parts.app, routes=[demo_id_token.route(settings)])
            await uvicorn.Server(uvicorn_config(app, settings, args.host, args.port)).serve()


def run(args: argparse.Namespace) -> int:
    configure_logging("console")
    with (
        tempfile.TemporaryDirectory(prefix="axp-chat-demo-") as data_dir,
        contextlib.suppress(KeyboardInterrupt),
    ):
        try:
            event_loop.run(demo(args, Path(data_dir)))
        except SettingsError as exc:
            print(f"error: {exc}")
            return EXIT_BAD_SETTINGS
    return EXIT_OK
