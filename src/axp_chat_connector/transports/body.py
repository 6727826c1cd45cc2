"""Reading an HTTP request body with a size bound, and decoding it as JSON.

Shared by the long-polling commands endpoint and the webhook receiver: the declared
`Content-Length` is checked first (a body announced too large is refused unread), then the
stream is counted as it arrives, so no more than `limit` bytes are ever buffered.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Final

from starlette.requests import Request

from axp_chat_connector.errors import BadRequest, TooLarge, UnsupportedMediaType

JSON_TYPE: Final = "application/json"


def require_json(request: Request) -> None:
    """`UnsupportedMediaType` unless the body is declared `application/json` (a cross-site
    form or `text/plain` POST, which a browser sends without asking, is refused unread)."""
    declared = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if declared != JSON_TYPE:
        raise UnsupportedMediaType(f"Content-Type must be {JSON_TYPE}")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, at most `limit` bytes; `TooLarge` as soon as it is known bigger."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body larger than {limit} bytes")
    return await read_stream(request.stream(), limit)


async def read_stream(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"body larger than {limit} bytes")
    return bytes(body)


def decode_json(body: bytes) -> Any:
    """The body as a JSON value; `BadRequest` when it is not UTF-8 JSON (or nests too deep for
    the parser)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("body is not valid UTF-8 JSON") from None
