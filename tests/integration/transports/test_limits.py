"""Limits per client address over real sockets: logins per address (whatever a client puts in
`X-Forwarded-For`), connections per address over WebSockets, SSE streams and held polls."""

from __future__ import annotations

import asyncio
from ipaddress import ip_network
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest
from structlog.testing import capture_logs
from websockets.exceptions import InvalidStatus

from axp_chat_connector.transports.limits import TransportLimits
from tests.integration.transports.conftest import (
    TIMEOUT,
    call,
    closed_with,
    eventually,
    login,
    open_ws,
    running,
)

pytestmark = pytest.mark.timeout(60)

LOGIN: dict[str, Any] = {"type": "login", "id": "l", "idToken": "jwt"}


def limits(**values: Any) -> TransportLimits:
    return TransportLimits(recheck_seconds=0, **values)


async def test_websocket_logins_per_address_are_rate_limited() -> None:
    async with running(limits(logins_per_address_per_minute=2)) as env:
        for _ in range(2):
            async with open_ws(env.ws_url) as ws:
                await login(ws)
        async with open_ws(env.ws_url) as ws:
            refused = await call(ws, LOGIN)
        assert (refused["code"], refused["re"]) == ("rate_limited", "l")
        assert refused["retryAfter"] == 30
        assert [kind for kind, _ in env.service.executed] == ["login", "login"]


async def login_over_http(http: httpx.AsyncClient, forwarded_for: str) -> str:
    response = await http.post(
        "/v1/poll/commands", json=LOGIN, headers={"X-Forwarded-For": forwarded_for}
    )
    assert response.status_code == 200
    [answer] = response.json()
    return str(answer.get("code", answer["type"]))


async def test_a_rotating_forwarded_for_from_an_untrusted_peer_shares_one_login_bucket() -> None:
    untrusted = limits(logins_per_address_per_minute=3)
    async with running(untrusted) as env, httpx.AsyncClient(base_url=env.url) as http:
        codes = [await login_over_http(http, f"198.51.100.{n}") for n in range(6)]
    assert codes == ["ok"] * 3 + ["rate_limited"] * 3


async def test_forwarded_for_from_a_trusted_proxy_names_the_login_bucket() -> None:
    trusted = limits(logins_per_address_per_minute=1, trusted_proxies=(ip_network("127.0.0.1"),))
    async with running(trusted) as env, httpx.AsyncClient(base_url=env.url) as http:
        codes = [await login_over_http(http, f"198.51.100.{n}") for n in range(3)]
        again = await login_over_http(http, "198.51.100.0")
    assert codes == ["ok"] * 3
    assert again == "rate_limited"


async def test_logins_per_instance_are_limited_whatever_the_address() -> None:
    trusted = limits(logins_per_minute=2, trusted_proxies=(ip_network("127.0.0.1"),))
    async with running(trusted) as env, httpx.AsyncClient(base_url=env.url) as http:
        codes = [await login_over_http(http, f"203.0.113.{n}") for n in range(4)]
    assert codes == ["ok", "ok", "rate_limited", "rate_limited"]


async def test_connections_per_address_count_websockets_streams_and_held_polls() -> None:
    async with (
        running(limits(connections_per_address=1)) as env,
        httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as http,
    ):
        session = env.service.new_session()
        bearer = {"Authorization": f"Bearer tok-{session}"}
        held = asyncio.create_task(http.get("/v1/poll/events", params={"wait": 5}, headers=bearer))
        await eventually(lambda: env.service.live(session) == 1)

        second = await http.get("/v1/poll/events", params={"wait": 0}, headers=bearer)
        assert second.status_code == 429
        assert second.headers["content-type"] == "application/problem+json"
        assert second.json()["code"] == "rate_limited"
        assert (await http.get("/v1/sse", headers=bearer)).status_code == 429
        async with open_ws(env.ws_url) as ws:
            assert await closed_with(ws) == 4429

        await env.service.append(session)  # the held poll answers: the address is free again
        assert (await held).status_code == 200
        async with open_ws(env.ws_url) as ws:
            await login(ws)


async def test_refusals_reach_the_security_log_with_their_source() -> None:
    only = limits(allowed_origins=frozenset({"https://shop.example"}))
    async with (
        running(only) as env,
        httpx.AsyncClient(base_url=env.url) as http,
    ):
        with capture_logs() as lines:
            for _ in range(3):
                forged = {"Authorization": "Bearer forged"}
                assert (await http.get("/v1/poll/events", headers=forged)).status_code == 401
            refused = {"Origin": "https://evil.example"}
            assert (await http.get("/v1/poll/events", headers=refused)).status_code == 403
            with pytest.raises(InvalidStatus):
                async with open_ws(env.ws_url, origin="https://evil.example"):
                    pass
        text = generate_latest(env.app.metrics.registry).decode()
    assert 'axp_chat_security_events_total{kind="bad_token"} 3.0' in text
    assert 'axp_chat_security_events_total{kind="origin_refused"} 2.0' in text
    security = [(line["event"], line["source"]) for line in lines if "source" in line]
    assert security == [
        ("security.bad_token", "127.0.0.1"),
        ("security.origin_refused", "127.0.0.1"),
    ]
