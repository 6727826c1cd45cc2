"""The published JSON Schemas of the client protocol, generated from the wire models.

`MESSAGES` lists every frame a client sends or receives (commands from `frames`, answers from
`wire_answers`, events from `wire_events`) with a one-line summary; `standalone_schema` gives one
message's JSON Schema (2020-12) on its own, `shared_schemas` all of them at once with references
into an AsyncAPI document's `components/schemas`.

What the published form changes from pydantic's: optional fields are left out on the wire (the
connector never sends `null`), so they are published without `null` and without a default; the
commands' `type` (a class constant in `frames`) is published as a required constant; lengths
are `minLength`/`maxLength` (the connector counts UTF-16 code units, a schema validator code
points: the published bound is never stricter).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from axp_chat_connector.protocol import frames, wire_answers, wire_events
from axp_chat_connector.protocol.codes import CommandType, EventType

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


class Direction(StrEnum):
    COMMAND = "commands"
    ANSWER = "answers"
    EVENT = "events"


@dataclass(frozen=True, slots=True)
class WireMessage:
    """One kind of frame: `name` is its key in the AsyncAPI document and its schema file's
    name; `command` is the wire `type` a command model publishes."""

    name: str
    direction: Direction
    model: type[BaseModel]
    summary: str
    command: CommandType | None = None


_COMMANDS: Final[Sequence[tuple[CommandType, str]]] = (
    (CommandType.LOGIN, "Create the session (guest `customer` or verified `idToken`)."),
    (CommandType.RESUME, "Bind this connection to a session again; missed events follow."),
    (CommandType.CONTEXT, "Merge session parameters (AXP Update Session Parameters)."),
    (CommandType.IDENTIFY, "Add customer identifiers (AXP Append Identifiers)."),
    (CommandType.START, "Open a chat (AXP Create Engagement), or get the open one."),
    (CommandType.SEND, "Send a text, or answer a quick reply or button."),
    (CommandType.HISTORY, "Read the chat's messages from AXP, page by page."),
    (CommandType.END, "End the chat."),
    (CommandType.LOGOUT, "End the chat if one is open, then the session."),
    (CommandType.ACK, "Say which events the client has; they may be trimmed sooner."),
    (CommandType.PING, "Check that the connection works."),
)

_ANSWERS: Final[Sequence[tuple[str, type[BaseModel], str]]] = (
    ("loginOk", wire_answers.LoginOk, "The answer to `login`."),
    ("resumeOk", wire_answers.ResumeOk, "The answer to `resume`."),
    ("startOk", wire_answers.StartOk, "The answer to `start`."),
    ("sendOk", wire_answers.SendOk, "The answer to `send`."),
    ("historyOk", wire_answers.HistoryOk, "The answer to `history`."),
    ("ok", wire_answers.Ok, "The answer to `context`, `identify`, `end`, `logout`, `ping`."),
    ("ackOk", wire_answers.AckOk, "The answer to an `ack`."),
    ("error", wire_answers.Error, "A command failed, or a frame could not be read."),
)

_EVENTS: Final[Mapping[EventType, str]] = {
    EventType.CHAT_STARTED: "The chat is open and waits for an agent or bot.",
    EventType.PARTICIPANT_JOINED: "An agent, bot, supervisor or system joined.",
    EventType.PARTICIPANT_LEFT: "A contact-centre participant left.",
    EventType.MESSAGE: "A message from the contact centre, or the echo of the customer's send.",
    EventType.MESSAGE_FAILED: "A `send` could not be delivered.",
    EventType.TYPING: "Someone in the contact centre is typing (ephemeral: no seq).",
    EventType.CHAT_ENDED: "The chat ended.",
    EventType.CHAT_ERROR: "AXP reported an engagement error.",
    EventType.CHAT_IDLE: "The chat will end for inactivity at `endsAt` unless the customer sends.",
    EventType.SESSION_TOKEN: "A fresh session token, before the current one expires.",
    EventType.SESSION_ENDED: "The session ended: the last event.",
}

MESSAGES: Final[Sequence[WireMessage]] = (
    *(
        WireMessage(kind.value, Direction.COMMAND, frames.MODELS[kind.value], summary, kind)
        for kind, summary in _COMMANDS
    ),
    *(WireMessage(name, Direction.ANSWER, model, summary) for name, model, summary in _ANSWERS),
    *(
        WireMessage(kind.value, Direction.EVENT, wire_events.EVENT_MODELS[kind], summary)
        for kind, summary in _EVENTS.items()
    ),
)
"""Every frame of the client protocol, commands first, then answers, then events."""

ENVELOPES: Final[Sequence[type[BaseModel]]] = (wire_answers.PollEvents, wire_answers.Problem)
"""Long polling's HTTP bodies that are not frames."""


class PublishedSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, as the wire has it: absent rather than null, no field titles."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        published = super().default_schema(schema)
        if "default" in published and published["default"] is None:
            del published["default"]
        return published

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def tagged_union_schema(self, schema: core_schema.TaggedUnionSchema) -> JsonSchemaValue:
        """A plain `oneOf`: each member's `type` constant tells them apart (OpenAPI's
        discriminator object is not JSON Schema, and AsyncAPI's is a bare property name)."""
        published = super().tagged_union_schema(schema)
        published.pop("discriminator", None)
        return published


def _with_command_type(schema: dict[str, Any], kind: CommandType) -> dict[str, Any]:
    """A command model's schema with its `type` constant, first and required."""
    type_schema = {"type": "string", "const": kind.value}
    schema["properties"] = {"type": type_schema, **schema.get("properties", {})}
    schema["required"] = ["type", *schema.get("required", [])]
    return schema


def standalone_schema(message: WireMessage) -> dict[str, Any]:
    """One message's JSON Schema, its nested definitions under its own `$defs`."""
    schema = message.model.model_json_schema(by_alias=True, schema_generator=PublishedSchema)
    if message.command is not None:
        schema = _with_command_type(schema, message.command)
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def envelope_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A long-polling body's JSON Schema, standalone."""
    schema = model.model_json_schema(by_alias=True, schema_generator=PublishedSchema)
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def shared_schemas(ref_template: str) -> dict[str, dict[str, Any]]:
    """Every model's schema by model name, references written with `ref_template`
    (e.g. `#/components/schemas/{model}`)."""
    models: Iterable[type[BaseModel]] = (
        *(message.model for message in MESSAGES),
        *ENVELOPES,
    )
    unique = list(dict.fromkeys(models))
    _, top = models_json_schema(
        [(model, "validation") for model in unique],
        by_alias=True,
        ref_template=ref_template,
        schema_generator=PublishedSchema,
    )
    schemas: dict[str, dict[str, Any]] = top.get("$defs", {})
    for message in MESSAGES:
        if message.command is not None:
            _with_command_type(schemas[message.model.__name__], message.command)
    return schemas
