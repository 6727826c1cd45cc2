"""What `provision` and `check` do first: load settings, or say clearly why not."""

from __future__ import annotations

import sys
from typing import TextIO

from axp_chat_connector.config import Settings, SettingsError, load_settings
from axp_chat_connector.logs import configure_logging

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_SETTINGS = 2


def settings_or_report(out: TextIO | None = None) -> Settings | None:
    """The settings, or None after writing every problem to `out` (default: stderr)."""
    configure_logging("console", level="WARNING")
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=out or sys.stderr)
        return None
