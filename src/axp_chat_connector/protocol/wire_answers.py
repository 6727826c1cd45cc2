"""Models of the answers of docs/protocol.md §2 and §4 (`ok` per command, `error`), and of the two
HTTP bodies of long polling (§6): the events envelope and the RFC 9457 problem.

`protocol/codec.py` builds answers as dicts (`ok`, `error`); these models say what those dicts
are, as `wire_events` does for events. `OK_MODELS` names the `ok` of each command.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import Field

from axp_chat_connector.protocol.codes import AnswerType, CommandType
from axp_chat_connector.protocol.frames import ID_MAX, CommandId, Seq
from axp_chat_connector.protocol.wire_events import (
    Event,
    HistoryMessage,
    Timestamp,
    WireModel,
)


class ErrorCode(StrEnum):
    """The `code` of an `error` answer (and of a `message.failed` event)."""

    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    INVALID_STATE = "invalid_state"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    GAP = "gap"
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"
    UPSTREAM_REJECTED = "upstream_rejected"
    INTERNAL = "internal"


Re = Annotated[
    CommandId,
    Field(min_length=1, max_length=ID_MAX, description="the `id` of the command answered"),
]
LastSeq = Annotated[Seq, Field(ge=0, description="the session's last durable seq (0: none)")]


class Ok(WireModel):
    """The `ok` of a command that answers nothing more: context, identify, end, logout, ping."""

    type: Literal[AnswerType.OK]
    re: Re


class AckOk(WireModel):
    """The `ok` of an `ack`; without `re` only in a long-polling batch, for an `ack` sent
    without `id` (it keeps the answers' positions)."""

    type: Literal[AnswerType.OK]
    re: Re | None = None


class LoginOk(WireModel):
    """The session is made and this connection bound to it."""

    type: Literal[AnswerType.OK]
    re: Re
    session_id: str = Field(description="the connector's id of the session")
    token: str = Field(description="the session token: for `resume` and long polling")
    expires_at: Timestamp = Field(description="when `token` expires")
    seq: LastSeq
    heartbeat: float = Field(gt=0, description="seconds between the connector's heartbeats")


class ResumeOk(LoginOk):
    """The connection is bound to the session again, with its token renewed; the events after
    the command's `after` follow, in order."""


class StartOk(WireModel):
    """The chat (new, or the one already open)."""

    type: Literal[AnswerType.OK]
    re: Re
    engagement_id: str
    dialog_id: str


class SendOk(WireModel):
    """The message is durably recorded; its echo (or `message.failed`) follows as an event."""

    type: Literal[AnswerType.OK]
    re: Re
    status: Literal["accepted"]


class HistoryOk(WireModel):
    """The chat's messages, oldest first, as `message` events without seq."""

    type: Literal[AnswerType.OK]
    re: Re
    messages: list[HistoryMessage]


class FieldProblem(WireModel):
    """One invalid field of a `bad_request`."""

    field: str = Field(description="a dotted path with wire names, e.g. customer.displayName")
    message: str


class Error(WireModel):
    """A command failed (with `re`), or a frame could not be read, or events were lost to a
    `gap` during delivery (without `re`)."""

    type: Literal[AnswerType.ERROR]
    re: Re | None = Field(default=None, description="left out when no `id` could be read")
    code: ErrorCode
    message: str = Field(description="for people; never secrets, tokens or stack traces")
    retryable: bool
    detail: list[FieldProblem] | dict[str, Any] | str | None = Field(
        default=None,
        description="`bad_request`: the invalid fields; `upstream_rejected`: AXP's problem "
        "(`status`, `title`, `detail`, `violations`)",
    )
    retry_after: int | None = Field(
        default=None, ge=1, description="`rate_limited`: seconds to wait before retrying"
    )
    seq: Seq | None = Field(default=None, ge=0, description="`gap`: the oldest seq kept")


class PollEvents(WireModel):
    """The answer to `GET /v1/poll/events`: events after `after`, in seq order (typing events
    included when they happened while the poll was held)."""

    events: list[Event]
    seq: LastSeq


class Problem(WireModel):
    """An RFC 9457 problem body (`application/problem+json`): long polling's HTTP errors."""

    type: str = Field(description="always about:blank")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: ErrorCode
    retryable: bool
    errors: list[FieldProblem] | dict[str, Any] | str | None = Field(
        default=None, description="as the error frame's `detail`"
    )
    retry_after: int | None = Field(default=None, ge=1)
    seq: Seq | None = Field(default=None, ge=0)


OK_MODELS: Final[Mapping[CommandType, type[WireModel]]] = {
    CommandType.LOGIN: LoginOk,
    CommandType.RESUME: ResumeOk,
    CommandType.CONTEXT: Ok,
    CommandType.IDENTIFY: Ok,
    CommandType.START: StartOk,
    CommandType.SEND: SendOk,
    CommandType.HISTORY: HistoryOk,
    CommandType.END: Ok,
    CommandType.LOGOUT: Ok,
    CommandType.ACK: AckOk,
    CommandType.PING: Ok,
}
"""The `ok` answer's model by command type."""
