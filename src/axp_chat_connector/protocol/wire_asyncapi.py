"""The client protocol as an AsyncAPI 3.0 document, generated from the wire models.

Described from the connector's side: it *receives* commands and *sends* answers and events.
Three transports carry the same frames (docs/protocol.md §6): WebSocket (`/v1/ws`), long polling
(`POST /v1/poll/commands`, `GET /v1/poll/events`) and Server-Sent Events (`GET /v1/sse`, commands
over the long-polling POST). `asyncapi_document()` is what `GET /v1/asyncapi.json` serves and what
`scripts/generate_protocol_schema.py` writes to docs/asyncapi.json.
"""

from __future__ import annotations

import functools
from typing import Any, Final

from axp_chat_connector.protocol.frames import SEQ_MAX
from axp_chat_connector.protocol.wire_answers import OK_MODELS
from axp_chat_connector.protocol.wire_examples import EXAMPLES
from axp_chat_connector.protocol.wire_schema import MESSAGES, Direction, shared_schemas

PROTOCOL_VERSION: Final = "1"
_SCHEMAS: Final = "#/components/schemas/"
_ANY_COMMAND: Final = "ClientCommand"
_ANY_ANSWER: Final = "ServerAnswer"
_ANY_EVENT: Final = "ServerEvent"

_DESCRIPTION: Final = """\
The contract between chat clients and the AXP Chat Connector, generated from the connector's
models (docs/protocol.md is the prose; docs/schema/ has the same schemas, one file per frame).
Frames are UTF-8 JSON objects with a `type`. Every command carries `id` (1-64 characters,
unique within the session) and is answered exactly once by `ok` or `error` with `re` = that id
(an `ack` without `id` gets no answer); a command repeated with the same `id` is not run twice.
Durable events carry `seq` (1, 2, 3... per session, no gaps); `typing` is ephemeral (no seq).
Clients ignore fields they do not know: a later version may add some. Text lengths are counted
in UTF-16 code units by the connector (JSON Schema's `maxLength` counts code points)."""

_WS: Final = """\
One JSON object per text frame, both ways. The first frame is `login` or `resume` (else close
4408 after 10 s). The connector pings every `heartbeat` seconds. Close codes: 4401 unauthorized,
4408 no login/resume in time, 4409 session ended, 4413 frame too large, 4429 rate limited."""

_POLL_COMMANDS: Final = """\
Body: one command, or an array of 1-20 (the connector's `max_batch`); the answer is a JSON array
of `ok`/`error` in the same order (an `ack` without `id` is answered `ok` without `re`). `login`
needs no token; everything else needs `Authorization: Bearer <token>`. Also the command route of
Server-Sent Events."""

_POLL_EVENTS: Final = """\
`?after=N&wait=S` (S at most 30) with the bearer token: answers at once when an event has
seq > N, else holds the request up to S seconds. 404 once the session has ended."""

_SSE: Final = """\
`text/event-stream`. The token as `Authorization: Bearer <token>` or `?token=` (EventSource
cannot set headers); the resume point is the `Last-Event-ID` header, else `?after=N` (default 0).
The stream starts with `retry: 2000`; each durable event is `id: <seq>` + `data: <event JSON>`;
`typing` is `data:` only (no id: the resume point does not move); `: ping` comments every
`heartbeat` seconds; a gap is a `data:` line with the `error` frame (`code: gap`, `seq`). The
stream ends after `session.ended`; a later GET answers 404. A bad token: 401 with a problem
body. Commands go over `POST /v1/poll/commands`."""


def _ref(path: str) -> dict[str, str]:
    return {"$ref": path}


def _message(name: str, schema: str, summary: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": name,
        "title": name,
        "summary": summary,
        "payload": _ref(_SCHEMAS + schema),
    }
    if name in EXAMPLES:
        message["examples"] = [{"name": name, "payload": EXAMPLES[name]}]
    return message


def _components() -> dict[str, Any]:
    schemas: dict[str, Any] = shared_schemas(_SCHEMAS + "{model}")
    by_direction = {
        d: [_ref(_SCHEMAS + m.model.__name__) for m in MESSAGES if m.direction is d]
        for d in Direction
    }
    schemas[_ANY_COMMAND] = {"oneOf": by_direction[Direction.COMMAND]}
    schemas[_ANY_ANSWER] = {"anyOf": by_direction[Direction.ANSWER]}
    schemas[_ANY_EVENT] = {"oneOf": by_direction[Direction.EVENT]}
    schemas["CommandBatch"] = {
        "oneOf": [
            _ref(_SCHEMAS + _ANY_COMMAND),
            {"type": "array", "items": _ref(_SCHEMAS + _ANY_COMMAND), "minItems": 1},
        ]
    }
    schemas["AnswerBatch"] = {"type": "array", "items": _ref(_SCHEMAS + _ANY_ANSWER)}
    messages = {m.name: _message(m.name, m.model.__name__, m.summary) for m in MESSAGES}
    messages["commandBatch"] = _message(
        "commandBatch", "CommandBatch", "One command or an array of commands."
    )
    messages["answerBatch"] = _message(
        "answerBatch", "AnswerBatch", "The answers to a batch, in its order."
    )
    messages["pollEvents"] = _message(
        "pollEvents", "PollEvents", "The events after `after`, and the last seq."
    )
    messages["problem"] = _message(
        "problem", "Problem", "An HTTP error (401 bad token, 404 session ended, 413, 429…)."
    )
    messages["problem"]["contentType"] = "application/problem+json"
    return {"schemas": schemas, "messages": messages}


