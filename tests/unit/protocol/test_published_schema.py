"""The published client protocol (docs/asyncapi.json, docs/schema/, docs/client-protocol.md):
generated from the models and committed as generated, valid against the AsyncAPI 3.0 and JSON
Schema 2020-12 meta-schemas, and agreeing with the connector on which frames are valid."""

from __future__ import annotations

import copy
import importlib.util
import json
from types import ModuleType
from typing import Any

import jsonschema
import pytest

from axp_chat_connector.errors import BadRequest
from axp_chat_connector.protocol import codec, events
from axp_chat_connector.protocol.frames import Seq
from axp_chat_connector.protocol.wire_answers import OK_MODELS
from axp_chat_connector.protocol.wire_asyncapi import asyncapi_document
from axp_chat_connector.protocol.wire_examples import EXAMPLES
from axp_chat_connector.protocol.wire_schema import MESSAGES
from tests.published_protocol import (
    DOCS,
    ProtocolChecker,
    asyncapi,
    asyncapi_meta_validator,
    read_json,
)
from tests.servers import ROOT
from tests.unit.protocol.test_wire_models import OK_ANSWERS, _as_sent, _built_events


def _script() -> ModuleType:
    path = ROOT / "scripts" / "generate_protocol_schema.py"
    spec = importlib.util.spec_from_file_location("generate_protocol_schema", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_files_are_what_the_models_generate() -> None:
    script = _script()
    expected = script.render()
    hint = "run: .venv/bin/python scripts/generate_protocol_schema.py"
    for path, text in expected.items():
        assert path.is_file(), f"{path.relative_to(ROOT)} missing; {hint}"
        assert path.read_text(encoding="utf-8") == text, f"{path.relative_to(ROOT)}; {hint}"
    assert script.stale_files(expected) == [], hint


def test_the_served_document_is_the_committed_one() -> None:
    assert json.loads(json.dumps(asyncapi_document())) == asyncapi()


def test_the_asyncapi_document_is_valid_asyncapi_3() -> None:
    validator = asyncapi_meta_validator()
    document = asyncapi()
    assert document["asyncapi"] == "3.0.0"
    assert list(validator.iter_errors(document)) == []
    broken = copy.deepcopy(dict(document))
    broken["operations"]["login"]["action"] = "publish"  # AsyncAPI 2's word
    assert list(validator.iter_errors(broken)), "the meta-schema check can fail"


def test_every_transport_is_a_channel() -> None:
    channels = {c["address"]: c for c in asyncapi()["channels"].values()}
    assert set(channels) == {"/v1/ws", "/v1/poll/commands", "/v1/poll/events", "/v1/sse"}
    sse = channels["/v1/sse"]
    assert {"typing", "session.ended", "error"} <= set(sse["messages"])
    assert "Last-Event-ID" in sse["description"]
    assert len(channels["/v1/ws"]["messages"]) == len(MESSAGES)


def test_every_schema_file_is_valid_json_schema_2020_12() -> None:
    files = sorted((DOCS / "schema").rglob("*.json"))
    assert len(files) == len(MESSAGES) + 2
    for path in files:
        schema = read_json(path)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)
    with pytest.raises(jsonschema.SchemaError):
        jsonschema.Draft202012Validator.check_schema({"type": "strng"})


def test_every_message_has_a_schema_and_an_operation() -> None:
    document = asyncapi()
    for message in MESSAGES:
        assert message.name in document["components"]["messages"]
        path = DOCS / "schema" / message.direction.value / f"{message.name}.json"
        assert read_json(path)["title"] == message.model.__name__
    received = {op["messages"][0]["$ref"].rsplit("/", 1)[-1] for op in _operations("receive")}
    assert {m.name for m in MESSAGES if m.command is not None} <= received


def _operations(action: str) -> list[dict[str, Any]]:
    return [op for op in asyncapi()["operations"].values() if op["action"] == action]


@pytest.fixture(scope="module")
def checker() -> ProtocolChecker:
    return ProtocolChecker()


@pytest.mark.parametrize("event", _built_events(), ids=lambda e: str(e["type"]))
def test_every_built_event_matches_the_published_schemas(
    checker: ProtocolChecker, event: dict[str, Any]
) -> None:
    checker.server_frame(_as_sent(event))
    checker.server_frame(_as_sent(event), channel="sse")


@pytest.mark.parametrize(("command", "answer"), OK_ANSWERS, ids=lambda v: str(v))
def test_every_ok_shape_matches_the_published_schemas(
    checker: ProtocolChecker, command: str, answer: dict[str, Any]
) -> None:
    checker.server_frame(answer, command)


