"""Fixtures for the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """A test that runs a command in-process configures logging (level, format); the next
    test starts from structlog's defaults again."""
    yield
    structlog.reset_defaults()
