"""`serve` is the product, `demo` the demo: what each serves at `/`; the demo honouring the
environment and its flags, on Redis with two instances; `--version`."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from axp_chat_connector.cli import build_parser, main
from axp_chat_connector.commands.demo import demo_settings
from tests.e2e.chat.clients import Agent, WsClient
from tests.e2e.chat.test_chat import CUSTOMER, session_token, texts
from tests.servers import connector_env, free_port, spawn

SHOP_TITLE = "Velo Verde"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No `AXP_CHAT_*` setting but those a test sets."""
    for name in list(os.environ):
        if name.startswith("AXP_CHAT_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_version_prints_the_installed_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"axp-chat-connector {version('axp-chat-connector')}"


def test_the_demo_needs_no_setting(clean_environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    args = build_parser().parse_args(["demo", "--port", "8181"])
    settings = demo_settings(args, "http://127.0.0.1:8191", tmp_path)
    assert settings.store_url == f"sqlite:///{tmp_path / 'demo.db'}"
    assert settings.bus_url == "local://"
    assert settings.guest_mode
    assert settings.public_url == "http://127.0.0.1:8181"
    assert settings.axp_base_url == "http://127.0.0.1:8191"


def test_the_demo_honours_the_environment_but_stays_on_the_emulator(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = clean_environment
    env.setenv("AXP_CHAT_STORE_URL", "redis://127.0.0.1:6379/3")
    env.setenv("AXP_CHAT_BUS_URL", "redis://127.0.0.1:6379/3")
    env.setenv("AXP_CHAT_HEARTBEAT", "7")
    env.setenv("AXP_CHAT_GUEST_MODE", "false")
    env.setenv("AXP_CHAT_AXP_BASE_URL", "https://na.api.avayacloud.com")
    env.setenv("AXP_CHAT_AXP_CLIENT_SECRET", "a-real-tenant-secret-the-demo-must-not-use")
    args = build_parser().parse_args(["demo", "--bus", "redis://127.0.0.1:6379/4"])
    settings = demo_settings(args, "http://127.0.0.1:8191", tmp_path)
    assert settings.store_url == "redis://127.0.0.1:6379/3"
    assert settings.bus_url == "redis://127.0.0.1:6379/4", "a flag wins over the environment"
    assert settings.heartbeat == 7
    assert not settings.guest_mode
    assert settings.axp_base_url == "http://127.0.0.1:8191"
    assert settings.axp_client_secret.get_secret_value() == "emulator-client-secret"


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["emulator", "--port", str(port)]
    env = {"AXP_EMULATOR_ALLOW_HTTP_CALLBACKS": "true"}
    with spawn(args, f"{url}/emulator/v1/health", env=env, timeout=30):
        yield url


@pytest.mark.e2e
def test_serve_serves_the_sdk_and_the_widget_but_no_demo_shop(
    emulator_url: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = connector_env(emulator_url, url, f"sqlite:///{tmp_path / 'connector.db'}")
    with spawn(["serve", "--port", str(port)], f"{url}/readyz", env=env, timeout=30):
        for page in ("/", "/index.html", "/page2.html", "/site.css"):
            assert httpx.get(url + page).status_code == 404, page
        for script in ("/widget/widget.js", "/sdk/index.js"):
            assert httpx.get(url + script).status_code == 200, script


@pytest.mark.e2e
def test_serve_keeps_metrics_on_the_internal_listener(emulator_url: str, tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    env = connector_env(
        emulator_url,
        url,
        f"sqlite:///{tmp_path / 'connector.db'}",
        AXP_CHAT_METRICS_PUBLIC="false",
        AXP_CHAT_METRICS_PORT=str(metrics_port),
    )
    with spawn(["serve", "--port", str(port)], f"{url}/readyz", env=env, timeout=30):
        assert httpx.get(f"{url}/metrics").status_code == 404
        internal = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert internal.status_code == 200
        assert "axp_chat_connections" in internal.text


@contextlib.contextmanager
def demo(port: int, *args: str, env: dict[str, str]) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    with spawn(["demo", "--port", str(port), *args], f"{url}/readyz", env=env, timeout=30):
        yield url


@pytest.mark.e2e
@pytest.mark.redis
async def test_two_demo_instances_on_redis_carry_one_chat(redis_url: str) -> None:
    """The first instance gets Redis from its flags and starts the emulator; the second joins
    that emulator and gets Redis from the environment; a customer moves from one to the other."""
    emulator_port = free_port()
    emulator = f"http://127.0.0.1:{emulator_port}"
    token_secret = {"AXP_CHAT_SESSION_TOKEN_SECRET": secrets.token_urlsafe(48)}
    by_flags = ["--emulator-port", str(emulator_port), "--store", redis_url, "--bus", redis_url]
    by_env = {"AXP_CHAT_STORE_URL": redis_url, "AXP_CHAT_BUS_URL": redis_url, **token_secret}
    with (
        demo(free_port(), *by_flags, env=token_secret) as first,
        demo(free_port(), "--emulator-url", emulator, env=by_env) as second,
    ):
        async with httpx.AsyncClient() as http:
            for site in (first, second):
                shop = await http.get(f"{site}/")
                assert shop.status_code == 200
                assert SHOP_TITLE in shop.text
        agent = Agent(emulator)
        customer = await WsClient(first).open()
        await customer.ok("login", customer=CUSTOMER)
        started = await customer.ok("start")
        await agent.engagement(started["dialogId"])
        await agent.act(started["engagementId"], "accept")
        await customer.event(lambda e: e["type"] == "participant.joined", "the agent joining")
        token = await session_token(customer)
        await customer.close()

        moved = await WsClient(second).open()
        await moved.ok("resume", token=token, after=0)
        await agent.say(started["engagementId"], "on the second instance")
        await moved.event(lambda e: e.get("text") == "on the second instance", "the reply")
        assert [e["seq"] for e in moved.events] == list(range(1, len(moved.events) + 1))
        assert texts(moved.events, "AGENT") == ["on the second instance"]
        await moved.close()
        await agent.aclose()
