"""Settings: every bad or missing setting is named with what is expected; secrets stay secret."""

from __future__ import annotations

import json
from ipaddress import ip_address
from pathlib import Path

import pytest

from axp_chat_connector.config import Settings, SettingsError, load_settings

from .fakes import CALLBACK_SECRET

SESSION_TOKEN_SECRET = "Fq3-session-token-secret-for-tests-0123456789xyz"

GOOD_ENV = {
    "AXP_CHAT_AXP_BASE_URL": "https://na.api.avayacloud.com",
    "AXP_CHAT_AXP_ACCOUNT_ID": "QWERTY",
    "AXP_CHAT_AXP_CLIENT_ID": "chat-connector",
    "AXP_CHAT_AXP_CLIENT_SECRET": "s3cr3t-client-value",
    "AXP_CHAT_AXP_APP_KEY": "app-key-value-123",
    "AXP_CHAT_AXP_CHANNEL_PROVIDER_ID": "ChatProvider01",
    "AXP_CHAT_PUBLIC_URL": "https://chat.acme.test/",
    "AXP_CHAT_CALLBACK_SECRET": CALLBACK_SECRET,
    "AXP_CHAT_SESSION_TOKEN_SECRET": SESSION_TOKEN_SECRET,
    "AXP_CHAT_ALLOWED_ORIGINS": '["https://www.acme.test"]',
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


def test_session_token_secret_can_be_read_from_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "session_token_secret"
    secret_file.write_text("a-session-token-secret-of-32-bytes-or-more", encoding="utf-8")
    set_env(
        monkeypatch,
        AXP_CHAT_SESSION_TOKEN_SECRET=None,
        AXP_CHAT_SESSION_TOKEN_SECRET_FILE=str(secret_file),
    )
    loaded = load_settings().session_token_secret
    assert loaded.get_secret_value() == "a-session-token-secret-of-32-bytes-or-more"


# -- issue 15.7: one validation for check, serve and demo; limits with safe defaults -------------
REDIS_PASSWORD = "Redis-pass-word-that-must-not-leak-42"


@pytest.mark.parametrize(
    ("changes", "name", "expected"),
    [
        ({"AXP_CHAT_SESSION_TOKEN_SECRET": None}, "AXP_CHAT_SESSION_TOKEN_SECRET", "missing"),
        ({"AXP_CHAT_SESSION_TOKEN_SECRET": "Short-but-varied-0123"},
         "AXP_CHAT_SESSION_TOKEN_SECRET", "at least 32 bytes (got 21)"),
        ({"AXP_CHAT_SESSION_TOKEN_SECRET": "x" * 40}, "AXP_CHAT_SESSION_TOKEN_SECRET", "random"),
        ({"AXP_CHAT_SESSION_TOKEN_SECRET": "changeme-" * 4}, "AXP_CHAT_SESSION_TOKEN_SECRET",
         "random"),
        ({"AXP_CHAT_STORE_URL": "postgres://db/chat"}, "AXP_CHAT_STORE_URL",
         "expected sqlite:///path/to/file.db or redis://"),
        ({"AXP_CHAT_STORE_URL": "sqlite://"}, "AXP_CHAT_STORE_URL", "file path"),
        ({"AXP_CHAT_STORE_URL": "redis://redis:port/0"}, "AXP_CHAT_STORE_URL", "port number"),
        ({"AXP_CHAT_STORE_URL": "redis://redis:6379/zero"}, "AXP_CHAT_STORE_URL",
         "database number"),
        ({"AXP_CHAT_STORE_URL": "redis:///0"}, "AXP_CHAT_STORE_URL", "a host"),
        ({"AXP_CHAT_STORE_URL": "unix://"}, "AXP_CHAT_STORE_URL", "socket path"),
        ({"AXP_CHAT_BUS_URL": "kafka://broker"}, "AXP_CHAT_BUS_URL", "expected local://"),
        ({"AXP_CHAT_BUS_URL": "local"}, "AXP_CHAT_BUS_URL", "expected local://"),
        ({"AXP_CHAT_STORE_URL": "redis://redis:6379/0"}, "AXP_CHAT_BUS_URL",
         "Redis store (AXP_CHAT_STORE_URL)"),
        ({"AXP_CHAT_ALLOWED_ORIGINS": None}, "AXP_CHAT_ALLOWED_ORIGINS", "missing"),
        ({"AXP_CHAT_ALLOWED_ORIGINS": "[]"}, "AXP_CHAT_ALLOWED_ORIGINS", 'or ["*"]'),
        ({"AXP_CHAT_ALLOWED_ORIGINS": '["*", "https://www.acme.test"]'},
         "AXP_CHAT_ALLOWED_ORIGINS", '"*" alone'),
        ({"AXP_CHAT_ALLOWED_ORIGINS": '["https://www.acme.test/chat"]'},
         "AXP_CHAT_ALLOWED_ORIGINS", "entry 1: expected an origin"),
        ({"AXP_CHAT_ALLOWED_ORIGINS": '["https://a.test", "www.acme.test"]'},
         "AXP_CHAT_ALLOWED_ORIGINS", "entry 2: expected an origin"),
        ({"AXP_CHAT_ALLOWED_ORIGINS": '["https://www.example.com"]'},
         "AXP_CHAT_ALLOWED_ORIGINS", "placeholder"),
        ({"AXP_CHAT_ALLOWED_ORIGINS": "https://www.acme.test"}, "AXP_CHAT_ALLOWED_ORIGINS",
         "JSON list"),
        ({"AXP_CHAT_TRUSTED_PROXIES": '["0.0.0.0/0"]'}, "AXP_CHAT_TRUSTED_PROXIES",
         "every address"),
        ({"AXP_CHAT_TRUSTED_PROXIES": '["10.0.0.1", "::/0"]'}, "AXP_CHAT_TRUSTED_PROXIES",
         "entry 2"),
        ({"AXP_CHAT_TRUSTED_PROXIES": '["10.0.0.300"]'}, "AXP_CHAT_TRUSTED_PROXIES",
         "CIDR network"),
        ({"AXP_CHAT_FRAME_ANCESTORS": '["https://a.test; script-src *"]'},
         "AXP_CHAT_FRAME_ANCESTORS", "one CSP source"),
        ({"AXP_CHAT_FRAME_ANCESTORS": "[]"}, "AXP_CHAT_FRAME_ANCESTORS", "at least one source"),
        ({"AXP_CHAT_ID_TOKEN_ALGORITHM": "HS256"}, "AXP_CHAT_ID_TOKEN_KEY",
         "AXP_CHAT_ID_TOKEN_ALGORITHM turns verified mode on"),
        ({"AXP_CHAT_ID_TOKEN_KEY": "Hs-key-of-the-site-0123456789abcdefXYZ"},
         "AXP_CHAT_ID_TOKEN_KEY", "needs AXP_CHAT_ID_TOKEN_ALGORITHM"),
        ({"AXP_CHAT_ID_TOKEN_ALGORITHM": "HS256", "AXP_CHAT_ID_TOKEN_KEY": "short-Key-1"},
         "AXP_CHAT_ID_TOKEN_KEY", "at least 32 bytes"),
        ({"AXP_CHAT_ID_TOKEN_ALGORITHM": "RS256", "AXP_CHAT_ID_TOKEN_KEY": "not a PEM key"},
         "AXP_CHAT_ID_TOKEN_KEY", "RS256 public key in PEM"),
        ({"AXP_CHAT_ID_TOKEN_ISSUER": "https://login.acme.test"}, "AXP_CHAT_ID_TOKEN_ISSUER",
         "only used in verified mode"),
        ({"AXP_CHAT_ID_TOKEN_MAX_AGE": "0"}, "AXP_CHAT_ID_TOKEN_MAX_AGE", "greater than 0"),
        ({"AXP_CHAT_IDENTIFIER_KINDS": json.dumps([f"kind{i}" for i in range(11)])},
         "AXP_CHAT_IDENTIFIER_KINDS", "1 to 10"),
        ({"AXP_CHAT_IDENTIFIER_KINDS": json.dumps(["k" * 51])}, "AXP_CHAT_IDENTIFIER_KINDS",
         "1 to 50 characters"),
        ({"AXP_CHAT_IDENTIFIER_KINDS": '["phoneNumbers", "phoneNumbers"]'},
         "AXP_CHAT_IDENTIFIER_KINDS", "once"),
        ({"AXP_CHAT_LOGINS_PER_IP_PER_MINUTE": "0"}, "AXP_CHAT_LOGINS_PER_IP_PER_MINUTE",
         "greater than or equal to 1"),
        ({"AXP_CHAT_LOGINS_PER_MINUTE": "-5"}, "AXP_CHAT_LOGINS_PER_MINUTE", "greater than"),
        ({"AXP_CHAT_CONNECTIONS_PER_IP": "true"}, "AXP_CHAT_CONNECTIONS_PER_IP", "integer"),
        ({"AXP_CHAT_POLLS_PER_SESSION": "0"}, "AXP_CHAT_POLLS_PER_SESSION", "greater than"),
        ({"AXP_CHAT_HISTORY_MAX_PAGES": "1000"}, "AXP_CHAT_HISTORY_MAX_PAGES", "less than"),
        ({"AXP_CHAT_METRICS_PORT": "70000"}, "AXP_CHAT_METRICS_PORT", "less than"),
        ({"AXP_CHAT_AXP_PROXY_URL": "proxy:3128"}, "AXP_CHAT_AXP_PROXY_URL", "http(s) proxy"),
    ],
)  # fmt: skip
def test_each_new_rule_names_its_setting(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, str | None], name: str, expected: str
) -> None:
    found = problems(monkeypatch, **changes)
    assert list(found) == [name]
    assert expected in found[name]


