"""The token endpoint and the app key / bearer checks of Digital calls, over real HTTP."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from axp_chat_connector.emulator.config import EmulatorSettings
from tests.integration.emulator.harness import (
    APP_KEY,
    CHAT,
    CREDENTIALS,
    TOKEN_PATH,
    Emulator,
    eventually,
    running,
)
from tests.openapi_check import validate_exchange, validate_problem
from tests.unit.emulator.fakes import RecordingSink


async def test_client_credentials_give_a_bearer_token_per_spec(emulator: Emulator) -> None:
    answer = await emulator.token()
    validate_exchange(answer)
    body = answer.json()
    assert answer.status_code == 200
    assert body["expires_in"] == 900
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["access_token"] != emulator.bearer


async def test_refresh_token_grant_works_once(emulator: Emulator) -> None:
    refresh = (await emulator.token()).json()["refresh_token"]
    first = await emulator.token(grant_type="refresh_token", refresh_token=refresh)
    again = await emulator.token(grant_type="refresh_token", refresh_token=refresh)
    assert first.status_code == 200
    assert again.status_code == 401
    validate_exchange(again)


@pytest.mark.parametrize(
    ("form", "headers", "status"),
    [
        ({"client_secret": "wrong"}, {"appkey": APP_KEY}, 401),
        ({"client_id": "someone-else"}, {"appkey": APP_KEY}, 401),
        ({}, {}, 401),  # no app key
        ({}, {"appkey": "wrong"}, 401),
        ({"grant_type": "password"}, {"appkey": APP_KEY}, 400),
        ({"client_secret": ""}, {"appkey": APP_KEY}, 400),
        ({"grant_type": "refresh_token"}, {"appkey": APP_KEY}, 400),
    ],
)
async def test_bad_token_requests_get_problem_answers(
    emulator: Emulator, form: dict[str, str], headers: dict[str, str], status: int
) -> None:
    answer = await emulator.client.post(TOKEN_PATH, data={**CREDENTIALS, **form}, headers=headers)
    assert answer.status_code == status
    validate_exchange(answer, check_request=False)
    validate_problem(answer)


async def test_unknown_account_is_404_and_malformed_account_is_400(emulator: Emulator) -> None:
    other = await emulator.client.post(
        TOKEN_PATH.replace("ABCDEF", "GHIJKL"), data=CREDENTIALS, headers={"appkey": APP_KEY}
    )
    bad = await emulator.client.post(
        TOKEN_PATH.replace("ABCDEF", "ABC123"), data=CREDENTIALS, headers={"appkey": APP_KEY}
    )
    assert other.status_code == 404
    assert bad.status_code == 400
    assert bad.json()["violations"][0]["code"] == 20006
    validate_exchange(other)
    validate_exchange(bad, check_request=False)


async def test_json_token_request_is_415(emulator: Emulator) -> None:
    answer = await emulator.client.post(TOKEN_PATH, json=CREDENTIALS, headers={"appkey": APP_KEY})
    assert answer.status_code == 415
    validate_problem(answer)


async def test_realms_path_works_without_an_app_key(emulator: Emulator) -> None:
    path = "/auth/realms/ABCDEF/protocol/openid-connect/token"
    without = await emulator.client.post(path, data=CREDENTIALS)
    wrong = await emulator.client.post(path, data=CREDENTIALS, headers={"appkey": "nope"})
    assert without.status_code == 200
    assert wrong.status_code == 401


async def test_digital_calls_check_the_app_key_then_the_token(emulator: Emulator) -> None:
    path = f"{CHAT}/sessions/00000000-0000-4000-8000-000000000000"
    no_key = await emulator.client.get(path, headers={"Authorization": f"Bearer {emulator.bearer}"})
    no_token = await emulator.client.get(path, headers={"appkey": APP_KEY})
    forged = await emulator.client.get(
        path, headers={"appkey": APP_KEY, "Authorization": "Bearer forged"}
    )
    for answer in (no_key, no_token, forged):
        assert answer.status_code == 401
        validate_exchange(answer, check_request=False)
    assert "appkey" in no_key.json()["detail"]
    assert "token" in no_token.json()["detail"]


async def test_token_of_another_account_is_403() -> None:
    async with running(EmulatorSettings(account_id="GHIJKL"), RecordingSink()) as emu:
        answer = await emu.client.post(
            TOKEN_PATH.replace("ABCDEF", "GHIJKL"), data=CREDENTIALS, headers={"appkey": APP_KEY}
        )
        emu.bearer = answer.json()["access_token"]
        session_id = "00000000-0000-4000-8000-000000000000"
        forbidden = await emu.call("GET", f"{CHAT}/engagements", params={"sessionId": session_id})
        assert forbidden.status_code == 403
        assert forbidden.json()["title"] == "Forbidden"


async def test_expired_token_is_401_and_a_new_one_works() -> None:
    async with running(EmulatorSettings(token_ttl=1), RecordingSink()) as emu:
        answer = await emu.token()
        assert answer.json()["expires_in"] == 1
        emu.bearer = answer.json()["access_token"]
        session = await emu.new_session()
        path = f"{CHAT}/sessions/{session['sessionId']}"
        assert (await emu.call("GET", path)).status_code == 200
        expired = await eventually(
            lambda: emu.call("GET", path, validate=False), lambda r: r.status_code != 200
        )
        assert expired.status_code == 401
        assert "expired" in expired.json()["detail"]
        validate_exchange(expired)
        await emu.login()
        assert (await emu.call("GET", path)).status_code == 200


async def test_tokens_secrets_and_app_key_never_reach_the_logs(emulator: Emulator) -> None:
    with capture_logs() as logs:
        answer = await emulator.token()
        emulator.bearer = answer.json()["access_token"]
        await emulator.new_session()
        await emulator.client.post(TOKEN_PATH, data={**CREDENTIALS, "client_secret": "guess"})
    text = repr(logs)
    assert "emulator.token.issued" in text
    for secret in (
        emulator.bearer,
        answer.json()["refresh_token"],
        CREDENTIALS["client_secret"],
        "guess",
        APP_KEY,
    ):
        assert secret not in text
