"""The `axp-chat-connector` command: one subcommand per module, each thin.

Each subcommand module exposes `configure(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import version

# name -> (module, one-line help). A subcommand is listed here once it works.
COMMANDS: dict[str, tuple[str, str]] = {
    "emulator": ("axp_chat_connector.emulator.command", "run the AXP emulator"),
    "provision": ("axp_chat_connector.commands.provision", "ensure AXP webhook subscriptions"),
    "check": ("axp_chat_connector.commands.check", "check settings, AXP access, subscriptions"),
    "serve": ("axp_chat_connector.commands.serve", "run the connector"),
    "demo": ("axp_chat_connector.commands.demo", "run the emulator and the connector together"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="axp-chat-connector",
        description="Connects web and mobile chat clients to agents on Avaya Experience Platform.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version('axp-chat-connector')}"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        module.configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    code: int = module.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