def test_safe_defaults_for_the_public_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch)
    settings = load_settings()
    assert settings.trusted_proxies == []  # forwarded headers honoured from nobody
    assert settings.metrics_port is None
    assert not settings.metrics_public
    assert settings.logins_per_ip_per_minute == 10
    assert settings.logins_per_minute == 600
    assert settings.connections_per_ip == 50
    assert settings.polls_per_session == 4
    assert settings.history_max_pages == 5
    assert settings.frame_ancestors == ["'none'"]
    assert settings.id_token_max_age == 300
    assert settings.bus_url == "local://"
    assert settings.store_url.startswith("sqlite:")


def test_redis_store_with_redis_bus_origins_and_proxies_are_normalised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_env(
        monkeypatch,
        AXP_CHAT_STORE_URL=f"redis://:{REDIS_PASSWORD}@redis:6379/0?prefix=chat:",
        AXP_CHAT_BUS_URL="rediss://redis:6380",
        AXP_CHAT_ALLOWED_ORIGINS='["https://WWW.Acme.test/", "http://localhost:3000"]',
        AXP_CHAT_TRUSTED_PROXIES='["10.1.2.3/8", "::1", "10.0.0.0/8"]',
    )
    settings = load_settings()
    assert settings.allowed_origins == ["https://www.acme.test", "http://localhost:3000"]
    assert settings.trusted_proxies == ["10.0.0.0/8", "::1/128"]
    networks = settings.trusted_proxy_networks
    assert any(ip_address("10.9.8.7") in n for n in networks)
    assert not any(ip_address("192.168.1.1") in n for n in networks)