def _channel(address: str, description: str, server: str, names: list[str]) -> dict[str, Any]:
    return {
        "address": address,
        "description": description,
        "servers": [_ref(f"#/servers/{server}")],
        "messages": {name: _ref(f"#/components/messages/{name}") for name in names},
    }


def _channels() -> dict[str, Any]:
    frames = [m.name for m in MESSAGES]
    events = [m.name for m in MESSAGES if m.direction is Direction.EVENT]
    websocket = _channel("/v1/ws", _WS, "websocket", frames)
    websocket["bindings"] = {"ws": {"method": "GET", "bindingVersion": "0.1.0"}}
    return {
        "websocket": websocket,
        "pollCommands": _channel(
            "/v1/poll/commands",
            _POLL_COMMANDS,
            "http",
            ["commandBatch", "answerBatch", "problem"],
        ),
        "pollEvents": _channel("/v1/poll/events", _POLL_EVENTS, "http", ["pollEvents", "problem"]),
        "sse": _channel("/v1/sse", _SSE, "http", [*events, "error", "problem"]),
    }


def _messages_of(channel: str, names: list[str]) -> list[dict[str, str]]:
    return [_ref(f"#/channels/{channel}/messages/{name}") for name in names]


def _operations() -> dict[str, Any]:
    operations: dict[str, Any] = {}
    answers = {m.model: m.name for m in MESSAGES if m.direction is Direction.ANSWER}
    for message in MESSAGES:
        if message.command is None:
            continue
        ok = answers[OK_MODELS[message.command]]
        operations[message.name] = {
            "action": "receive",
            "channel": _ref("#/channels/websocket"),
            "summary": message.summary,
            "messages": _messages_of("websocket", [message.name]),
            "reply": {
                "channel": _ref("#/channels/websocket"),
                "messages": _messages_of("websocket", [ok, "error"]),
            },
        }
    events = [m.name for m in MESSAGES if m.direction is Direction.EVENT]
    operations["sendEvent"] = {
        "action": "send",
        "channel": _ref("#/channels/websocket"),
        "summary": "An event, as it happens (durable ones in seq order).",
        "messages": _messages_of("websocket", events),
    }
    operations["sendUnsolicitedError"] = {
        "action": "send",
        "channel": _ref("#/channels/websocket"),
        "summary": "An `error` without `re`: a gap during delivery, or an unreadable frame.",
        "messages": _messages_of("websocket", ["error"]),
    }
    operations.update(_http_operations(events))
    return operations


def _http_operations(events: list[str]) -> dict[str, Any]:
    return {
        "postCommands": {
            "action": "receive",
            "channel": _ref("#/channels/pollCommands"),
            "summary": "Long polling and Server-Sent Events: run commands.",
            "bindings": {"http": {"method": "POST", "bindingVersion": "0.3.0"}},
            "messages": _messages_of("pollCommands", ["commandBatch"]),
            "reply": {
                "channel": _ref("#/channels/pollCommands"),
                "messages": _messages_of("pollCommands", ["answerBatch", "problem"]),
            },
        },
        "pollEvents": {
            "action": "send",
            "channel": _ref("#/channels/pollEvents"),
            "summary": "Long polling: the events after a seq, held until one comes.",
            "bindings": {
                "http": {"method": "GET", "query": _poll_query(), "bindingVersion": "0.3.0"}
            },
            "messages": _messages_of("pollEvents", ["pollEvents", "problem"]),
        },
        "streamEvents": {
            "action": "send",
            "channel": _ref("#/channels/sse"),
            "summary": "Server-Sent Events: every event, and a gap as an `error` frame.",
            "bindings": {
                "http": {"method": "GET", "query": _sse_query(), "bindingVersion": "0.3.0"}
            },
            "messages": _messages_of("sse", [*events, "error", "problem"]),
        },
    }


def _poll_query() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "after": {"type": "integer", "minimum": 0, "maximum": SEQ_MAX, "default": 0},
            "wait": {"type": "number", "minimum": 0, "maximum": 30},
        },
    }


def _sse_query() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "token": {"type": "string", "description": "when no Authorization header is sent"},
            "after": {"type": "integer", "minimum": 0, "maximum": SEQ_MAX, "default": 0},
        },
    }


def _servers() -> dict[str, Any]:
    host = {"host": {"default": "localhost:8080", "description": "the connector's host[:port]"}}
    return {
        "websocket": {
            "host": "{host}",
            "protocol": "wss",
            "description": "WebSocket (ws:// without TLS in development)",
            "variables": host,
        },
        "http": {
            "host": "{host}",
            "protocol": "https",
            "description": "Long polling and Server-Sent Events (http:// in development)",
            "variables": host,
        },
    }


@functools.cache
def asyncapi_document() -> dict[str, Any]:
    """The whole document (built once; treat it as read-only)."""
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "AXP Chat Connector client protocol",
            "version": PROTOCOL_VERSION,
            "description": _DESCRIPTION,
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": _servers(),
        "channels": _channels(),
        "operations": _operations(),
        "components": _components(),
    }
