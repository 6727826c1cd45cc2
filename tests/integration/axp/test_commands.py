"""`axp-chat-connector check` and `provision` as real child processes against the emulator."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from axp_chat_connector.cli import main
from axp_chat_connector.commands.check import checks, report
from axp_chat_connector.commands.provision import provision
from axp_chat_connector.config import Settings
from tests.servers import TIME_SCALE, free_port

from .conftest import FAST, Emulator, connector_settings

SECRET = "Cb-secret-for-the-cli-tests-0123456789abcdefXYZ"
CLIENT_SECRET = "emulator-client-secret"
TOKEN_SECRET = "St-secret-for-the-cli-tests-0123456789abcdefXYZ"


def env_for(base_url: str, **changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AXP_CHAT_")}
    env.update(
        {
            "AXP_CHAT_AXP_BASE_URL": base_url,
            "AXP_CHAT_AXP_ACCOUNT_ID": "ABCDEF",
            "AXP_CHAT_AXP_CLIENT_ID": "axp-chat-connector",
            "AXP_CHAT_AXP_CLIENT_SECRET": CLIENT_SECRET,
            "AXP_CHAT_AXP_APP_KEY": "emulator-app-key",
            "AXP_CHAT_AXP_CHANNEL_PROVIDER_ID": "axp-chat-connector",
            "AXP_CHAT_PUBLIC_URL": "http://127.0.0.1:8080",
            "AXP_CHAT_CALLBACK_SECRET": SECRET,
            "AXP_CHAT_SESSION_TOKEN_SECRET": TOKEN_SECRET,
            "AXP_CHAT_ALLOWED_ORIGINS": '["http://127.0.0.1:8080"]',
            "AXP_CHAT_GUEST_MODE": "true",
            "AXP_CHAT_AXP_RETRY_DEADLINE": "3",
            "AXP_CHAT_AXP_BACKOFF_BASE": "0.05",
            **changes,
        }
    )
    return env


async def cli(cwd: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run the CLI (without blocking the emulator served in this loop); exit code, output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "axp_chat_connector.cli", *args,
        cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60 * TIME_SCALE)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_provision_then_check_in_process(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = connector_settings(emulator)
    results = await checks(settings)
    assert not report(settings, results, sys.stdout)
    assert "FAIL  subscriptions: run `axp-chat-connector provision`" in capsys.readouterr().out

    assert await provision(settings, dry_run=True, prune=False) == 0
    out = capsys.readouterr().out
    assert "create" in out
    assert "dry run: 1 change(s) not applied" in out
    assert await provision(settings, dry_run=False, prune=False) == 0
    assert "applied 1 change(s)" in capsys.readouterr().out

    assert report(settings, await checks(settings), sys.stdout)
    out = capsys.readouterr().out
    for line in ("ok    token", "ok    Custom Chat API", "ok    Notification API",
                 "ok    subscriptions: up to date", "all checks passed"):  # fmt: skip
        assert line in out
    assert "AXP_CHAT_AXP_CLIENT_SECRET = ********" in out
    for secret in (settings.callback_secret.get_secret_value(), CLIENT_SECRET, "emulator-app-key"):
        assert secret not in out


async def test_check_command_exits_0_when_all_is_well(emulator: Emulator, tmp_path: Path) -> None:
    env = env_for(emulator.base)
    settings = connector_settings(emulator, callback_secret=SECRET)
    assert await provision(settings, dry_run=False, prune=False) == 0
    code, out = await cli(tmp_path, env, "check")
    assert code == 0, out
    assert "all checks passed" in out
    for secret in (SECRET, CLIENT_SECRET, "emulator-app-key"):
        assert secret not in out


async def test_check_fails_clearly_with_a_wrong_client_secret(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = connector_settings(emulator, axp_client_secret="a-wrong-client-secret")
    assert not report(settings, await checks(settings), sys.stdout)
    out = capsys.readouterr().out
    assert "FAIL  token: AxpAuthError" in out
    assert "a-wrong-client-secret" not in out


async def test_check_fails_clearly_when_axp_is_unreachable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings.for_emulator(f"http://127.0.0.1:{free_port()}", **FAST)
    assert not report(settings, await checks(settings), sys.stdout)
    out = capsys.readouterr().out
    assert "FAIL  token: AxpUnavailable: AXP token endpoint unreachable" in out
    assert "some checks failed" in out


async def test_provision_reports_an_unreachable_axp(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings.for_emulator(f"http://127.0.0.1:{free_port()}", **FAST)
    assert await provision(settings, dry_run=False, prune=False) == 1
    assert "error: AxpUnavailable" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["check", "provision"])
def test_commands_name_each_bad_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    command: str,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for name, value in env_for("http://127.0.0.1:1").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AXP_CHAT_AXP_ACCOUNT_ID", "ABC")
    monkeypatch.setenv("AXP_CHAT_CALLBACK_SECRET", "x")
    assert main([command]) == 2
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "AXP_CHAT_AXP_ACCOUNT_ID: expected exactly 6 letters" in out
    assert "AXP_CHAT_CALLBACK_SECRET: expected at least 32 characters" in out


@pytest.mark.parametrize("command", ["check", "serve", "provision"])
@pytest.mark.parametrize(
    ("changes", "name", "words"),
    [
        ({"AXP_CHAT_SESSION_TOKEN_SECRET": None}, "AXP_CHAT_SESSION_TOKEN_SECRET", "missing"),
        ({"AXP_CHAT_SESSION_TOKEN_SECRET": "Short-secret-0123"},
         "AXP_CHAT_SESSION_TOKEN_SECRET", "at least 32 bytes"),
        ({"AXP_CHAT_STORE_URL": "redis://127.0.0.1:6379/0"}, "AXP_CHAT_BUS_URL",
         "Redis store"),
        ({"AXP_CHAT_STORE_URL": "mysql://db/chat"}, "AXP_CHAT_STORE_URL", "expected sqlite"),
        ({"AXP_CHAT_ALLOWED_ORIGINS": None}, "AXP_CHAT_ALLOWED_ORIGINS", "missing"),
    ],
)  # fmt: skip
def test_check_refuses_exactly_what_serve_refuses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    command: str, changes: dict[str, str | None], name: str, words: str,
) -> None:  # fmt: skip
    """Issue 15.7: `check` said "all checks passed" where `serve` refused to start."""
    monkeypatch.chdir(tmp_path)
    for variable in list(os.environ):
        if variable.startswith("AXP_CHAT_"):
            monkeypatch.delenv(variable)
    for variable, value in {**env_for(f"http://127.0.0.1:{free_port()}"), **changes}.items():
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)
    assert main([command]) == 2
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert f"{name}: " in out
    assert words in out
    assert "all checks passed" not in out
    assert TOKEN_SECRET not in out


def test_check_prints_each_warning_and_masks_url_passwords(
    capsys: pytest.CaptureFixture[str],
) -> None:
    password = "Redis-password-not-to-print-9"
    settings = Settings.for_emulator(
        "http://127.0.0.1:1",
        store_url=f"redis://:{password}@127.0.0.1:6379/0",
        bus_url=f"redis://:{password}@127.0.0.1:6379/0",
    )
    report(settings, [], sys.stdout)
    out = capsys.readouterr().out
    assert "warning: AXP_CHAT_ALLOWED_ORIGINS is *" in out
    assert "warning: neither AXP_CHAT_GUEST_MODE nor verified mode" in out
    assert "AXP_CHAT_STORE_URL = redis://:***@127.0.0.1:6379/0" in out
    assert password not in out