def test_no_error_or_printed_setting_repeats_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "Only-31-bytes-of-token-secret-!"
    set_env(
        monkeypatch,
        AXP_CHAT_SESSION_TOKEN_SECRET=secret,
        AXP_CHAT_STORE_URL=f"redis://:{REDIS_PASSWORD}@redis:port/0",
        AXP_CHAT_ID_TOKEN_ALGORITHM="HS256",
        AXP_CHAT_ID_TOKEN_KEY="Short-hs256-key",
    )
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert set(caught.value.problems) == {
        "AXP_CHAT_SESSION_TOKEN_SECRET",
        "AXP_CHAT_STORE_URL",
        "AXP_CHAT_ID_TOKEN_KEY",
    }
    for leaked in (secret, REDIS_PASSWORD, "Short-hs256-key"):
        assert leaked not in str(caught.value)

    set_env(
        monkeypatch,
        AXP_CHAT_STORE_URL=f"redis://chat:{REDIS_PASSWORD}@redis:6379/0",
        AXP_CHAT_BUS_URL=f"redis://chat:{REDIS_PASSWORD}@redis:6379/0",
        AXP_CHAT_ID_TOKEN_ALGORITHM=None,
        AXP_CHAT_ID_TOKEN_KEY=None,
    )
    shown = load_settings().masked()
    assert shown["AXP_CHAT_SESSION_TOKEN_SECRET"] == "********"
    assert shown["AXP_CHAT_STORE_URL"] == "redis://chat:***@redis:6379/0"
    assert REDIS_PASSWORD not in repr(shown)
    assert SESSION_TOKEN_SECRET not in repr(shown)


