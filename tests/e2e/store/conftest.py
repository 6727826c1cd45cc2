"""Fixtures shared with the chat end-to-end tests: every WebSocket client a test opened is
closed after it, in its own event loop."""

from __future__ import annotations

from tests.e2e.chat.conftest import close_clients

__all__ = ["close_clients"]
