"""A Server-Sent Events reader for tests (the parsing rules of the HTML standard we need:
`field: value` lines, comments, a blank line ends a message)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class SseMessage:
    id: str | None = None
    data: str | None = None
    retry: int | None = None
    comment: str | None = None


async def sse_messages(lines: AsyncIterator[str]) -> AsyncIterator[SseMessage]:
    """The messages of a stream, from its lines (as `httpx.Response.aiter_lines()` gives)."""
    fields: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if fields:
                retry = fields.get("retry")
                yield SseMessage(
                    id=fields.get("id"),
                    data=fields.get("data"),
                    retry=int(retry) if retry is not None else None,
                    comment=fields.get(""),
                )
            fields = {}
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        fields[name] = f"{fields[name]}\n{value}" if name == "data" and name in fields else value
