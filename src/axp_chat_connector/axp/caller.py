"""Sends one AXP operation: auth headers, attempt timeouts, retries within a deadline, logs.

What happens on each failure is decided by `retry.decide()` from the operation's row in
`operations.OPERATIONS`; this module only carries it out:

* 2xx: the answer is returned.
* 401: the token is dropped, a new one fetched and the call sent once more, at once; a second
  401 raises `AxpAuthError`.
* other 4xx: `AxpRejected` (`AxpNotFound` for 404) without retry. A retried DELETE that finds
  the resource gone (404) counts as done.
* connection errors, timeouts, 429 and 5xx: retried with jittered exponential backoff (at least
  `Retry-After` on 429) while attempts and the deadline last, then `AxpUnavailable`; for an
  operation that is unsafe to repeat, a failure after the request may have reached AXP raises
  `AxpOutcomeUnknown` instead of a retry.

Log lines (`axp.call`, `axp.retry`, `axp.gave_up`) carry operation, attempt, status, latency and
correlation id; never a token, a secret, a URL query or a body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from structlog.typing import FilteringBoundLogger as Logger

from axp_chat_connector.axp.metrics import AxpMetrics
from axp_chat_connector.axp.operations import OPERATIONS, Operation
from axp_chat_connector.axp.problems import auth_error, rejected
from axp_chat_connector.axp.retry import (
    Backoff,
    Decision,
    Failure,
    classify_error,
    classify_status,
    decide,
    retry_after,
)
from axp_chat_connector.axp.tokens import Clock, TokenManager
from axp_chat_connector.config import Settings
from axp_chat_connector.errors import AxpOutcomeUnknown, AxpUnavailable

Sleep = Callable[[float], Awaitable[None]]
_log = structlog.get_logger(__name__)


class Caller:
    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        tokens: TokenManager,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        backoff: Backoff | None = None,
        metrics: AxpMetrics | None = None,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._http = http
        self._tokens = tokens
        self._clock = clock
        self._sleep = sleep
        self._backoff = backoff or Backoff(settings.axp_backoff_base, settings.axp_backoff_max)
        self._bases = {"channel": settings.channel_api_url, "webhook": settings.webhook_api_url}

    def _headers(self, token: str) -> dict[str, str]:
        headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
        if self._settings.axp_send_app_key:
            headers["appkey"] = self._settings.axp_app_key.get_secret_value()
        return headers

    def _record(self, operation: str, status: int | str, started: float) -> None:
        if self._metrics is not None:
            self._metrics.attempt(operation, status, self._clock() - started)

    async def call(
        self,
        operation_id: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        correlation_id: str | None = None,
    ) -> httpx.Response:
        """Send `operation_id` until it succeeds or the policy says stop; return the 2xx answer."""
        op = OPERATIONS[operation_id]
        request = _Request(op, self._bases[op.api] + op.path.format(**(path or {})), params, json)
        log = _log.bind(operation=op.id, correlation_id=correlation_id)
        deadline = self._clock() + self._settings.axp_retry_deadline
        attempt = failures = 0
        token_renewed = False
        while True:
            attempt += 1
            try:
                token = await self._tokens.get()
            except AxpUnavailable as exc:
                failed = _Failed(Failure.NOT_SENT, f"token: {exc.message}", self._tokens.retry_in)
            else:
                sent = await self._send(request, token, attempt=attempt, deadline=deadline, log=log)
                if isinstance(sent, httpx.Response) and sent.status_code == 401:
                    if token_renewed:
                        raise auth_error(sent, op.id)
                    token_renewed = True
                    self._tokens.invalidate(token)
                    continue
                judged = sent if isinstance(sent, _Failed) else _judge(op, sent, attempt=attempt)
                if isinstance(judged, httpx.Response):
                    return judged
                failed = judged
            failures += 1
            await self._wait_to_retry(
                op,
                failed,
                attempt=attempt,
                failures=failures,
                deadline=deadline,
                log=log,
                correlation_id=correlation_id,
            )

    async def _send(
        self, request: _Request, token: str, *, attempt: int, deadline: float, log: Logger
    ) -> httpx.Response | _Failed:
        """One attempt (its timeout cut to the deadline): the answer, or why there is none."""
        started = self._clock()
        budget = max(0.001, min(self._settings.axp_attempt_timeout, deadline - started))
        try:
            async with asyncio.timeout(budget):
                response = await self._http.request(
                    request.op.method,
                    request.url,
                    params=request.params,
                    json=request.json,
                    headers=self._headers(token),
                )
        except (httpx.HTTPError, TimeoutError) as exc:
            reason = type(exc).__name__
            self._record(request.op.id, reason, started)
            latency_ms = _ms(self._clock() - started)
            log.info("axp.call", attempt=attempt, status=None, error=reason, latency_ms=latency_ms)
            return _Failed(classify_error(exc), reason)
        status = response.status_code
        self._record(request.op.id, status, started)
        log.info(
            "axp.call", attempt=attempt, status=status, latency_ms=_ms(self._clock() - started)
        )
        return response

    async def _wait_to_retry(
        self,
        op: Operation,
        failed: _Failed,
        *,
        attempt: int,
        failures: int,
        deadline: float,
        log: Logger,
        correlation_id: str | None,
    ) -> None:
        """Sleep before the next attempt, or raise if the policy, attempts or deadline say stop."""
        decision = decide(op, failed.failure)
        if decision is Decision.OUTCOME_UNKNOWN:
            log.warning("axp.outcome_unknown", attempt=attempt, reason=failed.reason)
            raise AxpOutcomeUnknown(
                f"{op.id} may have reached AXP but its answer was lost ({failed.reason}); "
                "settle it before sending again",
                operation=op.id,
                correlation_id=correlation_id,
            )
        delay = max(self._backoff.delay(failures), failed.wait_at_least)
        left = deadline - self._clock()
        max_attempts = self._settings.axp_retry_attempts
        if attempt >= max_attempts or delay >= left:
            log.warning("axp.gave_up", attempt=attempt, reason=failed.reason)
            why = "attempts" if attempt >= max_attempts else "deadline"
            raise AxpUnavailable(
                f"AXP did not complete {op.id} after {attempt} attempt(s) "
                f"({why} exhausted; last: {failed.reason})",
                detail={"operation": op.id, "attempts": attempt, "last": failed.reason},
            )
        log.info("axp.retry", attempt=attempt, reason=failed.reason, delay_s=round(delay, 3))
        await self._sleep(delay)


@dataclass(frozen=True, slots=True)
class _Request:
    op: Operation
    url: str
    params: Mapping[str, str | int] | None
    json: Any


@dataclass(frozen=True, slots=True)
class _Failed:
    """An attempt with no answer to return: what failed, why, the least wait before the next."""

    failure: Failure
    reason: str
    wait_at_least: float = 0.0


def _judge(op: Operation, response: httpx.Response, *, attempt: int) -> httpx.Response | _Failed:
    """The answer to return, a failure to retry, or (`rejected`) a final 4xx raised (not 401)."""
    status = response.status_code
    if status == 404 and op.gone_is_done and attempt > 1:
        return response
    found = classify_status(status)
    if found is None:
        return response
    if found is Failure.FINAL:
        raise rejected(response, op.id)
    wait_at_least = 0.0
    if status == 429:
        wait_at_least = retry_after(response.headers.get("retry-after")) or 0.0
    return _Failed(found, f"HTTP {status}", wait_at_least)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
