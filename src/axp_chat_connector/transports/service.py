"""What the transports need of the session layer: the part of `SessionService` they call.

A structural `Protocol`, so tests and benchmarks can pass a small fake; the real
`sessions.service.SessionService` satisfies it.
"""

from __future__ import annotations

from typing import Any, Protocol

from axp_chat_connector.protocol.frames import Command
from axp_chat_connector.sessions.service import Answer


class ClientService(Protocol):
    async def execute(self, command: Command, *, session_id: str | None) -> Answer: ...

    async def session_of_token(self, token: str) -> str: ...

    async def events_after(
        self, session_id: str, after: int, limit: int
    ) -> list[dict[str, Any]]: ...

    async def last_seq(self, session_id: str) -> int: ...

    async def connection_opened(self, session_id: str) -> None: ...

    async def connection_closed(self, session_id: str) -> None: ...
