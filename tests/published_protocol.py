"""Check frames against the published client protocol: the JSON Schema files under docs/schema/
and the AsyncAPI document docs/asyncapi.json (as committed, not as the models make them now).

`ProtocolChecker.server_frame(frame, command)` validates one frame a client received, against its
own schema file and against the AsyncAPI document's payloads for the transport; `command` is the
type of the command an `ok` answers (an `ok` is told apart by the command its `re` names).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from axp_chat_connector.protocol.codes import CommandType
from axp_chat_connector.protocol.wire_answers import OK_MODELS
from axp_chat_connector.protocol.wire_schema import MESSAGES, Direction
from tests.servers import ROOT

DOCS: Final = ROOT / "docs"
ASYNCAPI_META: Final = ROOT / "tests" / "meta_schemas" / "asyncapi-3.0.0.json"
_DOC_URI: Final = "urn:axp-chat-connector:asyncapi"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def asyncapi() -> Mapping[str, Any]:
    return read_json(DOCS / "asyncapi.json")  # type: ignore[no-any-return]


def asyncapi_meta_validator() -> jsonschema.Draft7Validator:
    """The AsyncAPI 3.0.0 JSON Schema (draft-07, bindings bundled under their `$id`s)."""
    return jsonschema.Draft7Validator(read_json(ASYNCAPI_META))


def _ok_name(command: str) -> str:
    model = OK_MODELS[CommandType(command)]
    return next(m.name for m in MESSAGES if m.model is model)


def schema_file_of(frame: Mapping[str, Any], command: str | None = None) -> Path:
    """The docs/schema/ file that describes a frame the connector sent."""
    kind = frame["type"]
    if kind == "ok":
        assert command is not None, "an ok answer is checked knowing its command"
        return DOCS / "schema" / Direction.ANSWER.value / f"{_ok_name(command)}.json"
    if kind == "error":
        return DOCS / "schema" / Direction.ANSWER.value / "error.json"
    return DOCS / "schema" / Direction.EVENT.value / f"{kind}.json"


class ProtocolChecker:
    """Validators for the committed schema files and the AsyncAPI document's payloads."""

    def __init__(self) -> None:
        document = asyncapi()
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_DOC_URI, resource)
        self._files: dict[Path, jsonschema.Draft202012Validator] = {}
        self._channels: dict[str, jsonschema.Draft202012Validator] = {}

    def _file(self, path: Path) -> jsonschema.Draft202012Validator:
        if path not in self._files:
            self._files[path] = jsonschema.Draft202012Validator(read_json(path))
        return self._files[path]

    def _channel_payloads(self, channel: str) -> jsonschema.Draft202012Validator:
        """Any message of an AsyncAPI channel, by way of its messages' payload references."""
        if channel not in self._channels:
            messages = asyncapi()["channels"][channel]["messages"]
            payloads = [{"$ref": _DOC_URI + m["$ref"] + "/payload"} for m in messages.values()]
            self._channels[channel] = jsonschema.Draft202012Validator(
                {"anyOf": payloads}, registry=self._registry
            )
        return self._channels[channel]

    def asyncapi_payload(self, path: str) -> jsonschema.Draft202012Validator:
        """A validator for the schema at `path` (a JSON pointer) of the AsyncAPI document."""
        return jsonschema.Draft202012Validator(
            {"$ref": f"{_DOC_URI}#{path}"}, registry=self._registry
        )

    def command(self, frame: Mapping[str, Any]) -> None:
        self._file(DOCS / "schema" / Direction.COMMAND.value / f"{frame['type']}.json").validate(
            frame
        )
        self.asyncapi_payload("/components/schemas/ClientCommand").validate(frame)

    def server_frame(
        self, frame: Mapping[str, Any], command: str | None = None, channel: str = "websocket"
    ) -> None:
        self._file(schema_file_of(frame, command)).validate(frame)
        self._channel_payloads(channel).validate(frame)