def test_rs256_takes_a_public_key_and_refuses_a_private_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    set_env(
        monkeypatch, AXP_CHAT_ID_TOKEN_ALGORITHM="RS256", AXP_CHAT_ID_TOKEN_KEY=public_pem.decode()
    )
    assert load_settings().id_token_algorithm == "RS256"
    found = problems(monkeypatch, AXP_CHAT_ID_TOKEN_KEY=private_pem.decode())
    assert "not a private key" in found["AXP_CHAT_ID_TOKEN_KEY"]
    assert "PRIVATE" not in found["AXP_CHAT_ID_TOKEN_KEY"].replace("private key", "")


def test_warnings_name_valid_but_weak_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, AXP_CHAT_GUEST_MODE="true")
    assert load_settings().warnings() == []
    set_env(monkeypatch, AXP_CHAT_GUEST_MODE="false", AXP_CHAT_ALLOWED_ORIGINS='["*"]')
    text = " | ".join(load_settings().warnings())
    assert "AXP_CHAT_ALLOWED_ORIGINS is *" in text
    assert "no customer can log in" in text
    set_env(
        monkeypatch,
        AXP_CHAT_ALLOWED_ORIGINS='["https://www.acme.test"]',
        AXP_CHAT_ID_TOKEN_ALGORITHM="HS256",
        AXP_CHAT_ID_TOKEN_KEY="Hs-key-of-the-site-0123456789abcdefXYZ",
        AXP_CHAT_ID_TOKEN_AUDIENCE="chat",
        AXP_CHAT_METRICS_PUBLIC="true",
    )
    found = load_settings().warnings()
    assert len(found) == 2
    assert found[0].startswith("AXP_CHAT_ID_TOKEN_ISSUER is not set")
    assert found[1].startswith("AXP_CHAT_METRICS_PUBLIC")


def test_for_emulator_supplies_a_random_session_secret_and_any_origin() -> None:
    one = Settings.for_emulator("http://127.0.0.1:9999")
    two = Settings.for_emulator("http://127.0.0.1:9999")
    assert one.allowed_origins == ["*"]
    assert len(one.session_token_secret.get_secret_value().encode()) >= 32
    assert one.session_token_secret.get_secret_value() != (
        two.session_token_secret.get_secret_value()
    )
    with pytest.raises(SettingsError) as caught:
        Settings.for_emulator("http://127.0.0.1:9999", session_token_secret="too-short")
    assert "AXP_CHAT_SESSION_TOKEN_SECRET" in caught.value.problems
