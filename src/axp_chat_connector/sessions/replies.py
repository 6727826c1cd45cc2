"""What the session layer answers a transport for one command (`ClientService.execute`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Bound:
    """A `login` or `resume` succeeded: the connection now belongs to `session_id` and must
    deliver every durable event with seq > `after` (in order), then follow the bus."""

    session_id: str
    after: int


@dataclass(frozen=True, slots=True)
class Answer:
    frame: dict[str, Any]
    """The `ok` or `error` frame to send; an empty dict means: send nothing."""
    bound: Bound | None = None
    """Set when the command bound the connection to a session."""
    close_code: int | None = None
    """Set when the connection must close after sending `frame`."""
