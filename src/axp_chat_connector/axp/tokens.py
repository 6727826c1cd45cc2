"""The AXP access token: fetched with client credentials, cached, renewed before it expires.

* One token request at a time (single flight): any number of concurrent callers share it.
* Renewed once 80 % of `expires_in` has passed. Until shortly before it expires (90 %, at most
  30 s early), callers keep using it while one renewal runs in the background, so a slow or
  failing token endpoint does not stall calls that still hold a valid token.
* After a failed token request the manager waits (exponential backoff, at least any
  `Retry-After`) before the next one; callers in that window get the last error at once
  instead of hammering the endpoint.
* `invalidate(token)` drops a token AXP refused (a 401 from a Digital API); the next `get()`
  fetches a new one. Concurrent 401s for the same token cause one renewal.

Renewal always uses client credentials (no `refresh_token`, DESIGN.md "Startup"). The secret
and the token never reach a log line or an error text.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import httpx
import structlog
from pydantic import ValidationError

from axp_chat_connector.axp.models import auth_in_gen
from axp_chat_connector.axp.problems import auth_error
from axp_chat_connector.axp.retry import Backoff, retry_after
from axp_chat_connector.config import Settings
from axp_chat_connector.errors import AxpAuthError, AxpUnavailable

Clock = Callable[[], float]

REFRESH_AT: Final = 0.8  # fraction of `expires_in` after which the token is renewed
EXPIRY_MARGIN: Final = 0.1  # fraction of `expires_in` before AXP's expiry the token is dropped
EXPIRY_MARGIN_MAX: Final = 30.0  # seconds, at most
DEFAULT_EXPIRES_IN: Final = 300  # seconds, when AXP omits `expires_in` (it is optional)
_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float
    expires_at: float


class TokenManager:
    """Hands out a valid AXP access token; see the module docstring for the rules."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        *,
        clock: Clock = time.monotonic,
        fetched: Callable[[str], None] | None = None,
    ) -> None:
        """`fetched`: told "ok" or "failed" after each token request (a metric)."""
        self._settings = settings
        self._fetched = fetched
        self._http = http
        self._clock = clock
        self._backoff = Backoff(settings.axp_token_backoff_base, settings.axp_token_backoff_max)
        self._token: _Token | None = None
        self._inflight: asyncio.Task[_Token] | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._last_error: AxpAuthError | AxpUnavailable | None = None
        self._retry_after = 0.0  # seconds the endpoint asked us to wait (429/503 Retry-After)
        self.requests = 0  # token requests sent, for `check` and tests

    async def get(self) -> str:
        """A token valid now; raises `AxpAuthError` (refused) or `AxpUnavailable` (no answer)."""
        now = self._clock()
        token = self._token
        if token is not None and now < token.refresh_at:
            return token.value
        if token is not None and now < token.expires_at:
            if self._may_request(now):
                self._start()  # renew in the background; this token is still good
            return token.value
        if not self._may_request(now):
            last = self._last_error
            assert last is not None
            # a fresh exception each time: re-raising one object grows its traceback forever
            raise type(last)(last.message, detail=last.detail)
        # shield: a caller that is cancelled does not cancel the request the others wait on
        fresh = await asyncio.shield(self._start())
        return fresh.value

    def invalidate(self, token: str) -> None:
        """Forget `token` because AXP refused it; a no-op if it was already replaced."""
        if self._token is not None and self._token.value == token:
            self._token = None
            self._retry_at = 0.0  # a refused token is a reason to ask at once

    @property
    def retry_in(self) -> float:
        """Seconds until the manager will send another token request after a failure."""
        return max(0.0, self._retry_at - self._clock())

    async def aclose(self) -> None:
        task, self._inflight = self._inflight, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, AxpAuthError, AxpUnavailable):
                await task

    def _may_request(self, now: float) -> bool:
        return (self._inflight is not None and not self._inflight.done()) or now >= self._retry_at

    def _start(self) -> asyncio.Task[_Token]:
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.get_running_loop().create_task(self._fetch(), name="axp.token")
            self._inflight.add_done_callback(_consume)
        return self._inflight

    async def _fetch(self) -> _Token:
        try:
            token = await self._request()
        except (AxpAuthError, AxpUnavailable) as exc:
            self._failures += 1
            delay = max(self._backoff.delay(self._failures), self._retry_after)
            self._retry_at = self._clock() + delay
            self._last_error = exc
            if self._fetched is not None:
                self._fetched("failed")
            _log.warning(
                "axp.token.failed", error=type(exc).__name__, reason=exc.message, retry_in=delay
            )
            raise
        if self._fetched is not None:
            self._fetched("ok")
        self._failures = 0
        self._retry_at = 0.0
        self._last_error = None
        self._token = token
        return token

    async def _request(self) -> _Token:
        settings = self._settings
        headers = {"accept": "application/json"}
        if settings.axp_send_app_key:
            headers["appkey"] = settings.axp_app_key.get_secret_value()
        form = {
            "grant_type": "client_credentials",
            "client_id": settings.axp_client_id,
            "client_secret": settings.axp_client_secret.get_secret_value(),
        }
        self.requests += 1
        self._retry_after = 0.0
        started = self._clock()
        try:
            async with asyncio.timeout(settings.axp_attempt_timeout):
                response = await self._http.post(settings.token_url, data=form, headers=headers)
        except (httpx.HTTPError, TimeoutError) as exc:
            raise AxpUnavailable(f"AXP token endpoint unreachable: {type(exc).__name__}") from None
        status = response.status_code
        _log.info(
            "axp.token.response",
            status=status,
            latency_ms=round((self._clock() - started) * 1000, 1),
        )
        if status == 404:
            raise auth_error(response, "the token request (check the token URL and account id)")
        if status in (400, 401, 403):
            raise auth_error(response, "the token request (check client id, secret and app key)")
        if status != 200:
            self._retry_after = retry_after(response.headers.get("retry-after")) or 0.0
            raise AxpUnavailable(f"AXP token endpoint answered {status}")
        try:
            body = auth_in_gen.GenerateTokenResponse.model_validate_json(response.content)
        except ValidationError:
            raise AxpUnavailable("AXP token endpoint answered without a token") from None
        if not body.access_token:
            raise AxpUnavailable("AXP token endpoint answered without a token")
        expires_in = body.expires_in if body.expires_in and body.expires_in > 0 else None
        if expires_in is None:
            _log.warning("axp.token.no_expiry", assumed_seconds=DEFAULT_EXPIRES_IN)
            expires_in = DEFAULT_EXPIRES_IN
        # Counted from when the request was sent (AXP's clock started no later), and given up
        # a little before AXP's expiry so a call in flight does not arrive with a dead token.
        margin = min(EXPIRY_MARGIN_MAX, EXPIRY_MARGIN * expires_in)
        return _Token(
            body.access_token, started + REFRESH_AT * expires_in, started + expires_in - margin
        )


def _consume(task: asyncio.Task[_Token]) -> None:
    """Retrieve a background renewal's error (already logged) so asyncio does not warn."""
    if not task.cancelled():
        task.exception()
