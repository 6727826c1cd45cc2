"""Avaya's problem bodies: pydantic errors become violations with Avaya's codes."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from axp_chat_connector.axp.models import chat_out_gen as spec
from axp_chat_connector.emulator.problems import (
    NOT_IN_ENUM,
    NOT_NULL,
    PATTERN,
    SIZE,
    UNKNOWN_FIELD,
    ApiProblem,
    validation_problem,
)
from tests.openapi_check import validate_schema


def _problem(model: type[BaseModel], raw: object) -> ApiProblem:
    with pytest.raises(ValidationError) as info:
        model.model_validate(raw)
    return validation_problem(info.value)


def test_missing_field_is_20002_and_bad_uuid_is_20006() -> None:
    problem = _problem(spec.CreateEngagement, {"sessionId": "not-a-uuid-at-all-but-36-characters!"})
    codes = {v.field: v.code for v in problem.violations}
    assert codes == {"sessionId": PATTERN, "channelId": NOT_NULL}
    body = problem.body()
    assert body["title"] == "Constraint Violation"
    assert body["type"].endswith("#constraint-violation")
    validate_schema("chat", "Problem", body)


def test_nested_field_paths_and_other_codes() -> None:
    raw = {
        "sessionId": "00000000-0000-0000-0000-000000000000",
        "dialogId": "00000000-0000-0000-0000-000000000000",
        "body": {"elementType": "text", "elementText": {"text": "x" * 4097, "textFormat": "RTF"}},
        "surprise": 1,
    }
    problem = _problem(spec.SendMessage, raw)
    codes = {v.field: v.code for v in problem.violations}
    assert codes == {
        "body.elementText.text": SIZE,
        "body.elementText.textFormat": NOT_IN_ENUM,
        "surprise": UNKNOWN_FIELD,
    }


def test_too_many_identifiers_in_a_root_model_name_no_root() -> None:
    problem = _problem(spec.CustomerIdentifiers, {"k": ["a"] * 6})
    assert [(v.field, v.code) for v in problem.violations] == [("k", SIZE)]


def test_problem_without_violations_uses_the_status_title_and_retry_after() -> None:
    problem = ApiProblem(429, "slow down", retry_after=1.2)
    assert problem.body()["title"] == "Too Many Requests"
    assert problem.headers() == {"Retry-After": "2"}
    assert ApiProblem(418, "x").body()["title"] == "I'm a Teapot"
    validate_schema("chat", "Problem", ApiProblem(503, "down").body())
