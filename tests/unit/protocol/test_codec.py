"""Frames in and out: error paths of `parse_command`, answers, encoding, round trips."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from axp_chat_connector.errors import BadRequest, Gap, RateLimited, TooLarge
from axp_chat_connector.protocol.codec import (
    DEFAULT_MAX_DEPTH,
    InvalidFrame,
    encode,
    error,
    ok,
    parse_command,
)
from axp_chat_connector.protocol.frames import Login, Send

EMOJI = "\U0001f600"


def invalid(raw: str | bytes, max_bytes: int = 10_000, **kwargs: Any) -> InvalidFrame:
    with pytest.raises(InvalidFrame) as caught:
        parse_command(raw, max_bytes=max_bytes, **kwargs)
    return caught.value


@pytest.mark.parametrize("raw", ["", "{", "not json", b"\xff\xfe{", '{"type":"ping",}'])
def test_non_json_is_a_bad_request_without_re(raw: str | bytes) -> None:
    exc = invalid(raw)
    assert exc.code == "bad_request"
    assert exc.re is None
    assert exc.message == "frame is not valid UTF-8 JSON"


@pytest.mark.parametrize("raw", ["[]", '[{"type":"ping","id":"1"}]', "3", '"ping"', "null"])
def test_non_objects_are_rejected(raw: str) -> None:
    exc = invalid(raw)
    assert exc.message == "frame must be a JSON object"
    assert exc.re is None


def test_unknown_type_is_a_bad_request_carrying_the_id() -> None:
    exc = invalid('{"type":"dance","id":"c1"}')
    assert isinstance(exc, BadRequest)
    assert exc.re == "c1"
    assert exc.detail[0]["field"] == "type"
    assert error(exc) == {
        "type": "error",
        "re": "c1",
        "code": "bad_request",
        "message": "unknown command type",
        "retryable": False,
        "detail": exc.detail,
    }


@pytest.mark.parametrize("kind", [None, 3, ["ping"]])
def test_missing_or_non_string_type_is_unknown(kind: object) -> None:
    frame = {"id": "c1"} if kind is None else {"id": "c1", "type": kind}
    exc = invalid(json.dumps(frame))
    assert exc.message == "unknown command type"
    assert exc.re == "c1"


def test_missing_id_answers_without_re() -> None:
    exc = invalid('{"type":"ping"}')
    assert exc.re is None
    assert exc.detail == [{"field": "id", "message": "Field required"}]
    assert "re" not in error(exc)


def test_an_unusable_id_is_not_echoed() -> None:
    assert invalid(json.dumps({"type": "dance", "id": "x" * 65})).re is None
    assert invalid(json.dumps({"type": "dance", "id": 5})).re is None
    assert invalid(json.dumps({"type": "dance", "id": EMOJI * 32})).re == EMOJI * 32


def test_invalid_fields_keep_the_id() -> None:
    exc = invalid('{"type":"send","id":"s1","text":""}')
    assert exc.re == "s1"
    assert exc.message == "invalid send command"
    assert exc.detail == [{"field": "text", "message": "must be at least 1 characters"}]


def test_error_takes_an_explicit_re_for_other_errors() -> None:
    assert error(RateLimited(retry_after=2.4), "c9") == {
        "type": "error",
        "re": "c9",
        "code": "rate_limited",
        "message": "Rate limited",
        "retryable": True,
        "retryAfter": 2,
    }
    assert error(Gap(5))["seq"] == 5
    assert "re" not in error(Gap(5))


@pytest.mark.parametrize("as_bytes", [False, True])
def test_oversize_frames_are_too_large(as_bytes: bool) -> None:
    raw = json.dumps({"type": "send", "id": "1", "text": "x" * 200})
    assert len(raw) > 100
    with pytest.raises(TooLarge):
        parse_command(raw.encode() if as_bytes else raw, max_bytes=100)


def test_size_is_counted_in_utf8_bytes() -> None:
    raw = json.dumps({"type": "send", "id": "1", "text": "é" * 40}, ensure_ascii=False)
    size = len(raw.encode())
    assert len(raw) < size
    assert isinstance(parse_command(raw, max_bytes=size), Send)
    assert isinstance(parse_command(raw.encode(), max_bytes=size), Send)
    with pytest.raises(TooLarge):
        parse_command(raw, max_bytes=size - 1)
    with pytest.raises(TooLarge):
        parse_command(raw.encode(), max_bytes=size - 1)


def test_small_frames_skip_the_utf8_count() -> None:
    raw = json.dumps({"type": "send", "id": "1", "text": "é"}, ensure_ascii=False)
    assert isinstance(parse_command(raw, max_bytes=len(raw) * 4), Send)


def nested(levels: int, opener: str = "[") -> str:
    """A ping frame nested `levels` deep, the frame itself counting as one."""
    if opener == "[":
        body = "[" * (levels - 1) + "0" + "]" * (levels - 1)
    else:
        body = '{"a":' * (levels - 2) + "{}" + "}" * (levels - 2)
    return '{"type":"ping","id":"p","x":' + body + "}"


@pytest.mark.parametrize("opener", ["[", "{"])
def test_depth_limit(opener: str) -> None:
    assert parse_command(nested(DEFAULT_MAX_DEPTH, opener), max_bytes=10_000)
    exc = invalid(nested(DEFAULT_MAX_DEPTH + 1, opener))
    assert exc.message == f"frame nested deeper than {DEFAULT_MAX_DEPTH} levels"
    assert exc.re == "p", "the id could be read: the error names it (docs/protocol.md §4)"


def test_depth_limit_on_bytes_and_brackets_inside_strings() -> None:
    raw = json.dumps({"type": "send", "id": "1", "text": "[[[[{{{{" * 10})
    assert isinstance(parse_command(raw.encode(), max_bytes=10_000, max_depth=3), Send)
    with pytest.raises(InvalidFrame):
        parse_command(nested(4).encode(), max_bytes=10_000, max_depth=3)


def test_pathological_nesting_does_not_crash() -> None:
    raw = '{"type":"ping","id":"p","x":' + "[" * 100_000 + "]" * 100_000 + "}"
    exc = invalid(raw, max_bytes=1 << 20)
    assert "nested deeper" in exc.message


def test_ok_answers() -> None:
    assert ok("c1") == {"type": "ok", "re": "c1"}
    assert ok("c2", sessionId="s", seq=0) == {"type": "ok", "re": "c2", "sessionId": "s", "seq": 0}
    assert ok(None) == {"type": "ok"}


def test_an_id_with_an_unpaired_surrogate_is_not_echoed() -> None:
    assert invalid('{"type":"dance","id":"a\\udc00"}').re is None


def test_encode_escapes_frames_that_could_not_be_utf8() -> None:
    text = encode({"type": "message", "text": "a\ud800é"})
    assert text == '{"type":"message","text":"a\\ud800\\u00e9"}'
    assert text.encode("utf-8")


def test_encode_is_compact_and_keeps_characters() -> None:
    assert encode({"type": "ok", "re": "é" + EMOJI}) == '{"type":"ok","re":"é' + EMOJI + '"}'


CHARS = st.characters(exclude_categories=["Cs"])
texts = st.text(CHARS, min_size=1, max_size=40)
ids = st.text(CHARS, min_size=1, max_size=32)
parameters = st.dictionaries(st.text(CHARS, min_size=1, max_size=32), texts, max_size=20)


@given(
    id_=ids,
    name=st.text(CHARS, min_size=1, max_size=35),
    emails=st.lists(texts, min_size=1, max_size=5),
    params=parameters,
)
def test_login_round_trips_through_encode_and_parse(
    id_: str, name: str, emails: list[str], params: dict[str, str]
) -> None:
    frame = {
        "type": "login",
        "id": id_,
        "customer": {"displayName": name, "identifiers": {"emailAddresses": emails}},
        "parameters": params,
    }
    cmd = parse_command(encode(frame), max_bytes=1 << 20)
    assert isinstance(cmd, Login)
    assert cmd.id == id_
    assert cmd.customer is not None
    assert cmd.customer.display_name == name
    assert cmd.customer.identifiers == {"emailAddresses": emails}
    assert cmd.parameters == params
    again = cmd.model_dump(by_alias=True, exclude_none=True) | {"type": "login"}
    assert parse_command(encode(again).encode(), max_bytes=1 << 20) == cmd


@given(id_=ids, body=texts, markdown=st.booleans())
def test_send_round_trips(id_: str, body: str, markdown: bool) -> None:
    frame = {"type": "send", "id": id_, "text": body, "format": "MARKDOWN" if markdown else None}
    frame = {k: v for k, v in frame.items() if v is not None}
    cmd = parse_command(encode(frame), max_bytes=1 << 20)
    assert isinstance(cmd, Send)
    assert (cmd.id, cmd.text, cmd.format.value) == (id_, body, frame.get("format", "PLAINTEXT"))


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | texts,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
        max_leaves=20,
    )
)
def test_any_json_value_parses_or_raises_a_client_error(value: object) -> None:
    raw = encode({"type": "ping", "id": "p", "extra": value})
    assert parse_command(raw, max_bytes=1 << 20).id == "p"
    with contextlib.suppress(InvalidFrame, TooLarge):
        parse_command(encode(value), max_bytes=1 << 20)  # type: ignore[arg-type]
