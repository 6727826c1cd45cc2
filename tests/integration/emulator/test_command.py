"""`axp-chat-connector emulator` as a real child process."""

from __future__ import annotations

import httpx

from tests.integration.emulator.harness import APP_KEY, CHAT, CREDENTIALS, HOOKS, TOKEN_PATH
from tests.servers import free_port, spawn


def test_emulator_command_serves_auth_chat_and_http_loopback_callbacks() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (
        spawn(["emulator", "--port", str(port), "--token-ttl", "60"], f"{base}/emulator/v1/health"),
        httpx.Client(base_url=base, timeout=5) as client,
    ):
        token = client.post(TOKEN_PATH, data=CREDENTIALS, headers={"appkey": APP_KEY})
        assert token.status_code == 200
        assert token.json()["expires_in"] == 60
        headers = {"appkey": APP_KEY, "Authorization": f"Bearer {token.json()['access_token']}"}
        session = client.post(
            f"{CHAT}/sessions",
            json={"channelProviderId": "cp1", "customerIdentifiers": {"e": ["x"]}},
            headers=headers,
        )
        assert session.status_code == 201
        hook = client.post(
            HOOKS,
            json={
                "channelProviderId": "cp1",
                "callbackUrl": "http://127.0.0.1:9/cb",
                "eventTypes": ["ALL"],
            },
            headers=headers,
        )
        assert hook.status_code == 201  # http loopback callbacks are on by default here