def test_error_frames_and_poll_bodies_match_the_published_schemas(
    checker: ProtocolChecker,
) -> None:
    invalid = codec.InvalidFrame("bad", re="c1", detail=[{"field": "id", "message": "short"}])
    checker.server_frame(codec.error(invalid))
    checker.server_frame(codec.error(BadRequest("unreadable")))
    sent = [_as_sent(e, seq) for seq, e in enumerate(_built_events(), start=1)]
    poll = checker.asyncapi_payload("/components/schemas/PollEvents")
    poll.validate({"events": sent, "seq": len(sent)})
    with pytest.raises(jsonschema.ValidationError):
        poll.validate({"events": [events.with_seq(sent[0], Seq(0))], "seq": 1})


LOGIN = {"type": "login", "id": "l1", "customer": {"displayName": "Ada", "identifiers": {}}}
EMAILS = {"emailAddresses": ["ada@example.com"]}

COMMANDS: list[tuple[dict[str, Any], bool]] = [
    ({**LOGIN, "customer": {"displayName": "Ada", "identifiers": EMAILS}}, True),
    ({**LOGIN, "customer": {"displayName": "Ada", "identifiers": {}}}, False),
    ({**LOGIN, "customer": {"displayName": "A" * 71, "identifiers": EMAILS}}, False),
    ({"type": "login", "id": "l2", "idToken": "x.y.z"}, True),
    ({"type": "login", "id": "l3"}, False),
    (
        {
            "type": "login",
            "id": "l4",
            "idToken": "x.y.z",
            "customer": {"displayName": "A", "identifiers": EMAILS},
        },
        False,
    ),
    ({"type": "identify", "id": "i1", "identifiers": {"emailAddresses": ["a"] * 6}}, False),
    ({"type": "context", "id": "x1", "parameters": {f"k{n}": "v" for n in range(21)}}, False),
    ({"type": "context", "id": "x2", "parameters": {"k" * 65: "v"}}, False),
    ({"type": "start", "id": "s1", "conversation": "c" * 257}, False),
    ({"type": "send", "id": "a" * 64, "text": "t" * 4096}, True),
    ({"type": "send", "id": "a" * 65, "text": "hi"}, False),
    ({"type": "send", "id": "s2", "text": "t" * 4097}, False),
    ({"type": "send", "id": "s3", "text": ""}, False),
    ({"type": "send", "id": "s4", "text": "hi", "reply": {"text": "yes"}}, False),
    ({"type": "send", "id": "s5", "reply": {"payload": "p" * 512}}, True),
    ({"type": "send", "id": "s6", "postback": {}}, False),
    ({"type": "send", "id": "s7", "text": "hi", "format": "HTML"}, False),
    ({"type": "history", "id": "h1", "limit": 51}, False),
    ({"type": "history", "id": "h2", "limit": 50, "before": 3}, True),
    ({"type": "ack", "seq": 3}, True),
    ({"type": "ack", "seq": -1}, False),
    ({"type": "resume", "id": "r1", "token": "t", "after": 0}, True),
    ({"type": "resume", "id": "r2", "token": "t"}, False),
    ({"type": "end", "id": "e1", "reason": "AGENT_CLOSED"}, False),
    ({"type": "ping", "id": "p1", "extra": "ignored"}, True),
]


@pytest.mark.parametrize(("frame", "valid"), COMMANDS, ids=lambda v: json.dumps(v)[:40])
def test_the_schemas_and_the_connector_agree_on_commands(
    checker: ProtocolChecker, frame: dict[str, Any], valid: bool
) -> None:
    try:
        codec.parse_command(json.dumps(frame), max_bytes=1 << 20)
        accepted = True
    except codec.InvalidFrame:
        accepted = False
    try:
        checker.command(frame)
        published = True
    except jsonschema.ValidationError:
        published = False
    assert (accepted, published) == (valid, valid)


def test_every_message_has_an_example_that_its_model_and_schemas_accept(
    checker: ProtocolChecker,
) -> None:
    assert set(EXAMPLES) == {m.name for m in MESSAGES}
    for message in MESSAGES:
        example = dict(EXAMPLES[message.name])
        if message.command is not None:
            assert codec.parse_command(json.dumps(example), max_bytes=1 << 20).type is (
                message.command
            )
            checker.command(example)
            continue
        parsed = message.model.model_validate(example)
        assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == example
        command = next((c for c, m in OK_MODELS.items() if m is message.model), None)
        checker.server_frame(example, command)
        examples = asyncapi()["components"]["messages"][message.name]["examples"]
        assert examples == [{"name": message.name, "payload": example}]
