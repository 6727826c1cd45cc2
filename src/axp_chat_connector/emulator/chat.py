"""Avaya's Custom Chat API (`/api/digital/channel/v1`): the 12 operations, Avaya's checks.

The engagement and message operations are here, the session ones in `chat_sessions.py`.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from axp_chat_connector.axp.models import chat_out_gen as spec
from axp_chat_connector.emulator.chat_sessions import (
    PARAMETER_KEY_MAX,
    check_keys,
    create_session,
    no_such_operation,
    session_for,
    session_resource,
)
from axp_chat_connector.emulator.gate import (
    check_uuid,
    new_correlation_id,
    parse_body,
    read_json,
    run_operation,
)
from axp_chat_connector.emulator.problems import (
    INVALID_TYPE,
    INVALID_VALUE,
    NOT_NULL,
    SIZE,
    ApiProblem,
    constraint,
)
from axp_chat_connector.emulator.runtime import Runtime
from axp_chat_connector.emulator.state import Dialog, Engagement, Session
from axp_chat_connector.emulator.views import CHAT_BASE, engagement_json, message_json

CHANNEL: Final = "Chat"
INT32_MAX: Final = 2**31 - 1  # pageNumber is an int32


def _customer_of(session: Session, dialog: Dialog) -> None:
    if dialog.customer().participant_id != session.customer_id:
        raise ApiProblem(403, "The session is not a participant of this dialog")


# Engagements -----------------------------------------------------------------------------------


async def engagements(request: Request) -> Response:
    account_id = request.path_params["accountId"]
    if request.method == "POST":
        return await run_operation(
            request,
            "createDigitalEngagement",
            account_id,
            lambda rt: _create_engagement(rt, request, account_id),
        )
    return await run_operation(
        request,
        "listDigitalEngagements",
        account_id,
        lambda rt: _list_engagements(rt, request, account_id),
    )


async def _create_engagement(runtime: Runtime, request: Request, account_id: str) -> Response:
    body = parse_body(spec.CreateEngagement, await read_json(request)).model_dump(
        mode="json", exclude_none=True
    )
    if body["channelId"] != CHANNEL:
        raise constraint("channelId", f"only {CHANNEL} is supported", INVALID_VALUE)
    check_keys("engagementParameters", body.get("engagementParameters"), PARAMETER_KEY_MAX)
    session = runtime.state.session(account_id, body["sessionId"])
    correlation_id = new_correlation_id(body.get("correlationId"))
    engagement, dialog, _ = runtime.state.create_engagement(
        session,
        channel_id=body["channelId"],
        correlation_id=correlation_id,
        conversation=body.get("conversation"),
        provider_dialog_id=body.get("providerDialogId"),
        parameters=body.get("engagementParameters"),
    )
    await runtime.center.dialog_created(
        engagement,
        dialog,
        session,
        greeting_bot=runtime.greeting_bot(),
        fail=runtime.faults.take_engagement_error(),
    )
    answer = engagement_json(engagement) | {"correlationId": correlation_id}
    return JSONResponse(answer, status_code=201)


async def _list_engagements(runtime: Runtime, request: Request, account_id: str) -> Response:
    session_id = request.query_params.get("sessionId")
    if session_id is None:
        raise constraint("sessionId", "must not be null", NOT_NULL)
    session = session_for(runtime, account_id, session_id)
    found = runtime.state.engagements_of_session(session)
    return JSONResponse([engagement_json(e) for e in found])


async def engagement_resource(request: Request) -> Response:
    """`/engagements/{engagementId}` and its colon actions."""
    account_id = request.path_params["accountId"]
    engagement_id, _, action = request.path_params["target"].partition(":")
    if action == "" and request.method == "GET":
        return await run_operation(
            request,
            "getDigitalEngagement",
            account_id,
            lambda rt: _get_engagement(rt, account_id, engagement_id),
        )
    if action == "disconnect" and request.method == "POST":
        return await run_operation(
            request,
            "disconnectDigitalEngagement",
            account_id,
            lambda rt: _disconnect(rt, request, account_id, engagement_id),
        )
    if action == "join" and request.method == "POST":
        return await run_operation(
            request,
            "joinDigitalEngagement",
            account_id,
            lambda rt: _join(rt, request, account_id, engagement_id),
        )
    return no_such_operation(request, action)


def _engagement_for(runtime: Runtime, account_id: str, engagement_id: str) -> Engagement:
    check_uuid("engagementId", engagement_id)
    return runtime.state.engagement(account_id, engagement_id)


async def _get_engagement(runtime: Runtime, account_id: str, engagement_id: str) -> Response:
    return JSONResponse(engagement_json(_engagement_for(runtime, account_id, engagement_id)))


async def _disconnect(
    runtime: Runtime, request: Request, account_id: str, engagement_id: str
) -> Response:
    engagement = _engagement_for(runtime, account_id, engagement_id)
    body = parse_body(spec.DisconnectEngagement, await read_json(request)).model_dump(
        mode="json", exclude_none=True
    )
    session = runtime.state.session(account_id, body["sessionId"])
    dialog = engagement.dialog(body["dialogId"])
    _customer_of(session, dialog)
    body["correlationId"] = new_correlation_id(body.get("correlationId"))
    if dialog.status.value != "TERMINATED":
        runtime.center.customer_disconnect(engagement, dialog, body["correlationId"])
    return JSONResponse(body)


async def _join(
    runtime: Runtime, request: Request, account_id: str, engagement_id: str
) -> Response:
    engagement = _engagement_for(runtime, account_id, engagement_id)
    body = parse_body(spec.JoinEngagement, await read_json(request)).model_dump(
        mode="json", exclude_none=True
    )
    session = runtime.state.session(account_id, body["sessionId"])
    dialog = engagement.dialog(body["dialogId"])
    _customer_of(session, dialog)
    runtime.state.join(dialog, session)
    answer = engagement_json(engagement) | {
        "correlationId": new_correlation_id(body.get("correlationId"))
    }
    return JSONResponse(answer)


# Messages --------------------------------------------------------------------------------------


async def messages(request: Request) -> Response:
    account_id = request.path_params["accountId"]
    engagement_id = request.path_params["engagementId"]
    if request.method == "POST":
        return await run_operation(
            request,
            "sendDigitalMessage",
            account_id,
            lambda rt: _send_message(rt, request, account_id, engagement_id),
        )
    return await run_operation(
        request,
        "listDigitalMessages",
        account_id,
        lambda rt: _list_messages(rt, request, account_id, engagement_id),
    )


_PASSTHROUGH: Final = (
    "fallbackText",
    "headers",
    "customData",
    "senderParticipantName",
    "parentMessageId",
    "providerMessageId",
    "providerParentMessageId",
)


async def _send_message(
    runtime: Runtime, request: Request, account_id: str, engagement_id: str
) -> Response:
    engagement = _engagement_for(runtime, account_id, engagement_id)
    model = parse_body(spec.SendMessage, await read_json(request))
    body = model.model_dump(mode="json", exclude_none=True, by_alias=True)
    check_keys("customData", body.get("customData"), PARAMETER_KEY_MAX)
    check_keys(
        "headers.additionalHeaders",
        body.get("headers", {}).get("additionalHeaders"),
        PARAMETER_KEY_MAX,
    )
    session = runtime.state.session(account_id, body["sessionId"])
    dialog = engagement.dialog(body["dialogId"])
    _customer_of(session, dialog)
    correlation_id = new_correlation_id(body.get("correlationId"))
    message = runtime.center.customer_message(
        engagement,
        dialog,
        session,
        body["body"],
        correlation_id=correlation_id,
        extra={k: body[k] for k in _PASSTHROUGH if k in body},
    )
    answer = message_json(message, dialog, engagement) | {"correlationId": correlation_id}
    return JSONResponse(answer, status_code=202)


def _int_query(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise constraint(name, "must be an integer", INVALID_TYPE) from None
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise constraint(name, f"must be {limit}", SIZE)
    return value


async def _list_messages(
    runtime: Runtime, request: Request, account_id: str, engagement_id: str
) -> Response:
    engagement = _engagement_for(runtime, account_id, engagement_id)
    query = request.query_params
    for name in ("dialogId", "sessionId"):
        if query.get(name) is None:
            raise constraint(name, "must not be null", NOT_NULL)
        check_uuid(name, query[name])
    page_size = _int_query(request, "pageSize", 10, 1, 50)
    page_number = _int_query(request, "pageNumber", 1, 1, INT32_MAX)
    session = runtime.state.session(account_id, query["sessionId"])
    dialog = engagement.dialog(query["dialogId"])
    _customer_of(session, dialog)
    total = len(dialog.messages)
    start = (page_number - 1) * page_size
    page = dialog.messages[start : start + page_size]

    def link(number: int) -> str:
        return (
            f"{CHAT_BASE}/accounts/{account_id}/engagements/{engagement_id}/messages"
            f"?dialogId={dialog.dialog_id}&sessionId={session.session_id}"
            f"&pageSize={page_size}&pageNumber={number}"
        )

    return JSONResponse(
        {
            "pagination": {"pageNumber": page_number, "pageSize": page_size, "total": total},
            "messages": [message_json(m, dialog, engagement) for m in page],
            "links": {
                "prev": link(page_number - 1) if page_number > 1 else "",
                "next": link(page_number + 1) if start + page_size < total else "",
            },
        }
    )


_ACCOUNT: Final = CHAT_BASE + "/accounts/{accountId}"

ROUTES: Final[list[BaseRoute]] = [
    Route(_ACCOUNT + "/sessions", create_session, methods=["POST"]),
    Route(_ACCOUNT + "/sessions/{target}", session_resource, methods=["GET", "POST", "DELETE"]),
    Route(_ACCOUNT + "/engagements", engagements, methods=["GET", "POST"]),
    Route(_ACCOUNT + "/engagements/{target}", engagement_resource, methods=["GET", "POST"]),
    Route(_ACCOUNT + "/engagements/{engagementId}/messages", messages, methods=["GET", "POST"]),
]
