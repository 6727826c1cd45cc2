"""`axp-chat-connector serve`: validate settings, get a token, ensure the webhook
subscriptions, then serve clients and AXP's callbacks (and `/metrics` on an internal listener
when `AXP_CHAT_METRICS_PORT` is set)."""

from __future__ import annotations

import argparse
import asyncio

import structlog
import uvicorn

from axp_chat_connector import event_loop
from axp_chat_connector.app import metrics_app
from axp_chat_connector.background import spawn
from axp_chat_connector.commands.startup import EXIT_BAD_SETTINGS, EXIT_FAILED, EXIT_OK
from axp_chat_connector.config import Settings, SettingsError, load_settings
from axp_chat_connector.connector import assemble, transport_limits
from axp_chat_connector.errors import ConnectorError
from axp_chat_connector.gc_policy import GcPolicy, GcSchedule
from axp_chat_connector.logs import configure_logging
from axp_chat_connector.metrics import Metrics
from axp_chat_connector.transports.limits import uvicorn_options

_log = structlog.get_logger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")


def uvicorn_config(app: object, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """uvicorn as the connector needs it (`transports.limits.uvicorn_options`: wsproto, pings as
    timers, no per-message deflate, no proxy-header middleware on sockets), no access log
    (callback URLs carry a secret); the parts are opened by `assemble` around the server, the
    app's lifespan starts its connection hub."""
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        **uvicorn_options(transport_limits(settings)),
        access_log=False,
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


async def serve(
    settings: Settings, host: str, port: int, *, token_secret: str | None = None
) -> None:
    async with assemble(settings, token_secret=token_secret) as parts:
        _log.info("connector.listening", url=f"http://{host}:{port}")
        public = uvicorn.Server(uvicorn_config(parts.app, settings, host, port))
        # the parts are open: settle the heap, then keep the collector's schedule (gc_policy)
        policy = GcPolicy(GcSchedule(settings.gc_freeze_interval, settings.gc_full_interval))
        policy.settle()
        gc_task = spawn(policy.run(), name="gc.policy")
        try:
            await _serve(public, parts.metrics, settings)
        finally:
            gc_task.cancel()


async def _serve(public: uvicorn.Server, metrics: Metrics, settings: Settings) -> None:
    if settings.metrics_port is None:
        await public.serve()
        return
    internal = uvicorn.Server(metrics_config(metrics, settings))
    _log.info("connector.metrics", url=f"http://{settings.metrics_host}:{settings.metrics_port}")
    await _until_either_stops(public, internal)


def metrics_config(metrics: Metrics, settings: Settings) -> uvicorn.Config:
    """The internal listener of `AXP_CHAT_METRICS_PORT`: `/metrics` only."""
    return uvicorn.Config(
        metrics_app(metrics),
        host=settings.metrics_host,
        port=settings.metrics_port or 0,
        access_log=False,
        lifespan="off",
        log_level="warning",
    )


async def _until_either_stops(public: uvicorn.Server, internal: uvicorn.Server) -> None:
    """Serve both; when one stops (a signal stops both), the other is told to stop too."""
    tasks = [asyncio.ensure_future(server.serve()) for server in (public, internal)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        public.should_exit = internal.should_exit = True
        await asyncio.gather(*tasks)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        configure_logging("console")
        print(f"error: {exc}")
        return EXIT_BAD_SETTINGS
    configure_logging(settings.log_format, settings.log_level)
    for warning in settings.warnings():
        _log.warning("settings.warning", detail=warning)
    try:
        _log.info("connector.event_loop", loop=event_loop.name())
        event_loop.run(serve(settings, args.host, args.port))
    except ConnectorError as exc:
        _log.error("connector.startup_failed", error=exc.message, code=exc.code)
        return EXIT_FAILED
    except KeyboardInterrupt:
        pass
    return EXIT_OK
