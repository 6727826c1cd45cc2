"""The composed app: health, readiness, metrics, lifespan hooks, extra routes, routing."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from ipaddress import ip_network

import httpx
import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from websockets.exceptions import InvalidStatus

from axp_chat_connector.app import create_app, metrics_app
from axp_chat_connector.bus.local import LocalBus
from axp_chat_connector.errors import StoreUnavailable
from axp_chat_connector.transports.limits import TransportLimits, uvicorn_options
from axp_chat_connector.transports.wsproto_server import ConnectorWSProtocol
from tests.integration.transports.conftest import eventually, login, open_ws, recv, running
from tests.integration.transports.fakes import FakeService

pytestmark = pytest.mark.timeout(60)


async def test_healthz_and_readyz_when_everything_answers() -> None:
    async def ready() -> Sequence[str]:
        return []

    async with running(readiness=ready) as env, httpx.AsyncClient(base_url=env.url) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        response = await http.get("/readyz")
        assert (response.status_code, response.json()) == (200, {"status": "ready"})


async def test_readyz_names_the_failing_parts() -> None:
    failing: list[str] = ["store"]

    async def ready() -> Sequence[str]:
        return failing

    async with running(readiness=ready) as env, httpx.AsyncClient(base_url=env.url) as http:
        response = await http.get("/readyz")
        assert response.status_code == 503
        assert response.json()["failing"] == ["store"]

        async def bus_down() -> None:
            raise StoreUnavailable("redis down")

        env.bus.ping = bus_down  # type: ignore[method-assign]
        failing.clear()
        response = await http.get("/readyz")
        assert (response.status_code, response.json()["failing"]) == (503, ["bus"])
        assert (await http.get("/healthz")).status_code == 200


async def test_metrics_count_connections_commands_frames_and_latency() -> None:
    async with running(metrics_public=True) as env, httpx.AsyncClient(base_url=env.url) as http:
        async with open_ws(env.ws_url) as ws:
            session = (await login(ws))["sessionId"]
            await eventually(lambda: env.service.live(session) == 1)
            env.app.metrics.webhook_appended(session, 1, time.perf_counter())
            await env.service.append(session)
            assert (await recv(ws))["seq"] == 1
            text = (await http.get("/metrics")).text
            assert 'axp_chat_connections{transport="websocket"} 1.0' in text
            assert 'axp_chat_commands_total{result="ok",type="login"} 1.0' in text
            assert 'axp_chat_frames_out_total{kind="event",transport="websocket"} 1.0' in text
            assert "axp_chat_webhook_to_client_seconds_count 1.0" in text
            await ws.send('{"type":"ping"}')
            await recv(ws)
        await eventually(lambda: env.app.websocket.connections == 0)
        text = (await http.get("/metrics")).text
        assert 'axp_chat_connections{transport="websocket"} 0.0' in text
        assert 'axp_chat_commands_total{result="bad_request",type="invalid"} 1.0' in text


async def test_lifespan_hooks_run_in_order_and_extra_routes_are_served() -> None:
    calls: list[str] = []

    @contextlib.asynccontextmanager
    async def store() -> AsyncIterator[None]:
        calls.append("store up")
        yield
        calls.append("store down")

    @contextlib.asynccontextmanager
    async def axp() -> AsyncIterator[None]:
        calls.append("axp up")
        yield
        calls.append("axp down")

    async def started() -> None:
        calls.append("startup")

    async def stopping() -> None:
        calls.append("shutdown")

    async def callback(request: Request) -> Response:
        return PlainTextResponse(request.path_params["secret"])

    async with (
        running(
            lifespan=[store, axp()],
            on_startup=[started],
            on_shutdown=[stopping],
            extra_routes=[Route("/v1/axp/callback/{secret}", callback, methods=["POST"])],
        ) as env,
        httpx.AsyncClient(base_url=env.url) as http,
    ):
        assert calls == ["store up", "axp up", "startup"]
        assert (await http.post("/v1/axp/callback/abc")).text == "abc"
        assert (await http.get("/nothing")).status_code == 404
    assert calls == ["store up", "axp up", "startup", "shutdown", "axp down", "store down"]


async def test_direct_routes_skip_the_middleware_and_the_rest_keeps_it() -> None:
    async def callback(request: Request) -> Response:
        return PlainTextResponse(request.path_params["secret"])

    route = Route("/v1/axp/callback/{secret}", callback, methods=["POST"])
    limits = TransportLimits(recheck_seconds=0, allowed_origins=frozenset({"https://shop.example"}))
    async with (
        running(limits, direct_routes=[("/v1/axp/callback/", route)]) as env,
        httpx.AsyncClient(base_url=env.url) as http,
    ):
        origin = {"Origin": "https://shop.example"}
        direct = await http.post("/v1/axp/callback/abc", headers=origin)
        assert direct.text == "abc"
        assert "access-control-allow-origin" not in direct.headers  # no CORS middleware
        assert (await http.get("/v1/axp/callback/abc")).status_code == 405
        polled = await http.get("/healthz", headers=origin)
        assert polled.headers.get("access-control-allow-origin") == "https://shop.example"


async def test_websockets_elsewhere_go_to_starlette() -> None:
    async with running() as env:
        with pytest.raises(InvalidStatus) as caught:
            async with open_ws(env.ws_url.replace("/v1/ws", "/v1/other")):
                pass
        assert caught.value.response.status_code == 403


def test_uvicorn_options_follow_the_limits() -> None:
    options = uvicorn_options(TransportLimits(heartbeat=15, max_frame_bytes=1000))
    assert options["ws"] is ConnectorWSProtocol
    assert options["ws_ping_interval"] == 15
    assert options["ws_max_size"] == 1000
    assert options["ws_per_message_deflate"] is False


def test_limits_are_checked_and_origins_normalised() -> None:
    limits = TransportLimits(allowed_origins=frozenset({"https://Shop.example/"}))
    assert limits.origin_allowed("https://shop.example")
    assert not limits.origin_allowed("https://other.example")
    assert limits.origin_allowed(None)
    assert TransportLimits(allowed_origins=frozenset({"*"})).origin_allowed("https://x")
    with pytest.raises(ValueError, match="poll_default_wait"):
        TransportLimits(poll_default_wait=40)


def test_uvicorn_sees_an_asgi3_app_without_being_told() -> None:
    app = create_app(service=FakeService(LocalBus()), bus=LocalBus())
    config = uvicorn.Config(app)
    config.load()
    assert config.interface == "asgi3"


async def test_forwarded_client_addresses_are_trusted_from_trusted_proxies_only() -> None:
    async def whoami(request: Request) -> Response:
        return PlainTextResponse(request.client.host if request.client else "")

    route = Route("/whoami", whoami)
    chain = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 127.0.0.9"}
    async with running(extra_routes=[route]) as env, httpx.AsyncClient(base_url=env.url) as http:
        assert (await http.get("/whoami", headers=chain)).text == "127.0.0.1"  # nobody trusted
    behind_proxy = TransportLimits(recheck_seconds=0, trusted_proxies=(ip_network("127.0.0.0/8"),))
    async with (
        running(behind_proxy, extra_routes=[route]) as env,
        httpx.AsyncClient(base_url=env.url) as http,
    ):
        # the right-most hop that is not a trusted proxy: what the client added is ignored
        assert (await http.get("/whoami", headers=chain)).text == "203.0.113.7"


async def test_metrics_are_not_on_the_public_listener_unless_said_so() -> None:
    async with running() as env, httpx.AsyncClient(base_url=env.url) as http:
        assert (await http.get("/metrics")).status_code == 404
        internal = httpx.ASGITransport(app=metrics_app(env.app.metrics))
        async with httpx.AsyncClient(transport=internal, base_url="http://metrics") as scrape:
            answer = await scrape.get("/metrics")
        assert answer.status_code == 200
        assert "axp_chat_connections" in answer.text


async def test_every_answer_is_nosniff_with_a_csp_and_token_answers_are_not_stored() -> None:
    async def page(request: Request) -> Response:
        return PlainTextResponse("a served file")

    served = [Route("/widget/widget.js", page)]
    direct = [("/v1/axp/callback/", Route("/v1/axp/callback/x", page))]
    async with (
        running(extra_routes=served, direct_routes=direct) as env,
        httpx.AsyncClient(base_url=env.url) as http,
    ):
        login = {"type": "login", "id": "l", "idToken": "t"}
        logged_in = await http.post("/v1/poll/commands", json=login)
        session = logged_in.json()[0]["sessionId"]
        bearer = {"Authorization": f"Bearer tok-{session}"}
        polled = await http.get("/v1/poll/events", params={"wait": 0}, headers=bearer)
        for answer in (logged_in, polled):
            assert answer.headers["cache-control"] == "no-store"
        others = [await http.get(path) for path in ("/healthz", "/widget/widget.js", "/nowhere")]
        others.append(await http.post("/v1/axp/callback/x"))
        for answer in (logged_in, polled, *others):
            assert answer.headers["x-content-type-options"] == "nosniff"
            csp = answer.headers["content-security-policy"]
            assert csp == "default-src 'none'; frame-ancestors 'none'"
    async with (
        running(frame_ancestors=["https://shop.example"], extra_routes=served) as env,
        httpx.AsyncClient(base_url=env.url) as http,
    ):
        csp = (await http.get("/widget/widget.js")).headers["content-security-policy"]
        assert csp.endswith("frame-ancestors https://shop.example")
