"""Every command of PROTOCOL.md §2, valid and invalid at each limit (lengths in UTF-16)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from axp_chat_connector.protocol.codec import InvalidFrame, parse_command
from axp_chat_connector.protocol.codes import MessageFormat
from axp_chat_connector.protocol.frames import (
    SEQ_MAX,
    Ack,
    Command,
    Context,
    End,
    History,
    Identify,
    Login,
    Logout,
    Ping,
    Resume,
    Send,
    Start,
    utf16_length,
)

EMOJI = "\U0001f600"  # outside the BMP: 2 UTF-16 code units
CUSTOMER = {"displayName": "Ann", "identifiers": {"emailAddresses": ["ann@example.com"]}}


def parse(frame: dict[str, Any], **kwargs: Any) -> Command:
    return parse_command(json.dumps(frame), max_bytes=1 << 20, **kwargs)


def rejected(frame: dict[str, Any], **kwargs: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidFrame) as caught:
        parse(frame, **kwargs)
    detail = caught.value.detail
    assert isinstance(detail, list)
    return detail


def fields(frame: dict[str, Any], **kwargs: Any) -> set[str]:
    return {d["field"] for d in rejected(frame, **kwargs)}


def text(units: int) -> str:
    """A string of exactly `units` UTF-16 code units, mostly emoji."""
    return EMOJI * (units // 2) + "a" * (units % 2)


def test_utf16_length_counts_non_bmp_characters_twice() -> None:
    assert utf16_length("") == 0
    assert utf16_length("abc") == 3
    assert utf16_length("é") == 1
    assert utf16_length(EMOJI) == 2
    assert utf16_length("a" + EMOJI + "字") == 4
    assert utf16_length("\ud800") == 1  # a lone surrogate, as json.loads can make


@pytest.mark.parametrize("size", [1, 63, 64])
def test_id_of_1_to_64_units_is_accepted(size: int) -> None:
    assert parse({"type": "ping", "id": text(size)}).id == text(size)


@pytest.mark.parametrize("value", ["", text(65), EMOJI * 32 + "a", 7, None, ["x"]])
def test_bad_ids_are_rejected(value: object) -> None:
    assert fields({"type": "ping", "id": value}) == {"id"}


def test_missing_id_is_rejected() -> None:
    assert fields({"type": "logout"}) == {"id"}


def test_login_with_customer() -> None:
    cmd = parse({"type": "login", "id": "1", "customer": CUSTOMER, "parameters": {"a": "b"}})
    assert isinstance(cmd, Login)
    assert cmd.customer is not None
    assert cmd.customer.display_name == "Ann"
    assert cmd.customer.identifiers == {"emailAddresses": ["ann@example.com"]}
    assert cmd.id_token is None
    assert cmd.parameters == {"a": "b"}


def test_login_with_id_token_and_default_parameters() -> None:
    cmd = parse({"type": "login", "id": "1", "idToken": "a.b.c"})
    assert isinstance(cmd, Login)
    assert cmd.id_token == "a.b.c"
    assert cmd.customer is None
    assert cmd.parameters == {}


@pytest.mark.parametrize(
    "extra", [{}, {"customer": CUSTOMER, "idToken": "a.b.c"}], ids=["neither", "both"]
)
def test_login_needs_exactly_one_of_customer_and_id_token(extra: dict[str, Any]) -> None:
    detail = rejected({"type": "login", "id": "1", **extra})
    assert detail == [
        {"field": "customer", "message": "exactly one of customer, idToken is required"}
    ]


@pytest.mark.parametrize(("size", "ok"), [(0, False), (1, True), (70, True), (71, False)])
def test_display_name_is_1_to_70_units(size: int, ok: bool) -> None:
    frame = {"type": "login", "id": "1", "customer": {**CUSTOMER, "displayName": text(size)}}
    if ok:
        assert parse(frame)
    else:
        assert fields(frame) == {"customer.displayName"}


def identify(identifiers: object, **kwargs: Any) -> Command:
    return parse({"type": "identify", "id": "1", "identifiers": identifiers}, **kwargs)


def test_identify_with_both_default_kinds() -> None:
    cmd = identify({"emailAddresses": ["a@b.c"], "phoneNumbers": ["+1", "+2"]})
    assert isinstance(cmd, Identify)
    assert cmd.identifiers["phoneNumbers"] == ["+1", "+2"]


def test_identifiers_need_at_least_one_kind() -> None:
    assert fields({"type": "identify", "id": "1", "identifiers": {}}) == {"identifiers"}


def test_identifier_kinds_are_those_configured() -> None:
    frame = {"type": "identify", "id": "1", "identifiers": {"loyaltyIds": ["7"]}}
    detail = rejected(frame)
    assert detail[0]["field"] == "identifiers.loyaltyIds"
    assert "emailAddresses, phoneNumbers" in detail[0]["message"]
    kinds = frozenset(f"k{i}" for i in range(11)) | {"loyaltyIds"}
    assert isinstance(identify({"loyaltyIds": ["7"]}, identifier_kinds=kinds), Identify)


def test_identifiers_take_1_to_10_kinds() -> None:
    kinds = frozenset(f"k{i}" for i in range(11))
    ten = {f"k{i}": ["v"] for i in range(10)}
    assert isinstance(identify(ten, identifier_kinds=kinds), Identify)
    eleven = {f"k{i}": ["v"] for i in range(11)}
    frame = {"type": "identify", "id": "1", "identifiers": eleven}
    assert fields(frame, identifier_kinds=kinds) == {"identifiers"}


def test_identifier_kind_names_are_at_most_50_units() -> None:
    long_kind = "k" * 51
    frame = {"type": "identify", "id": "1", "identifiers": {long_kind: ["v"]}}
    assert fields(frame, identifier_kinds=frozenset({long_kind})) == {f"identifiers.{long_kind}"}


@pytest.mark.parametrize(("count", "ok"), [(0, False), (1, True), (5, True), (6, False)])
def test_each_kind_takes_1_to_5_values(count: int, ok: bool) -> None:
    frame = {"type": "identify", "id": "1", "identifiers": {"phoneNumbers": ["1"] * count}}
    if ok:
        assert parse(frame)
    else:
        assert fields(frame) == {"identifiers.phoneNumbers"}


@pytest.mark.parametrize(("size", "ok"), [(0, False), (1, True), (256, True), (257, False)])
def test_identifier_values_are_1_to_256_units(size: int, ok: bool) -> None:
    frame = {"type": "identify", "id": "1", "identifiers": {"emailAddresses": ["x", text(size)]}}
    if ok:
        assert parse(frame)
    else:
        assert fields(frame) == {"identifiers.emailAddresses.1"}


def test_login_identifier_errors_name_the_nested_field() -> None:
    customer = {"displayName": "A", "identifiers": {"emailAddresses": [3]}}
    frame = {"type": "login", "id": "1", "customer": customer}
    assert fields(frame) == {"customer.identifiers.emailAddresses.0"}


@pytest.mark.parametrize("kind", ["context", "start", "login"])
def test_parameters_limits_apply_to_every_command_that_takes_them(kind: str) -> None:
    base: dict[str, Any] = {"type": kind, "id": "1"}
    if kind == "login":
        base["customer"] = CUSTOMER
    twenty = {f"k{i}": "v" for i in range(20)}
    assert parse({**base, "parameters": twenty})
    assert fields({**base, "parameters": {**twenty, "k20": "v"}}) == {"parameters"}
    assert parse({**base, "parameters": {text(64): text(256), "empty": ""}})
    assert fields({**base, "parameters": {text(65): "v"}}) == {f"parameters.{text(65)}"}
    assert fields({**base, "parameters": {"": "v"}}) == {"parameters."}
    assert fields({**base, "parameters": {"k": text(257)}}) == {"parameters.k"}
    assert fields({**base, "parameters": {"k": 5}}) == {"parameters.k"}
    assert fields({**base, "parameters": ["k"]}) == {"parameters"}


def test_context_requires_parameters() -> None:
    assert fields({"type": "context", "id": "1"}) == {"parameters"}
    cmd = parse({"type": "context", "id": "1", "parameters": {}})
    assert isinstance(cmd, Context)
    assert cmd.parameters == {}


def test_start_defaults_and_conversation_limit() -> None:
    cmd = parse({"type": "start", "id": "1"})
    assert isinstance(cmd, Start)
    assert (cmd.conversation, cmd.parameters) == (None, {})
    assert parse({"type": "start", "id": "1", "conversation": text(256)})
    assert fields({"type": "start", "id": "1", "conversation": text(257)}) == {"conversation"}


@pytest.mark.parametrize(("size", "ok"), [(0, False), (1, True), (4096, True), (4097, False)])
def test_send_text_is_1_to_4096_units(size: int, ok: bool) -> None:
    frame = {"type": "send", "id": "1", "text": text(size)}
    if ok:
        cmd = parse(frame)
        assert isinstance(cmd, Send)
        assert cmd.format is MessageFormat.PLAINTEXT
    else:
        assert fields(frame) == {"text"}


def test_send_text_of_2048_emoji_fits_but_not_one_more_unit() -> None:
    assert parse({"type": "send", "id": "1", "text": EMOJI * 2048})
    assert fields({"type": "send", "id": "1", "text": EMOJI * 2048 + "a"}) == {"text"}


def test_send_format() -> None:
    cmd = parse({"type": "send", "id": "1", "text": "*hi*", "format": "MARKDOWN"})
    assert isinstance(cmd, Send)
    assert cmd.format is MessageFormat.MARKDOWN
    assert fields({"type": "send", "id": "1", "text": "x", "format": "HTML"}) == {"format"}


@pytest.mark.parametrize("kind", ["reply", "postback"])
def test_reply_and_postback_limits(kind: str) -> None:
    base = {"type": "send", "id": "1"}
    cmd = parse({**base, kind: {"text": text(50), "payload": text(512)}})
    assert isinstance(cmd, Send)
    chosen = getattr(cmd, kind)
    assert (chosen.text, chosen.payload) == (text(50), text(512))
    assert parse({**base, kind: {"payload": "P"}})
    assert parse({**base, kind: {"text": ""}})
    assert fields({**base, kind: {"text": text(51)}}) == {f"{kind}.text"}
    assert fields({**base, kind: {"payload": text(513)}}) == {f"{kind}.payload"}
    assert fields({**base, kind: {}}) == {kind}


@pytest.mark.parametrize(
    "content",
    [
        {},
        {"text": "a", "reply": {"text": "b"}},
        {"reply": {"text": "b"}, "postback": {"text": "c"}},
    ],
    ids=["none", "text+reply", "reply+postback"],
)
def test_send_needs_exactly_one_content(content: dict[str, Any]) -> None:
    assert fields({"type": "send", "id": "1", **content}) == {"text"}


def test_lone_surrogates_are_rejected() -> None:
    raw = '{"type":"send","id":"1","text":"a\\ud800b"}'
    with pytest.raises(InvalidFrame) as caught:
        parse_command(raw, max_bytes=1000)
    assert caught.value.detail == [
        {"field": "text", "message": "must not contain unpaired surrogates"}
    ]


@pytest.mark.parametrize(("limit", "ok"), [(0, False), (1, True), (50, True), (51, False)])
def test_history_limit_is_1_to_50(limit: int, ok: bool) -> None:
    frame = {"type": "history", "id": "1", "limit": limit}
    if ok:
        assert parse(frame)
    else:
        assert fields(frame) == {"limit"}


def test_history_defaults_and_before() -> None:
    cmd = parse({"type": "history", "id": "1"})
    assert isinstance(cmd, History)
    assert (cmd.limit, cmd.before) == (50, None)
    cmd = parse({"type": "history", "id": "1", "before": 0})
    assert isinstance(cmd, History)
    assert cmd.before == 0
    assert fields({"type": "history", "id": "1", "before": -1}) == {"before"}
    assert fields({"type": "history", "id": "1", "limit": "5"}) == {"limit"}
    assert fields({"type": "history", "id": "1", "limit": True}) == {"limit"}
    assert fields({"type": "history", "id": "1", "limit": 5.0}) == {"limit"}


def test_resume() -> None:
    cmd = parse({"type": "resume", "id": "1", "token": "t", "after": 0})
    assert isinstance(cmd, Resume)
    assert (cmd.token, cmd.after) == ("t", 0)
    assert fields({"type": "resume", "id": "1", "token": "t"}) == {"after"}
    assert fields({"type": "resume", "id": "1", "token": "", "after": 1}) == {"token"}
    assert fields({"type": "resume", "id": "1", "token": "t", "after": -1}) == {"after"}


def test_end_reason_is_user_closed_only() -> None:
    cmd = parse({"type": "end", "id": "1"})
    assert isinstance(cmd, End)
    assert cmd.reason == "USER_CLOSED"
    assert parse({"type": "end", "id": "1", "reason": "USER_CLOSED"})
    assert fields({"type": "end", "id": "1", "reason": "AGENT_CLOSED"}) == {"reason"}


def test_ack_id_is_optional() -> None:
    cmd = parse({"type": "ack", "seq": 7})
    assert isinstance(cmd, Ack)
    assert (cmd.id, cmd.seq) == (None, 7)
    cmd = parse({"type": "ack", "id": "a", "seq": 0})
    assert isinstance(cmd, Ack)
    assert cmd.id == "a"
    assert fields({"type": "ack"}) == {"seq"}
    assert fields({"type": "ack", "id": "", "seq": 1}) == {"id"}


def test_logout_and_ping() -> None:
    assert isinstance(parse({"type": "logout", "id": "1"}), Logout)
    assert isinstance(parse({"type": "ping", "id": "1"}), Ping)


def test_unknown_fields_are_ignored() -> None:
    cmd = parse({"type": "ping", "id": "1", "future": {"x": [1]}, "v": 2})
    assert isinstance(cmd, Ping)
    assert not hasattr(cmd, "future")


def test_commands_are_frozen() -> None:
    cmd = parse({"type": "ping", "id": "1"})
    with pytest.raises(ValueError, match="frozen"):
        cmd.id = "2"  # type: ignore[misc,assignment]


def test_models_validated_without_context_use_the_default_kinds() -> None:
    cmd = Identify.model_validate({"id": "1", "identifiers": {"phoneNumbers": ["1"]}})
    assert cmd.identifiers == {"phoneNumbers": ["1"]}


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"type": "resume", "id": "r", "token": "t", "after": SEQ_MAX + 1}, "after"),
        ({"type": "resume", "id": "r", "token": "t", "after": 2**63}, "after"),
        ({"type": "ack", "seq": 2**64}, "seq"),
        ({"type": "history", "id": "h", "before": 2**63}, "before"),
    ],
)
def test_every_number_a_client_sends_is_bounded(frame: dict[str, Any], field: str) -> None:
    assert fields(frame) == {field}


def test_the_largest_seq_is_accepted() -> None:
    resumed = parse({"type": "resume", "id": "r", "token": "t", "after": SEQ_MAX})
    assert isinstance(resumed, Resume)
    assert resumed.after == SEQ_MAX
