"""Schemathesis fuzz of the emulator from Avaya's Custom Chat and Notification specs.

Bounded so it runs in seconds: explicit examples and a few generated cases per operation; no
500s, and every answer must conform to the spec (status code, content type, body schema). Runs
against the ASGI app. `AXP_TEST_FUZZ_FULL=1` adds schemathesis' coverage phase (~1,300 boundary
and negative cases, about a minute).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable
from typing import Any, Final

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi import checks

from axp_chat_connector.emulator.app import create_app
from axp_chat_connector.emulator.config import ACCOUNT_PATTERN, EmulatorSettings
from axp_chat_connector.emulator.runtime import Runtime
from tests.openapi_check import BASES, document
from tests.unit.emulator.fakes import RecordingSink

ACCOUNT: Final = "ABCDEF"
EXAMPLES: Final = 10
FULL: Final = os.environ.get("AXP_TEST_FUZZ_FULL") == "1"
APP = create_app(EmulatorSettings(allow_http_callbacks=True), dispatcher=RecordingSink())
RUNTIME: Runtime = APP.state.runtime
TOKEN: Final = RUNTIME.tokens.issue(ACCOUNT).access_token
HEADERS: Final = {"appkey": "emulator-app-key", "Authorization": f"Bearer {TOKEN}"}


def _fuzzable(name: str) -> dict[str, Any]:
    """Avaya's document with one server (its base path) and the one patch the models also get:
    `CreateSession.accountId`, required but undeclared (Q5), declared as 6 letters."""
    doc = copy.deepcopy(document(name))
    base = next(b for b, n in BASES.items() if n == name)
    doc["servers"] = [{"url": base}]
    if name == "chat":
        create = doc["components"]["schemas"]["CreateSession"]
        create["properties"]["accountId"] = {"type": "string", "pattern": "^[a-zA-Z]{6}$"}
    return doc


def _schema(name: str) -> Any:
    coverage = {"enabled": FULL, "unexpected-methods": []}
    config = SchemathesisConfig.from_dict({"phases": {"coverage": coverage}})
    schema = schemathesis.openapi.from_dict(_fuzzable(name), config=config)
    schema.app = APP
    return schema


Case = Any
Decorator = Callable[[Callable[[Case], None]], Callable[[Case], None]]
for_chat: Decorator = _schema("chat").parametrize()
for_notification: Decorator = _schema("notification").parametrize()
CHECKS: Final = [
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def _run(case: Any) -> None:
    account = case.path_parameters.get("accountId")
    if isinstance(account, str) and re.fullmatch(ACCOUNT_PATTERN, account):
        case.path_parameters["accountId"] = ACCOUNT  # our token's account, else all 403
    response = case.call(headers=HEADERS)
    assert response.status_code < 500, response.text
    case.validate_response(response, checks=CHECKS)


@for_chat
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_custom_chat_never_fails_and_conforms(case: Any) -> None:
    _run(case)


@for_notification
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_notification_never_fails_and_conforms(case: Any) -> None:
    _run(case)
