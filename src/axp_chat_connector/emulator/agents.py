"""The emulator's own API for agent consoles, demos and tests (PROTOCOL.md §8), not AXP's.

Under `/emulator/v1`: engagements and what agents do to them, the webhook delivery log, faults
and a health check. An engagement's endpoints act on its active dialog; `?dialogId=` picks
another. Errors are problem bodies: 400 bad input, 404 unknown ids, 409 a move the dialog's
state does not allow.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from axp_chat_connector.axp.models import notification_out_gen as notification
from axp_chat_connector.emulator.contact_center import ContactCenter
from axp_chat_connector.emulator.delivery import DeliveryFaults
from axp_chat_connector.emulator.faults import delivery_faults, parse_faults
from axp_chat_connector.emulator.gate import read_json
from axp_chat_connector.emulator.problems import ApiProblem, problem_response, validation_problem
from axp_chat_connector.emulator.runtime import Runtime, runtime_of
from axp_chat_connector.emulator.state import (
    Dialog,
    Engagement,
    InvalidMove,
    StateError,
    Unknown,
)
from axp_chat_connector.emulator.views import (
    dialog_json,
    engagement_json,
    message_json,
    session_json,
)

BASE: Final = "/emulator/v1"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AgentIn(_Body):
    agent_name: Annotated[str, Field(alias="agentName", min_length=1, max_length=70)] = "Agent"


class AgentMessageIn(_Body):
    text: Annotated[str, Field(min_length=1, max_length=524_288)]
    format: Literal["PLAINTEXT", "MARKDOWN", "HTML"] = "PLAINTEXT"
    rich_media: Annotated[dict[str, Any] | None, Field(alias="richMedia")] = None


async def _optional_json(request: Request) -> Any:
    """The JSON body, or `{}` when none was sent."""
    if "content-type" not in request.headers or request.headers.get("content-length") == "0":
        return {}
    return await read_json(request)


def _model(model: type[_Body], raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ApiProblem(400, "a JSON object is expected")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_problem(exc) from None


def _target(runtime: Runtime, request: Request, engagement_id: str) -> tuple[Engagement, Dialog]:
    engagement = runtime.state.engagements.get(engagement_id)
    if engagement is None:
        raise Unknown("engagement", engagement_id)
    return engagement, runtime.state.dialog_of(engagement, request.query_params.get("dialogId"))


async def _answer(request: Request, action: Any) -> Response:
    try:
        result = await action(runtime_of(request))
    except ApiProblem as problem:
        return problem_response(problem)
    except Unknown as error:
        return problem_response(ApiProblem(404, str(error)))
    except InvalidMove as error:
        return problem_response(ApiProblem(409, str(error)))
    except StateError as error:
        return problem_response(ApiProblem(409, str(error)))
    if isinstance(result, Response):
        return result
    return JSONResponse(result)


def _overview(runtime: Runtime, engagement: Engagement) -> dict[str, Any]:
    active = engagement.active_dialog()
    body = engagement_json(engagement)
    body["activeDialogId"] = active.dialog_id if active is not None else None
    sessions = runtime.state.sessions
    body["dialogs"] = [
        dialog_json(d)
        | {"sessionId": d.session_id, "messageCount": len(d.messages)}
        | ({"session": session_json(sessions[d.session_id])} if d.session_id in sessions else {})
        for d in engagement.dialogs
    ]
    body["channelProviderId"] = engagement.channel_provider_id
    return body


async def list_engagements(request: Request) -> Response:
    async def action(runtime: Runtime) -> Any:
        return {"engagements": [_overview(runtime, e) for e in runtime.state.engagements.values()]}

    return await _answer(request, action)


async def engagement_action(request: Request) -> Response:
    engagement_id, _, verb = request.path_params["target"].partition(":")

    async def action(runtime: Runtime) -> Any:
        center: ContactCenter = runtime.center
        if verb not in {"accept", "typing", "transfer", "disconnect"}:
            raise ApiProblem(404, f"unknown action :{verb}" if verb else "no action given")
        raw = await _optional_json(request)
        engagement, dialog = _target(runtime, request, engagement_id)
        if verb == "accept":
            agent = _model(AgentIn, raw).agent_name
            center.accept(engagement, dialog, agent)
        elif verb == "transfer":
            agent = _model(AgentIn, raw).agent_name
            center.transfer(engagement, dialog, agent)
        elif verb == "typing":
            center.typing(engagement, dialog)
            return Response(status_code=204)
        else:
            center.agent_disconnect(engagement, dialog)
        return dialog_json(dialog)

    return await _answer(request, action)


async def engagement_messages(request: Request) -> Response:
    engagement_id = request.path_params["engagementId"]

    async def send(runtime: Runtime) -> Any:
        body: AgentMessageIn = _model(AgentMessageIn, await read_json(request))
        if body.rich_media is not None:
            try:
                notification.RichMediaPayload.model_validate(body.rich_media)
            except ValidationError as exc:
                raise validation_problem(exc, "richMedia") from None
        engagement, dialog = _target(runtime, request, engagement_id)
        message = runtime.center.agent_message(
            engagement, dialog, body.text, text_format=body.format, rich_media=body.rich_media
        )
        return JSONResponse(message_json(message, dialog, engagement), status_code=201)

    async def transcript(runtime: Runtime) -> Any:
        engagement, dialog = _target(runtime, request, engagement_id)
        return {
            "engagementId": engagement.engagement_id,
            "dialogId": dialog.dialog_id,
            "messages": [message_json(m, dialog, engagement) for m in dialog.messages],
        }

    return await _answer(request, send if request.method == "POST" else transcript)


async def deliveries(request: Request) -> Response:
    async def action(runtime: Runtime) -> Any:
        return {"deliveries": [dataclasses.asdict(d) for d in runtime.sink.deliveries()]}

    return await _answer(request, action)


async def faults(request: Request) -> Response:
    async def action(runtime: Runtime) -> Any:
        if request.method == "POST":
            parsed = parse_faults(await read_json(request))
            runtime.faults.apply(parsed)
            if parsed.webhooks is not None:
                runtime.sink.set_faults(delivery_faults(parsed.webhooks))
        elif request.method == "DELETE":
            runtime.faults.clear()
            runtime.sink.set_faults(DeliveryFaults())
        return runtime.faults.to_json(runtime.sink.faults())

    return await _answer(request, action)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


ROUTES: Final[list[BaseRoute]] = [
    Route(BASE + "/health", health, methods=["GET"]),
    Route("/healthz", health, methods=["GET"]),
    Route(BASE + "/engagements", list_engagements, methods=["GET"]),
    Route(BASE + "/engagements/{target}", engagement_action, methods=["POST"]),
    Route(
        BASE + "/engagements/{engagementId}/messages", engagement_messages, methods=["GET", "POST"]
    ),
    Route(BASE + "/deliveries", deliveries, methods=["GET"]),
    Route(BASE + "/faults", faults, methods=["GET", "POST", "DELETE"]),
]
