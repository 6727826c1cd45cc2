"""Settings: every bad or missing setting is named with what is expected; secrets stay secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from axp_chat_connector.config import Settings, SettingsError, load_settings

from .fakes import CALLBACK_SECRET

GOOD_ENV = {
    "AXP_CHAT_AXP_BASE_URL": "https://na.api.avayacloud.com",
    "AXP_CHAT_AXP_ACCOUNT_ID": "QWERTY",
    "AXP_CHAT_AXP_CLIENT_ID": "chat-connector",
    "AXP_CHAT_AXP_CLIENT_SECRET": "s3cr3t-client-value",
    "AXP_CHAT_AXP_APP_KEY": "app-key-value-123",
    "AXP_CHAT_AXP_CHANNEL_PROVIDER_ID": "ChatProvider01",
    "AXP_CHAT_PUBLIC_URL": "https://chat.acme.test/",
    "AXP_CHAT_CALLBACK_SECRET": CALLBACK_SECRET,
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AXP_CHAT_* from the developer's shell, and no `.env` in the working directory."""
    import os

    for name in list(os.environ):
        if name.startswith("AXP_CHAT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def set_env(monkeypatch: pytest.MonkeyPatch, **changes: str | None) -> None:
    for name, value in {**GOOD_ENV, **changes}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def problems(monkeypatch: pytest.MonkeyPatch, **changes: str | None) -> dict[str, str]:
    set_env(monkeypatch, **changes)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return caught.value.problems


def test_good_environment_loads_and_derives_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch)
    settings = load_settings()
    assert settings.public_url == "https://chat.acme.test"  # trailing slash dropped
    assert settings.token_url == (
        "https://na.api.avayacloud.com/api/auth/v1/QWERTY/protocol/openid-connect/token"
    )
    assert settings.channel_api_url == (
        "https://na.api.avayacloud.com/api/digital/channel/v1/accounts/QWERTY"
    )
    assert settings.webhook_api_url == (
        "https://na.api.avayacloud.com/api/digital/webhook/v1/accounts/QWERTY"
    )
    assert settings.callback_url.get_secret_value() == (
        f"https://chat.acme.test/v1/axp/callback/{CALLBACK_SECRET}"
    )


def test_missing_settings_are_each_named_with_what_is_expected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings()
    text = str(caught.value)
    for name in GOOD_ENV:
        assert name in caught.value.problems
        assert f"  {name}: missing" in text
    assert "6 letters" in caught.value.problems["AXP_CHAT_AXP_ACCOUNT_ID"]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("AXP_CHAT_AXP_ACCOUNT_ID", "ABC12", "exactly 6 letters"),
        ("AXP_CHAT_AXP_ACCOUNT_ID", "ABCDEFG", "exactly 6 letters"),
        ("AXP_CHAT_AXP_BASE_URL", "http://na.api.avayacloud.com", "https"),
        ("AXP_CHAT_AXP_BASE_URL", "https://HOST-REGION.api.avayacloud.com", "placeholder"),
        ("AXP_CHAT_AXP_BASE_URL", "na.api.avayacloud.com", "https URL"),
        ("AXP_CHAT_AXP_TOKEN_URL", "{base}/token", "unknown placeholder"),
        ("AXP_CHAT_AXP_CLIENT_ID", "your-client-id", "placeholder"),
        ("AXP_CHAT_AXP_CLIENT_SECRET", "changeme", "placeholder"),
        ("AXP_CHAT_AXP_APP_KEY", "<app key>", "placeholder"),
        ("AXP_CHAT_AXP_CHANNEL_PROVIDER_ID", "ab", "at least 3"),
        ("AXP_CHAT_PUBLIC_URL", "http://chat.acme.test", "https"),
        ("AXP_CHAT_CALLBACK_SECRET", "short-secret", "at least 32"),
        ("AXP_CHAT_CALLBACK_SECRET", "x" * 40, "random"),
        ("AXP_CHAT_CALLBACK_SECRET", "change-me-" * 4, "random"),
        ("AXP_CHAT_CALLBACK_SECRET", "a/b?c#" * 8, "URL-safe"),
        ("AXP_CHAT_AXP_RETRY_ATTEMPTS", "0", "greater than or equal to 1"),
        ("AXP_CHAT_AXP_READ_TIMEOUT", "soon", "number"),
        ("AXP_CHAT_AXP_CHANNEL_API_VERSION", "1", "pattern"),
    ],
)
def test_bad_setting_is_named_with_what_is_expected(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    found = problems(monkeypatch, **{name: value})
    assert list(found) == [name]
    assert expected in found[name]


def test_several_bad_settings_are_all_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    found = problems(
        monkeypatch,
        AXP_CHAT_AXP_ACCOUNT_ID="12",
        AXP_CHAT_CALLBACK_SECRET="tiny",
        AXP_CHAT_AXP_APP_KEY=None,
    )
    assert set(found) == {
        "AXP_CHAT_AXP_ACCOUNT_ID",
        "AXP_CHAT_CALLBACK_SECRET",
        "AXP_CHAT_AXP_APP_KEY",
    }


def test_error_text_never_contains_a_secret_value(monkeypatch: pytest.MonkeyPatch) -> None:
    leaked = "Placeholder-but-secret-value-that-must-not-leak-0123"
    set_env(monkeypatch, AXP_CHAT_AXP_CLIENT_SECRET=leaked, AXP_CHAT_CALLBACK_SECRET="tiny")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "AXP_CHAT_AXP_CLIENT_SECRET" in caught.value.problems
    assert leaked not in str(caught.value)
    assert "tiny" not in str(caught.value)


def test_loopback_http_is_allowed_for_a_local_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        AXP_CHAT_AXP_BASE_URL="http://127.0.0.1:8090",
        AXP_CHAT_PUBLIC_URL="http://localhost:8080",
    )
    assert load_settings().axp_base_url == "http://127.0.0.1:8090"


