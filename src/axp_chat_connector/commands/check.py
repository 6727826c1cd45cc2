"""`axp-chat-connector check`: settings, token, AXP reachability and subscriptions.

Prints the settings (secrets masked), the warnings about valid but weak choices, and one line per
check; exits 0 only when all pass. The settings are validated by `config.load_settings`, the same
validation `serve` runs, so `check` passes only where `serve` would start.
Changes nothing in AXP (the Custom Chat probe reads a session id that cannot exist).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from dataclasses import dataclass
from typing import TextIO

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.axp.provisioning import current, plan, wanted_for
from axp_chat_connector.commands.startup import (
    EXIT_BAD_SETTINGS,
    EXIT_FAILED,
    EXIT_OK,
    settings_or_report,
)
from axp_chat_connector.config import Settings
from axp_chat_connector.errors import AxpError, AxpNotFound

_ATTEMPTS = 2  # a check reports a problem; it does not wait out a long outage


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def configure(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from the settings (`AXP_CHAT_*`)."""


def _failed(name: str, exc: AxpError) -> Result:
    return Result(name, False, f"{type(exc).__name__}: {exc.message}")


async def checks(settings: Settings) -> list[Result]:
    """Run the checks in order; a failed token stops the AXP checks after it."""
    settings = settings.model_copy(
        update={"axp_retry_attempts": min(_ATTEMPTS, settings.axp_retry_attempts)}
    )
    results: list[Result] = []
    async with AxpClient(settings) as client:
        try:
            await client.tokens.get()
        except AxpError as exc:
            return [_failed("token", exc)]
        results.append(Result("token", True, f"issued by {settings.token_url}"))

        try:
            await client.get_session(str(uuid.uuid4()))
        except AxpNotFound:
            results.append(
                Result("Custom Chat API", True, f"reachable at {settings.channel_api_url}")
            )
        except AxpError as exc:
            results.append(_failed("Custom Chat API", exc))
        else:
            results.append(Result("Custom Chat API", False, "found a session that cannot exist"))

        try:
            existing = await current(client)
        except AxpError as exc:
            results.append(_failed("Notification API", exc))
            return results
        results.append(Result("Notification API", True, f"reachable at {settings.webhook_api_url}"))
        p = plan(existing, wanted_for(settings))
        if p.up_to_date:
            results.append(Result("subscriptions", True, "up to date"))
        else:
            lines = p.describe(settings.public_url)
            todo = "; ".join(line for line, a in zip(lines, p.actions, strict=True) if a.changes)
            results.append(
                Result("subscriptions", False, f"run `axp-chat-connector provision`: {todo}")
            )
    return results


def report(settings: Settings, results: list[Result], out: TextIO) -> bool:
    print("settings:", file=out)
    for name, value in settings.masked().items():
        print(f"  {name} = {value}", file=out)
    print(f"  (callback URL: {settings.callback_url_masked})", file=out)
    for warning in settings.warnings():
        print(f"warning: {warning}", file=out)
    print("checks:", file=out)
    print(f"  {Result('settings', True, 'valid').line()}", file=out)
    for result in results:
        print(f"  {result.line()}", file=out)
    ok = all(r.ok for r in results)
    print("all checks passed" if ok else "some checks failed", file=out)
    return ok


def run(args: argparse.Namespace) -> int:
    settings = settings_or_report(sys.stdout)  # the whole report goes to stdout
    if settings is None:
        print("checks:\n  FAIL  settings: see above\nsome checks failed")
        return EXIT_BAD_SETTINGS
    results = asyncio.run(checks(settings))
    return EXIT_OK if report(settings, results, sys.stdout) else EXIT_FAILED
