"""Avaya's identifier limits (issue 15.8): every rule at its boundary, merged as AXP merges, and
the same answer as Avaya's own `CustomerIdentifiers` schema."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from axp_chat_connector.axp.limits import (
    KIND_NAME_MAX,
    KINDS_MAX,
    VALUE_MAX,
    VALUES_MAX,
    appended_identifiers,
    check_identifiers,
    identifier_problems,
    merge_identifiers,
)
from axp_chat_connector.axp.models import chat_out_gen as spec
from axp_chat_connector.errors import BadRequest
from tests.openapi_check import document

ASTRAL = "\U0001f600"  # one character, two UTF-16 code units (Java counts 2)


def test_the_limits_are_avayas() -> None:
    """The numbers as Avaya's spec file states them (schema keywords and description)."""
    schema = document("chat")["components"]["schemas"]["CustomerIdentifiers"]
    values = schema["additionalProperties"]
    assert (schema["minProperties"], schema["maxProperties"]) == (1, KINDS_MAX)
    assert values["maxItems"] == VALUES_MAX
    assert (values["items"]["minLength"], values["items"]["maxLength"]) == (1, VALUE_MAX)
    assert f"maximum length of an identifer key is {KIND_NAME_MAX} characters" in " ".join(
        values["description"].split()
    )


def kinds(count: int) -> dict[str, list[str]]:
    return {f"kind{i}": [f"v{i}"] for i in range(count)}


@pytest.mark.parametrize(
    ("identifiers", "fields"),
    [
        (kinds(1), []),
        (kinds(KINDS_MAX), []),
        ({}, ["identifiers"]),
        (kinds(KINDS_MAX + 1), ["identifiers"]),
        ({"emailAddresses": [f"a{i}" for i in range(VALUES_MAX)]}, []),
        ({"emailAddresses": [f"a{i}" for i in range(VALUES_MAX + 1)]},
         ["identifiers.emailAddresses"]),
        ({"emailAddresses": []}, []),  # the schema has no minItems
        ({"k" * KIND_NAME_MAX: ["v"]}, []),
        ({"k" * (KIND_NAME_MAX + 1): ["v"]}, [f"identifiers.{'k' * (KIND_NAME_MAX + 1)}"]),
        ({"": ["v"]}, ["identifiers."]),
        ({"phoneNumbers": ["x" * VALUE_MAX]}, []),
        ({"phoneNumbers": ["x" * (VALUE_MAX + 1)]}, ["identifiers.phoneNumbers[0]"]),
        ({"phoneNumbers": ["+1", ""]}, ["identifiers.phoneNumbers[1]"]),
        ({"phoneNumbers": [ASTRAL * (VALUE_MAX // 2)]}, []),
        ({"phoneNumbers": ["x" + ASTRAL * (VALUE_MAX // 2)]}, ["identifiers.phoneNumbers[0]"]),
        ({**kinds(KINDS_MAX), "extra": ["x" * (VALUE_MAX + 1)] * (VALUES_MAX + 1)},
         ["identifiers", "identifiers.extra",
          *(f"identifiers.extra[{i}]" for i in range(VALUES_MAX + 1))]),
    ],
)  # fmt: skip
def test_each_limit_at_its_boundary(identifiers: dict[str, list[str]], fields: list[str]) -> None:
    assert [p["field"] for p in identifier_problems(identifiers)] == fields
    if fields:
        with pytest.raises(BadRequest) as caught:
            check_identifiers(identifiers)
        assert caught.value.detail == identifier_problems(identifiers)
        assert fields[0] in caught.value.message
    else:
        check_identifiers(identifiers)


def test_the_message_names_the_limit_and_the_count() -> None:
    held = {"emailAddresses": [f"a{i}@acme.test" for i in range(VALUES_MAX)]}
    with pytest.raises(BadRequest) as caught:
        appended_identifiers(held, {"emailAddresses": ["new@acme.test"]})
    assert caught.value.code == "bad_request"
    assert caught.value.message == (
        "customer identifiers beyond Avaya's limits: identifiers.emailAddresses: a session "
        "holds at most 5 values of a kind (Avaya's limit); this makes 6"
    )
    with pytest.raises(BadRequest) as caught:
        appended_identifiers(kinds(KINDS_MAX), {"emailAddresses": ["a@acme.test"]})
    assert "1 to 10 identifier kinds (Avaya's limit); this makes 11" in caught.value.message


def test_appending_counts_what_the_session_already_holds() -> None:
    held = {"emailAddresses": ["a@acme.test", "b@acme.test"]}
    three_more = {"emailAddresses": ["c@acme.test", "d@acme.test", "e@acme.test"]}
    full = appended_identifiers(held, three_more)
    assert full["emailAddresses"] == [f"{c}@acme.test" for c in "abcde"]
    assert appended_identifiers(full, {"emailAddresses": ["a@acme.test"]}) == full  # held value
    with pytest.raises(BadRequest):
        appended_identifiers(full, {"emailAddresses": ["f@acme.test"]})
    assert held == {"emailAddresses": ["a@acme.test", "b@acme.test"]}  # inputs unchanged


_ALPHABET = st.characters(codec="utf-8", max_codepoint=0xFFFF)  # one UTF-16 unit each
_kinds = st.one_of(
    st.text(_ALPHABET, min_size=1, max_size=6),
    st.text(_ALPHABET, min_size=KIND_NAME_MAX - 1, max_size=KIND_NAME_MAX + 1),
    st.just(""),
)
_values = st.one_of(
    st.text(_ALPHABET, min_size=1, max_size=4),
    st.text(_ALPHABET, min_size=VALUE_MAX - 1, max_size=VALUE_MAX + 1),
    st.just(""),
)
_valid_values = st.text(_ALPHABET, min_size=1, max_size=4)
identifier_maps = st.one_of(
    # within every length limit: only the counts decide (10 kinds, 5 values)
    st.dictionaries(
        st.text(_ALPHABET, min_size=1, max_size=6),
        st.lists(_valid_values, max_size=VALUES_MAX + 1),
        max_size=KINDS_MAX + 1,
    ),
    st.dictionaries(_kinds, st.lists(_values, max_size=VALUES_MAX + 1), max_size=KINDS_MAX + 1),
)


@given(identifier_maps)
def test_the_rule_agrees_with_avayas_schema_and_key_limit(
    identifiers: dict[str, list[str]],
) -> None:
    try:
        spec.CustomerIdentifiers.model_validate(identifiers)
        schema_ok = True
    except ValidationError:
        schema_ok = False
    expected = schema_ok and all(len(kind) <= KIND_NAME_MAX and kind for kind in identifiers)
    assert (identifier_problems(identifiers) == []) == expected


def held_values(merged: Mapping[str, Sequence[str]], kind: str) -> list[str]:
    return list(merged.get(kind, []))


@given(identifier_maps, identifier_maps)
def test_merge_keeps_what_is_held_and_appends_each_new_value_once(
    held: dict[str, list[str]], added: dict[str, list[str]]
) -> None:
    merged = merge_identifiers(held, added)
    assert set(merged) == set(held) | set(added)
    for kind, values in merged.items():
        before = held_values(held, kind)
        assert values[: len(before)] == before
        new = values[len(before) :]
        assert len(new) == len(set(new))
        assert set(new) == set(held_values(added, kind)) - set(before)
