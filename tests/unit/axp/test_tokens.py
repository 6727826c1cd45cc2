"""The token manager: cached, renewed at 80 %, single flight, backs off, never logs secrets."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

import httpx
import pytest
from structlog.testing import capture_logs

from axp_chat_connector.axp.tokens import TokenManager
from axp_chat_connector.errors import AxpAuthError, AxpUnavailable

from .fakes import TOKEN_URL, FakeClock, problem, settings, token_response

_POLL_INTERVAL = 0.001  # a poll interval inside a wait with a deadline


class TokenEndpoint:
    """Counts token requests; answers from `answers` in turn, then with fresh tokens."""

    def __init__(self, *answers: httpx.Response | Exception, expires_in: int = 100) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.expires_in = expires_in
        self.gate: asyncio.Event | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return token_response(f"tok-{len(self.requests)}", self.expires_in)


def manager(endpoint: TokenEndpoint, clock: FakeClock) -> tuple[TokenManager, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))
    return TokenManager(settings(), http, clock=clock), http


async def wait_for(condition: object, timeout: float = 5.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (a condition on plain state, with a timeout)
            await asyncio.sleep(_POLL_INTERVAL)


async def test_token_request_is_a_client_credentials_form_with_appkey() -> None:
    endpoint = TokenEndpoint()
    tokens, http = manager(endpoint, FakeClock())
    async with http:
        assert await tokens.get() == "tok-1"
    request = endpoint.requests[0]
    assert request.method == "POST"
    assert str(request.url) == TOKEN_URL
    assert request.headers["appkey"] == "emulator-app-key"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["axp-chat-connector"],
        "client_secret": ["emulator-client-secret"],
    }


async def test_100_concurrent_callers_cause_one_token_request() -> None:
    endpoint = TokenEndpoint()
    endpoint.gate = asyncio.Event()
    tokens, http = manager(endpoint, FakeClock())
    async with http:
        callers = [asyncio.create_task(tokens.get()) for _ in range(100)]
        await wait_for(lambda: len(endpoint.requests) == 1)
        endpoint.gate.set()
        results = await asyncio.gather(*callers)
    assert set(results) == {"tok-1"}
    assert len(endpoint.requests) == 1


async def test_token_is_cached_then_renewed_after_80_percent_of_its_life() -> None:
    clock = FakeClock()
    endpoint = TokenEndpoint(expires_in=100)
    tokens, http = manager(endpoint, clock)
    async with http:
        assert await tokens.get() == "tok-1"
        clock.now += 79
        assert await tokens.get() == "tok-1"
        assert len(endpoint.requests) == 1
        clock.now += 2  # 81 % of the life: renewal starts, the still-valid token is used
        assert await tokens.get() == "tok-1"
        await wait_for(lambda: len(endpoint.requests) == 2)
        await wait_for(lambda: tokens.retry_in == 0 and tokens._inflight is not None
                       and tokens._inflight.done())  # fmt: skip
        assert await tokens.get() == "tok-2"
        assert len(endpoint.requests) == 2


async def test_expired_token_is_never_handed_out() -> None:
    clock = FakeClock()
    endpoint = TokenEndpoint(expires_in=100)
    tokens, http = manager(endpoint, clock)
    async with http:
        await tokens.get()
        clock.now += 101
        assert await tokens.get() == "tok-2"


async def test_failed_renewal_keeps_the_valid_token_until_it_expires() -> None:
    clock = FakeClock()
    endpoint = TokenEndpoint(token_response("tok-1", 100), problem(503))
    tokens, http = manager(endpoint, clock)
    async with http:
        await tokens.get()
        clock.now += 85
        with capture_logs() as logs:
            assert await tokens.get() == "tok-1"
            await wait_for(lambda: tokens.retry_in > 0)
        assert await tokens.get() == "tok-1"
        assert any(e["event"] == "axp.token.failed" for e in logs)


async def test_refused_credentials_raise_auth_error_and_back_off() -> None:
    clock = FakeClock()
    endpoint = TokenEndpoint(problem(401, "Unauthorized", detail="invalid client credentials"))
    tokens, http = manager(endpoint, clock)
    async with http:
        with pytest.raises(AxpAuthError, match="invalid client credentials"):
            await tokens.get()
        # within the backoff window: the same error, no new request
        with pytest.raises(AxpAuthError):
            await tokens.get()
        assert len(endpoint.requests) == 1
        clock.now += 1.0  # past the (short) backoff
        assert await tokens.get() == "tok-2"


async def test_unreachable_token_endpoint_raises_unavailable_and_backs_off() -> None:
    clock = FakeClock()
    request = httpx.Request("POST", TOKEN_URL)
    endpoint = TokenEndpoint(httpx.ConnectError("refused", request=request), problem(503))
    tokens, http = manager(endpoint, clock)
    async with http:
        with pytest.raises(AxpUnavailable, match="unreachable"):
            await tokens.get()
        assert tokens.retry_in > 0
        with pytest.raises(AxpUnavailable):
            await tokens.get()
        assert len(endpoint.requests) == 1
        clock.now += 1.0
        with pytest.raises(AxpUnavailable, match="503"):
            await tokens.get()
        clock.now += 1.0
        assert await tokens.get() == "tok-3"


async def test_answer_without_access_token_is_unavailable() -> None:
    endpoint = TokenEndpoint(httpx.Response(200, json={"expires_in": 900}))
    tokens, http = manager(endpoint, FakeClock())
    async with http:
        with pytest.raises(AxpUnavailable, match="without a token"):
            await tokens.get()


async def test_invalidate_drops_only_the_refused_token() -> None:
    endpoint = TokenEndpoint()
    tokens, http = manager(endpoint, FakeClock())
    async with http:
        first = await tokens.get()
        tokens.invalidate("some-older-token")
        assert await tokens.get() == first
        tokens.invalidate(first)
        assert await tokens.get() == "tok-2"


async def test_concurrent_401s_for_one_token_cause_one_renewal() -> None:
    endpoint = TokenEndpoint()
    tokens, http = manager(endpoint, FakeClock())
    async with http:
        refused = await tokens.get()
        for _ in range(10):
            tokens.invalidate(refused)
        results = await asyncio.gather(*(tokens.get() for _ in range(10)))
    assert set(results) == {"tok-2"}
    assert len(endpoint.requests) == 2


async def test_no_secret_or_token_in_logs_or_errors() -> None:
    endpoint = TokenEndpoint(problem(401, "Unauthorized"))
    tokens, http = manager(endpoint, FakeClock())
    async with http:
        with capture_logs() as logs:
            with pytest.raises(AxpAuthError) as caught:
                await tokens.get()
            await tokens.aclose()
    text = repr(logs) + str(caught.value) + repr(caught.value.detail)
    assert logs
    for secret in ("emulator-client-secret", "emulator-app-key"):
        assert secret not in text


async def test_token_is_given_up_shortly_before_axp_expires_it() -> None:
    clock = FakeClock()
    endpoint = TokenEndpoint(expires_in=100)
    tokens, http = manager(endpoint, clock)
    async with http:
        await tokens.get()
        clock.now += 91  # past 90 %: a call would arrive at AXP with a token about to die
        assert await tokens.get() == "tok-2"


async def test_throttled_token_endpoint_is_asked_again_only_after_retry_after() -> None:
    clock = FakeClock()
    throttled = problem(429, "Too Many Requests")
    throttled.headers["retry-after"] = "30"
    endpoint = TokenEndpoint(throttled)
    tokens, http = manager(endpoint, clock)
    async with http:
        with pytest.raises(AxpUnavailable, match="429"):
            await tokens.get()
        assert 29 < tokens.retry_in <= 30
        clock.now += 29
        with pytest.raises(AxpUnavailable):
            await tokens.get()
        assert len(endpoint.requests) == 1
        clock.now += 1.5
        assert await tokens.get() == "tok-2"


async def test_each_token_fetch_and_failed_renewal_is_reported() -> None:
    clock = FakeClock()
    endpoint = TokenEndpoint(token_response("tok-1", 100), problem(503))
    http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))
    fetched: list[str] = []
    tokens = TokenManager(settings(), http, clock=clock, fetched=fetched.append)
    async with http:
        await tokens.get()
        assert fetched == ["ok"]
        clock.now += 85
        await tokens.get()  # renewal starts in the background and fails
        await wait_for(lambda: fetched == ["ok", "failed"])