def test_other_token_url_form_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        AXP_CHAT_AXP_TOKEN_URL="{base_url}/auth/realms/{account_id}/protocol/openid-connect/token",
    )
    assert load_settings().token_url == (
        "https://na.api.avayacloud.com/auth/realms/QWERTY/protocol/openid-connect/token"
    )


def test_secret_can_be_read_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "client_secret"
    secret_file.write_text("from-a-file-secret\n", encoding="utf-8")
    set_env(
        monkeypatch,
        AXP_CHAT_AXP_CLIENT_SECRET=None,
        AXP_CHAT_AXP_CLIENT_SECRET_FILE=str(secret_file),
    )
    assert load_settings().axp_client_secret.get_secret_value() == "from-a-file-secret"


def test_secret_file_that_cannot_be_read_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    found = problems(
        monkeypatch,
        AXP_CHAT_AXP_CLIENT_SECRET=None,
        AXP_CHAT_AXP_CLIENT_SECRET_FILE="/nonexistent/secret",
    )
    assert "readable file" in found["AXP_CHAT_AXP_CLIENT_SECRET_FILE"]


def test_secret_set_twice_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "app_key"
    secret_file.write_text("another-app-key", encoding="utf-8")
    found = problems(monkeypatch, AXP_CHAT_AXP_APP_KEY_FILE=str(secret_file))
    assert "either" in found["AXP_CHAT_AXP_APP_KEY_FILE"]


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    set_env(monkeypatch, AXP_CHAT_AXP_ACCOUNT_ID=None)
    (tmp_path / ".env").write_text("AXP_CHAT_AXP_ACCOUNT_ID=ZYXWVU\n", encoding="utf-8")
    assert load_settings().axp_account_id == "ZYXWVU"


def test_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    set_env(monkeypatch)
    (tmp_path / ".env").write_text("AXP_CHAT_AXP_ACCOUNT_ID=ZYXWVU\n", encoding="utf-8")
    assert load_settings().axp_account_id == "QWERTY"


def test_masked_settings_hide_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch)
    shown = load_settings().masked()
    text = repr(shown)
    for name in (
        "AXP_CHAT_AXP_CLIENT_SECRET",
        "AXP_CHAT_AXP_APP_KEY",
        "AXP_CHAT_CALLBACK_SECRET",
    ):
        assert shown[name] == "********"
        assert GOOD_ENV[name] not in text
    assert shown["AXP_CHAT_AXP_ACCOUNT_ID"] == "QWERTY"


def test_for_emulator_matches_emulator_defaults_and_ignores_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from axp_chat_connector.emulator.config import EmulatorSettings

    set_env(monkeypatch)  # a developer's real tenant settings must not leak into tests
    settings = Settings.for_emulator("http://127.0.0.1:9999", axp_retry_attempts=2)
    emulator = EmulatorSettings()
    assert settings.axp_account_id == emulator.account_id
    assert settings.axp_client_id == emulator.client_id
    assert settings.axp_client_secret.get_secret_value() == (
        emulator.client_secret.get_secret_value()
    )
    assert settings.axp_app_key.get_secret_value() == emulator.app_key.get_secret_value()
    assert settings.axp_retry_attempts == 2
    assert settings.axp_base_url == "http://127.0.0.1:9999"
    other = Settings.for_emulator("http://127.0.0.1:9999")
    assert other.callback_secret.get_secret_value() != settings.callback_secret.get_secret_value()


def test_for_emulator_reports_bad_overrides() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.for_emulator("http://127.0.0.1:9999", axp_account_id="nope")
    assert "AXP_CHAT_AXP_ACCOUNT_ID" in caught.value.problems


def test_every_field_has_a_description() -> None:
    missing = [n for n, f in Settings.model_fields.items() if not f.description]
    assert missing == []


def test_optional_secret_can_be_read_from_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "session_token_secret"
    secret_file.write_text("a-session-token-secret-of-32-bytes-or-more", encoding="utf-8")
    set_env(monkeypatch, AXP_CHAT_SESSION_TOKEN_SECRET_FILE=str(secret_file))
    loaded = load_settings().session_token_secret
    assert loaded is not None
    assert loaded.get_secret_value() == "a-session-token-secret-of-32-bytes-or-more"
