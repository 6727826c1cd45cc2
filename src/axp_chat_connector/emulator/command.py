"""`axp-chat-connector emulator`: run the AXP emulator on loopback with uvicorn."""

from __future__ import annotations

import argparse

import structlog
import uvicorn
from pydantic import ValidationError

from axp_chat_connector.emulator.app import create_app
from axp_chat_connector.emulator.config import EmulatorSettings
from axp_chat_connector.logs import configure_logging

_log = structlog.get_logger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    parser.add_argument(
        "--auto-agent", action="store_true", default=None, help="accept chats and answer"
    )
    parser.add_argument(
        "--greeting-bot", action="store_true", default=None, help="a bot greets each new chat"
    )
    parser.add_argument(
        "--allow-http-callbacks",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="accept http:// callback URLs on loopback hosts (default: on, unless the "
        "environment sets AXP_EMULATOR_ALLOW_HTTP_CALLBACKS)",
    )
    parser.add_argument("--token-ttl", type=float, default=None, help="token lifetime, seconds")


def settings_from(args: argparse.Namespace) -> EmulatorSettings:
    """Environment (`AXP_EMULATOR_*`) first, flags given on the command line over it; http
    callbacks on loopback are allowed by default here (the CLI binds to loopback)."""
    from_env = EmulatorSettings()
    if (
        args.allow_http_callbacks is None
        and "allow_http_callbacks" not in from_env.model_fields_set
    ):
        args.allow_http_callbacks = True
    flags = {
        "auto_agent": args.auto_agent,
        "greeting_bot": args.greeting_bot,
        "allow_http_callbacks": args.allow_http_callbacks,
        "token_ttl": args.token_ttl,
    }
    return EmulatorSettings(**{k: v for k, v in flags.items() if v is not None})


def run(args: argparse.Namespace) -> int:
    configure_logging("console")
    try:
        settings = settings_from(args)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = ".".join(str(p) for p in error["loc"])
            _log.error("emulator.bad_setting", setting=name, problem=error["msg"])
        return 2
    _log.info(
        "emulator.listening",
        url=f"http://{args.host}:{args.port}",
        account_id=settings.account_id,
        client_id=settings.client_id,
    )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0
