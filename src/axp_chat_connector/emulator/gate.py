"""What every Digital API call goes through: app key, bearer token, account, rate limit,
injected faults; and the checks of paths, queries and JSON bodies."""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import structlog
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from axp_chat_connector.emulator.config import ACCOUNT_PATTERN
from axp_chat_connector.emulator.problems import (
    PATTERN,
    ApiProblem,
    constraint,
    problem_response,
    validation_problem,
)
from axp_chat_connector.emulator.runtime import Runtime, runtime_of
from axp_chat_connector.emulator.state import InvalidMove, StateError, Unknown
from axp_chat_connector.emulator.tokens import TokenCheck

MAX_BODY: Final = 1024 * 1024  # bytes
UUID_PATTERN: Final = (
    r"^[0-9a-fA-F]{8}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{12}$"
)
APPKEY_DETAIL: Final = "Missing or invalid appkey header"
TOKEN_DETAIL: Final = "Missing or invalid access token"  # noqa: S105 (a message)
EXPIRED_DETAIL: Final = "The access token has expired"

_log = structlog.get_logger(__name__)
M = TypeVar("M", bound=BaseModel)


def check_appkey(request: Request, runtime: Runtime, *, required: bool = True) -> None:
    given = request.headers.get("appkey")
    if given is None and not required:
        return
    expected = runtime.settings.app_key.get_secret_value().encode()
    if given is None or not hmac.compare_digest(given.encode(), expected):
        raise ApiProblem(401, APPKEY_DETAIL)


def check_account(account_id: str) -> None:
    if not re.fullmatch(ACCOUNT_PATTERN, account_id):
        raise constraint("accountId", f'must match "{ACCOUNT_PATTERN}"', PATTERN)


def check_uuid(name: str, value: str) -> str:
    if not re.fullmatch(UUID_PATTERN, value):
        raise constraint(name, f'must match "{UUID_PATTERN}"', PATTERN)
    return value


def authenticate(request: Request, runtime: Runtime, account_id: str) -> None:
    """401 for the app key, then the token; 400 for a malformed account; 403 for another
    account's token; 429 over the rate limit."""
    check_appkey(request, runtime)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiProblem(401, TOKEN_DETAIL)
    verdict, owner = runtime.tokens.check(token)
    if verdict is TokenCheck.UNKNOWN:
        raise ApiProblem(401, TOKEN_DETAIL)
    if verdict is TokenCheck.EXPIRED:
        raise ApiProblem(401, EXPIRED_DETAIL)
    check_account(account_id)
    if owner != account_id:
        raise ApiProblem(
            403, "The current user and/or accountId does not have permission for this operation"
        )
    if runtime.limiter is not None:
        wait = runtime.limiter.acquire(account_id)
        if wait > 0:
            raise ApiProblem(429, "Spike limit exhausted: too many requests", retry_after=wait)


Perform = Callable[[Runtime], Awaitable[Response]]


async def run_operation(
    request: Request, operation: str, account_id: str, perform: Perform
) -> Response:
    """Authenticate, then perform `operation` under the active faults."""
    runtime = runtime_of(request)
    plan = None
    try:
        authenticate(request, runtime, account_id)
        plan = runtime.faults.take(operation)
        if plan.failure is not None and not plan.failure.after_effect:
            raise plan.problem()
        response = await perform(runtime)
        if plan.failure is not None:
            raise plan.problem()
    except ApiProblem as problem:
        response = problem_response(problem)
    except StateError as error:
        response = problem_response(state_problem(error))
    if plan is not None and plan.delay > 0:
        await asyncio.sleep(plan.delay)
    _log.info("emulator.call", operation=operation, status=response.status_code)
    return response


async def read_json(request: Request, limit: int = MAX_BODY) -> Any:
    """The JSON body, or a 400 for a wrong content type, a body too large or malformed JSON."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and "+json" in media):
        raise ApiProblem(400, "Content-Type must be application/json")
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > limit:
            raise ApiProblem(400, f"request body larger than {limit} bytes")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise ApiProblem(400, "Malformed request payload: not valid JSON") from None


def parse_body(model: type[M], raw: Any) -> M:
    if not isinstance(raw, dict):
        raise ApiProblem(400, "Malformed request payload: a JSON object is expected")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_problem(exc) from None


def state_problem(error: StateError) -> ApiProblem:
    """Unknown ids are 404; a move the state does not allow is a 400 Bad Request."""
    if isinstance(error, Unknown):
        return ApiProblem(404, str(error))
    assert isinstance(error, InvalidMove)
    return ApiProblem(400, str(error))


def new_correlation_id(given: str | None) -> str:
    return given if given is not None else str(uuid.uuid4())
