"""Subcommands of `axp-chat-connector` that talk to AXP (`provision`, `check`).

Each module exposes `configure(parser)` and `run(args) -> int`, as `cli.py` expects.
"""
