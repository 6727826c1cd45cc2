"""`axp-chat-connector provision [--dry-run] [--prune]`: ensure AXP webhook subscriptions."""

from __future__ import annotations

import argparse
import asyncio

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.axp.provisioning import ensure_subscriptions
from axp_chat_connector.commands.startup import (
    EXIT_BAD_SETTINGS,
    EXIT_FAILED,
    EXIT_OK,
    settings_or_report,
)
from axp_chat_connector.config import Settings
from axp_chat_connector.errors import AxpError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan, change nothing in AXP"
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="also delete our subscriptions with an old callback URL (after a secret rotation)",
    )


async def provision(settings: Settings, *, dry_run: bool, prune: bool) -> int:
    async with AxpClient(settings) as client:
        try:
            plan = await ensure_subscriptions(client, dry_run=dry_run, prune_stale=prune)
        except AxpError as exc:
            print(f"error: {type(exc).__name__}: {exc.message}")
            return EXIT_FAILED
    print(f"subscriptions of channelProviderId {settings.axp_channel_provider_id}:")
    for line in plan.describe(settings.public_url):
        print(f"  {line}")
    if plan.up_to_date:
        print("up to date: nothing to change")
    elif dry_run:
        print(f"dry run: {len(plan.changes)} change(s) not applied")
    else:
        print(f"applied {len(plan.changes)} change(s)")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    settings = settings_or_report()
    if settings is None:
        return EXIT_BAD_SETTINGS
    return asyncio.run(provision(settings, dry_run=args.dry_run, prune=args.prune))
