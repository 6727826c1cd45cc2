"""Avaya's token endpoint, at both known paths (digest §1.1 and Q1).

`/api/auth/v1/{accountId}/protocol/openid-connect/token` requires the `appkey` header;
`/auth/realms/{accountId}/protocol/openid-connect/token` (the form Avaya's samples use, without
an app key) checks it only when it is sent. Form-encoded `client_credentials`, or `refresh_token`
with a refresh token issued here; the client id and secret are always required.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Final
from urllib.parse import parse_qsl

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from axp_chat_connector.emulator.gate import MAX_BODY, check_account, check_appkey
from axp_chat_connector.emulator.problems import (
    NOT_NULL,
    ApiProblem,
    Violation,
    problem_response,
)
from axp_chat_connector.emulator.runtime import Runtime, runtime_of

GRANTS: Final = ("client_credentials", "refresh_token")
_log = structlog.get_logger(__name__)


async def _form(request: Request) -> dict[str, str]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise ApiProblem(415, "Content-Type must be application/x-www-form-urlencoded")
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > MAX_BODY:
            raise ApiProblem(400, "request body too large")
    try:
        pairs = parse_qsl(data.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise ApiProblem(400, "Malformed form body") from None
    return dict(pairs)


def _issue(runtime: Runtime, form: dict[str, str], account_id: str) -> Response:
    missing = [f for f in ("grant_type", "client_id", "client_secret") if not form.get(f)]
    grant = form.get("grant_type")
    if grant == "refresh_token" and not form.get("refresh_token"):
        missing.append("refresh_token")
    if missing:
        raise ApiProblem(
            400,
            "missing form fields: " + ", ".join(missing),
            violations=[Violation(f, "must not be null", NOT_NULL) for f in missing],
        )
    if grant not in GRANTS:
        raise ApiProblem(400, f"unsupported grant_type (use one of {', '.join(GRANTS)})")
    settings = runtime.settings
    good_id = hmac.compare_digest(form["client_id"].encode(), settings.client_id.encode())
    good_secret = hmac.compare_digest(
        form["client_secret"].encode(), settings.client_secret.get_secret_value().encode()
    )
    if not (good_id and good_secret):
        raise ApiProblem(401, "Invalid client credentials")
    if grant == "refresh_token" and not runtime.tokens.redeem_refresh(
        form["refresh_token"], account_id
    ):
        raise ApiProblem(401, "Invalid or expired refresh token")
    issued = runtime.tokens.issue(account_id)
    _log.info("emulator.token.issued", account_id=account_id, grant_type=grant)
    return JSONResponse(
        {
            "access_token": issued.access_token,
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh_token,
            "token_type": "Bearer",
        },
        headers={"Cache-Control": "no-store"},
    )


async def _token(request: Request, *, appkey_required: bool) -> Response:
    runtime = runtime_of(request)
    account_id = request.path_params["accountId"]
    plan = runtime.faults.take("token")
    try:
        if plan.failure is not None and not plan.failure.after_effect:
            raise plan.problem()
        check_appkey(request, runtime, required=appkey_required)
        check_account(account_id)
        if account_id != runtime.settings.account_id:
            raise ApiProblem(404, f"account {account_id} was not found")
        response = _issue(runtime, await _form(request), account_id)
        if plan.failure is not None:
            raise plan.problem()
    except ApiProblem as problem:
        response = problem_response(problem)
    if plan.delay > 0:
        await asyncio.sleep(plan.delay)
    return response


async def token(request: Request) -> Response:
    return await _token(request, appkey_required=True)


async def realm_token(request: Request) -> Response:
    return await _token(request, appkey_required=False)


ROUTES: Final[list[BaseRoute]] = [
    Route("/api/auth/v1/{accountId}/protocol/openid-connect/token", token, methods=["POST"]),
    Route("/auth/realms/{accountId}/protocol/openid-connect/token", realm_token, methods=["POST"]),
]
