"""The soak reports its counts with the fault suite's tally."""

from __future__ import annotations

import pytest

from tests.faults.tally import report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    report(terminalreporter)
