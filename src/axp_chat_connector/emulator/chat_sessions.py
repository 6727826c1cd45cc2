"""The session operations of Avaya's Custom Chat API, and the checks the other operations share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from axp_chat_connector.axp.models import chat_out_gen as spec
from axp_chat_connector.emulator.gate import (
    check_uuid,
    new_correlation_id,
    parse_body,
    read_json,
    run_operation,
)
from axp_chat_connector.emulator.problems import (
    NOT_IN_ENUM,
    NOT_NULL,
    SIZE,
    ApiProblem,
    Violation,
    constraint,
    problem_response,
    validation_problem,
)
from axp_chat_connector.emulator.runtime import Runtime
from axp_chat_connector.emulator.state import Session, appended_identifiers
from axp_chat_connector.emulator.views import session_json

REASONS: Final = ("USER_CLOSED", "USER_INACTIVE", "SYSTEM_CLOSED", "UNKNOWN")
IDENTIFIER_KEY_MAX: Final = 50
PARAMETER_KEY_MAX: Final = 64


def check_keys(field: str, data: Mapping[str, Any] | None, limit: int) -> None:
    """Key limits Avaya states in descriptions (not as schema keywords)."""
    bad = [
        Violation(f"{field}.{key}", f"key size must be between 1 and {limit}", SIZE)
        for key in (data or {})
        if not 1 <= len(key) <= limit
    ]
    if bad:
        raise ApiProblem(400, f"{field}: key too long", violations=bad)


def session_for(runtime: Runtime, account_id: str, session_id: str) -> Session:
    check_uuid("sessionId", session_id)
    return runtime.state.session(account_id, session_id)


# Sessions --------------------------------------------------------------------------------------


async def create_session(request: Request) -> Response:
    account_id = request.path_params["accountId"]

    async def perform(runtime: Runtime) -> Response:
        body = parse_body(spec.CreateSession, await read_json(request)).model_dump(
            mode="json", exclude_none=True
        )
        check_keys("customerIdentifiers", body["customerIdentifiers"], IDENTIFIER_KEY_MAX)
        check_keys("sessionParameters", body.get("sessionParameters"), PARAMETER_KEY_MAX)
        session = runtime.state.create_session(
            account_id=account_id,
            channel_provider_id=body["channelProviderId"],
            identifiers=body["customerIdentifiers"],
            display_name=body.get("displayName"),
            parameters=body.get("sessionParameters"),
            provider_customer_id=body.get("providerCustomerId"),
        )
        answer = session_json(session) | {
            "correlationId": new_correlation_id(body.get("correlationId")),
            "participantId": session.customer_id,
        }
        return JSONResponse(answer, status_code=201)

    return await run_operation(request, "createDigitalSession", account_id, perform)


async def session_resource(request: Request) -> Response:
    """`/sessions/{sessionId}` and its colon actions."""
    account_id = request.path_params["accountId"]
    session_id, _, action = request.path_params["target"].partition(":")
    method = request.method
    if action == "" and method == "GET":
        return await run_operation(
            request,
            "getDigitalSession",
            account_id,
            lambda rt: _get_session(rt, account_id, session_id),
        )
    if action == "" and method == "DELETE":
        return await run_operation(
            request,
            "deleteDigitalSession",
            account_id,
            lambda rt: _delete_session(rt, request, account_id, session_id),
        )
    if action == "appendIdentifiers" and method == "POST":
        return await run_operation(
            request,
            "appendIdentifiersInDigitalSession",
            account_id,
            lambda rt: _append_identifiers(rt, request, account_id, session_id),
        )
    if action == "updateSessionParameters" and method == "POST":
        return await run_operation(
            request,
            "updateSessionParametersInDigitalSession",
            account_id,
            lambda rt: _update_parameters(rt, request, account_id, session_id),
        )
    return no_such_operation(request, action)


def no_such_operation(request: Request, action: str) -> Response:
    if action:
        return problem_response(ApiProblem(404, f"unknown action :{action}"))
    return problem_response(ApiProblem(405, f"{request.method} is not allowed here"))


async def _get_session(runtime: Runtime, account_id: str, session_id: str) -> Response:
    return JSONResponse(session_json(session_for(runtime, account_id, session_id)))


async def _delete_session(
    runtime: Runtime, request: Request, account_id: str, session_id: str
) -> Response:
    check_uuid("sessionId", session_id)
    reason = request.query_params.get("reason")
    if reason is None:
        raise constraint("reason", "must not be null", NOT_NULL)
    if reason not in REASONS:
        raise constraint("reason", f"must be one of {', '.join(REASONS)}", NOT_IN_ENUM)
    session = runtime.state.session(account_id, session_id)
    runtime.center.sessions_ended(runtime.state.delete_session(session))
    return Response(status_code=204)


async def _append_identifiers(
    runtime: Runtime, request: Request, account_id: str, session_id: str
) -> Response:
    session = session_for(runtime, account_id, session_id)
    body = parse_body(spec.CustomerIdentifiers, await read_json(request)).model_dump(mode="json")
    check_keys("customerIdentifiers", body, IDENTIFIER_KEY_MAX)
    try:  # the session's identifiers stay within the spec's own schema (10 kinds, 5 values)
        spec.CustomerIdentifiers.model_validate(appended_identifiers(session.identifiers, body))
    except ValidationError as exc:
        raise validation_problem(exc, prefix="customerIdentifiers") from None
    runtime.state.append_identifiers(session, body)
    return JSONResponse(session_json(session))


async def _update_parameters(
    runtime: Runtime, request: Request, account_id: str, session_id: str
) -> Response:
    session = session_for(runtime, account_id, session_id)
    body = parse_body(spec.SessionParameters, await read_json(request)).model_dump(mode="json")
    check_keys("sessionParameters", body, PARAMETER_KEY_MAX)
    runtime.state.update_parameters(session, body)
    return JSONResponse(session_json(session))
