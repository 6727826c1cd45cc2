"""Avaya's Notification API (`/api/digital/webhook/v1`): webhook subscriptions."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from axp_chat_connector.axp.models import notification_out_gen as spec
from axp_chat_connector.emulator.gate import check_uuid, parse_body, read_json, run_operation
from axp_chat_connector.emulator.problems import (
    INVALID_VALUE,
    SIZE,
    ApiProblem,
    constraint,
    not_found,
)
from axp_chat_connector.emulator.runtime import Runtime
from axp_chat_connector.emulator.subscriptions import Subscription, callback_url_problem

BASE: Final = "/api/digital/webhook/v1/accounts/{accountId}/subscriptions"


def _parse(runtime: Runtime, raw: object) -> spec.Subscription:
    body = parse_body(spec.Subscription, raw)
    problem = callback_url_problem(
        body.callbackUrl, allow_http=runtime.settings.allow_http_callbacks
    )
    if problem is not None:
        raise constraint("callbackUrl", problem, INVALID_VALUE)
    return body


def _find(runtime: Runtime, account_id: str, subscription_id: str) -> Subscription:
    check_uuid("subscriptionId", subscription_id)
    found = runtime.subscriptions.get(account_id, subscription_id)
    if found is None:
        raise not_found("subscription", subscription_id)
    return found


async def collection(request: Request) -> Response:
    account_id = request.path_params["accountId"]

    async def create(runtime: Runtime) -> Response:
        body = _parse(runtime, await read_json(request))
        sub = runtime.subscriptions.create(
            account_id,
            body.channelProviderId,
            body.callbackUrl,
            [e.value for e in body.eventTypes],
        )
        return JSONResponse(sub.to_json(), status_code=201)

    async def listing(runtime: Runtime) -> Response:
        provider = request.query_params.get("channelProviderId")
        if provider is not None and not 3 <= len(provider) <= 256:
            raise constraint("channelProviderId", "size must be between 3 and 256", SIZE)
        return JSONResponse([s.to_json() for s in runtime.subscriptions.list(account_id, provider)])

    if request.method == "POST":
        return await run_operation(request, "createDigitalWebhookSubscription", account_id, create)
    return await run_operation(request, "listDigitalWebhookSubscriptions", account_id, listing)


async def item(request: Request) -> Response:
    account_id = request.path_params["accountId"]
    subscription_id = request.path_params["subscriptionId"]

    async def get(runtime: Runtime) -> Response:
        return JSONResponse(_find(runtime, account_id, subscription_id).to_json())

    async def update(runtime: Runtime) -> Response:
        sub = _find(runtime, account_id, subscription_id)
        body = _parse(runtime, await read_json(request))
        if body.subscriptionId is not None and body.subscriptionId != sub.subscription_id:
            raise ApiProblem(400, "subscriptionId in the body differs from the path")
        sub.channel_provider_id = body.channelProviderId
        sub.callback_url = body.callbackUrl
        sub.event_types = [e.value for e in body.eventTypes]
        return JSONResponse(sub.to_json())

    async def delete(runtime: Runtime) -> Response:
        runtime.subscriptions.delete(_find(runtime, account_id, subscription_id))
        return Response(status_code=204)

    operations = {
        "GET": ("getDigitalWebhookSubscription", get),
        "PUT": ("updateDigitalWebhookSubscription", update),
        "DELETE": ("deleteDigitalWebhookSubscription", delete),
    }
    operation, perform = operations[request.method]
    return await run_operation(request, operation, account_id, perform)


ROUTES: Final[list[BaseRoute]] = [
    Route(BASE, collection, methods=["GET", "POST"]),
    Route(BASE + "/{subscriptionId}", item, methods=["GET", "PUT", "DELETE"]),
]
