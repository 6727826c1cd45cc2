"""Frames in and out: parse a client command (size, depth and field limits), encode answers
and events.

`parse_command` costs one `json.loads`, a bracket count and one pydantic validation for a
normal frame. A rejected frame raises `InvalidFrame` (a `BadRequest` carrying `re`, the command's
`id` when it could be read) or `errors.TooLarge` (nothing was read); the connection stays open
after `InvalidFrame`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from axp_chat_connector.errors import BadRequest, ConnectorError, TooLarge, to_frame
from axp_chat_connector.protocol.codes import DEFAULT_IDENTIFIER_KINDS, AnswerType
from axp_chat_connector.protocol.frames import ID_MAX, MODELS, Command, utf16_length

DEFAULT_MAX_DEPTH: Final = 16
"""Nesting allowed in a command frame (the deepest real command, `login`, needs 4)."""

Frame = dict[str, Any]

_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_ASCII_ENCODER: Final = json.JSONEncoder(separators=(",", ":"))


class InvalidFrame(BadRequest):
    """A frame that is not a valid command; `re` is its `id` when one could be read."""

    def __init__(self, message: str, *, re: str | None = None, detail: Any = None) -> None:
        super().__init__(message, detail=detail)
        self.re = re


def parse_command(
    raw: str | bytes,
    *,
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
    identifier_kinds: frozenset[str] = DEFAULT_IDENTIFIER_KINDS,
) -> Command:
    """Parse and validate one client frame (a UTF-8 JSON object)."""
    if _size_exceeds(raw, max_bytes):
        raise TooLarge(f"frame larger than {max_bytes} bytes")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise InvalidFrame(f"frame nested deeper than {max_depth} levels") from None
    except ValueError:
        raise InvalidFrame("frame is not valid UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise InvalidFrame("frame must be a JSON object")
    re = _readable_id(data.get("id"))
    if _too_deep(raw, data, max_depth):
        raise InvalidFrame(f"frame nested deeper than {max_depth} levels", re=re)
    kind = data.get("type")
    model = MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise InvalidFrame(
            "unknown command type",
            re=re,
            detail=[{"field": "type", "message": f"must be one of {', '.join(MODELS)}"}],
        )
    try:
        return model.model_validate(data, context={"identifier_kinds": identifier_kinds})
    except ValidationError as exc:
        raise InvalidFrame(
            f"invalid {kind} command", re=re, detail=field_errors(exc.errors())
        ) from None


def field_errors(errors: Iterable[ErrorDetails]) -> list[dict[str, str]]:
    """pydantic errors as the `detail` of a `bad_request`: `[{field, message}]`, dotted paths."""
    detail = []
    for error in errors:
        loc = [str(part) for part in error["loc"] if part != "[key]"]
        ctx = error.get("ctx") or {}
        field = ".".join(loc) if loc else str(ctx.get("field", ""))
        detail.append({"field": field, "message": error["msg"]})
    return detail


def _size_exceeds(raw: str | bytes, max_bytes: int) -> bool:
    if isinstance(raw, bytes) or len(raw) > max_bytes:
        return len(raw) > max_bytes
    # A character takes at most 4 bytes in UTF-8: only a long text needs encoding to know.
    if len(raw) * 4 <= max_bytes:
        return False
    return len(raw.encode("utf-8", "surrogatepass")) > max_bytes


def _too_deep(raw: str | bytes, data: object, max_depth: int) -> bool:
    if isinstance(raw, str):
        opened = raw.count("{") + raw.count("[")
    else:
        opened = raw.count(b"{") + raw.count(b"[")
    if opened <= max_depth:
        return False
    level: list[tuple[object, int]] = [(data, 1)]
    while level:
        node, depth = level.pop()
        if depth > max_depth:
            return True
        children = node.values() if isinstance(node, dict) else node
        for child in children:  # type: ignore[attr-defined]
            if isinstance(child, dict | list):
                level.append((child, depth + 1))
    return False


def _readable_id(value: object) -> str | None:
    if not isinstance(value, str) or not 1 <= utf16_length(value) <= ID_MAX:
        return None
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # an unpaired surrogate: it could not be sent back
            return None
    return value


def ok(re: str | None, **fields: Any) -> Frame:
    """An `ok` answer; `re=None` only for the long-polling answer to an `ack` without `id`."""
    frame: Frame = {"type": AnswerType.OK.value}
    if re is not None:
        frame["re"] = re
    frame.update(fields)
    return frame


def error(exc: ConnectorError, re: str | None = None) -> Frame:
    """The `error` answer for `exc`; an `InvalidFrame` answers with the `id` it read."""
    if re is None and isinstance(exc, InvalidFrame):
        re = exc.re
    return to_frame(exc, re)


def encode(frame: Mapping[str, Any]) -> str:
    """One frame as compact JSON text (characters kept as they are).

    A string holding an unpaired surrogate (AXP can send `"\\ud800"`) cannot be written as
    UTF-8: such a frame is written with `\\u` escapes instead, so it always encodes."""
    text = _ENCODER.encode(frame)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return _ASCII_ENCODER.encode(frame)
    return text
