"""Avaya's limits on one session's customer identifiers, checked before AXP is called.

Custom Chat spec (spec/avaya/avaya-axp-digital-custom-chat-openapi.yml), schema
`CustomerIdentifiers`: at least 1 and at most 10 identifier kinds (`minProperties`,
`maxProperties`), at most 5 values of a kind (`maxItems`), each value 1 to 256 characters
(`minLength`, `maxLength`); its description adds that a kind's name is at most 50 characters.
Lengths are counted as Java counts them (UTF-16 code units).

`:appendIdentifiers` appends to what the session already holds, so the limits bind the merged
result, not the request: `merge_identifiers(held, added)` computes it, `check_identifiers`
refuses it with a `BadRequest` naming each limit it breaks, and `appended_identifiers` does
both. Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from axp_chat_connector.errors import BadRequest
from axp_chat_connector.protocol.frames import utf16_length

KINDS_MAX: Final = 10
KIND_NAME_MAX: Final = 50
VALUES_MAX: Final = 5
VALUE_MAX: Final = 256
FIELD: Final = "identifiers"

Identifiers = Mapping[str, Sequence[str]]


def merge_identifiers(held: Identifiers, added: Identifiers) -> dict[str, list[str]]:
    """What the session holds after appending `added`: each value new to its kind goes to the
    end of the kind's list, once; a new kind is added. The inputs are not changed."""
    merged = {kind: list(values) for kind, values in held.items()}
    for kind, values in added.items():
        have = merged.setdefault(kind, [])
        have.extend(value for value in dict.fromkeys(values) if value not in have)
    return merged


def identifier_problems(identifiers: Identifiers) -> list[dict[str, str]]:
    """Every Avaya limit `identifiers` breaks, as `{field, message}` (empty: within limits)."""
    problems: list[dict[str, str]] = []
    if not 1 <= len(identifiers) <= KINDS_MAX:
        problems.append(
            {
                "field": FIELD,
                "message": f"a session holds 1 to {KINDS_MAX} identifier kinds (Avaya's limit); "
                f"this makes {len(identifiers)}",
            }
        )
    for kind, values in identifiers.items():
        where = f"{FIELD}.{kind}"
        if not 1 <= utf16_length(kind) <= KIND_NAME_MAX:
            problems.append(
                {"field": where, "message": f"a kind's name is 1 to {KIND_NAME_MAX} characters"}
            )
        if len(values) > VALUES_MAX:
            problems.append(
                {
                    "field": where,
                    "message": f"a session holds at most {VALUES_MAX} values of a kind "
                    f"(Avaya's limit); this makes {len(values)}",
                }
            )
        problems.extend(
            {"field": f"{where}[{index}]", "message": f"a value is 1 to {VALUE_MAX} characters"}
            for index, value in enumerate(values)
            if not 1 <= utf16_length(value) <= VALUE_MAX
        )
    return problems


def check_identifiers(identifiers: Identifiers) -> None:
    """Raise `BadRequest` naming each limit `identifiers` breaks; return if within limits."""
    problems = identifier_problems(identifiers)
    if problems:
        first = problems[0]
        raise BadRequest(
            f"customer identifiers beyond Avaya's limits: {first['field']}: {first['message']}",
            detail=problems,
        )


def appended_identifiers(held: Identifiers, added: Identifiers) -> dict[str, list[str]]:
    """The merged identifiers, or `BadRequest` if they break a limit (AXP is not called)."""
    merged = merge_identifiers(held, added)
    check_identifiers(merged)
    return merged
