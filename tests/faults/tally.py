"""Counts the fault, fuzz and soak suites report at the end of a run (issue 15's closing note:
faults injected, inputs fuzzed, events checked, lost, duplicated)."""

from __future__ import annotations

from collections import Counter

import pytest

TALLY: Counter[str] = Counter()


def report(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the tally once (the faults and fuzz conftests both call this)."""
    if TALLY and not TALLY["_reported"]:
        TALLY["_reported"] = 1
        terminalreporter.write_sep("-", "faults, fuzz and soak tally")
        for name, count in sorted(TALLY.items()):
            if name != "_reported":
                terminalreporter.write_line(f"{name}: {count}")
