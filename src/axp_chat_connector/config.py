"""The connector's settings: one flat `Settings` object, validated up front.

Every field is read from `AXP_CHAT_<FIELD>` (environment or a `.env` file in the working
directory). A secret field (`SecretStr`) can instead be read from a file named by
`AXP_CHAT_<FIELD>_FILE` (Docker / Kubernetes secrets); setting both is an error.

`load_settings()` is the one entry point: it raises `SettingsError`, whose message names each bad
setting and what is expected; it never exits the process. `Settings.for_emulator()` builds
settings that match the AXP emulator's defaults, for tests and the demo.

Later issues add fields here (store, transports, timers): keep the model flat, give every field a
description (docs/settings.md is generated from them by `scripts/settings_docs.py`).
"""

from __future__ import annotations

import ipaddress
import secrets
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX: Final = "AXP_CHAT_"
FILE_SUFFIX: Final = "_FILE"
CALLBACK_PATH: Final = "/v1/axp/callback/"
MIN_CALLBACK_SECRET_LENGTH: Final = 32
DEFAULT_TOKEN_URL: Final = "{base_url}/api/auth/v1/{account_id}/protocol/openid-connect/token"  # noqa: S105

# Values copied from examples and templates that must never reach a real tenant. The words are
# long enough that a random secret does not contain one by chance.
_PLACEHOLDER_WORDS: Final = (
    "changeme",
    "change-me",
    "change_me",
    "replace",
    "placeholder",
    "example",
    "your-",
    "your_",
    "host-region",
)
_PLACEHOLDER_VALUES: Final = frozenset({"todo", "tbd", "secret", "password", "none", "null"})
_LOOPBACK_NAMES: Final = frozenset({"localhost"})
_TOKEN_URL_FIELDS: Final = frozenset({"base_url", "account_id"})


class SettingsError(ValueError):
    """Settings are missing or invalid; the message names each bad setting, one per line."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        lines = [f"  {name}: {what}" for name, what in self.problems.items()]
        super().__init__("invalid settings:\n" + "\n".join(lines))


def env_name(field: str) -> str:
    """The environment variable that sets `field`."""
    return f"{ENV_PREFIX}{field.upper()}"


def _is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return (
        any(word in lowered for word in _PLACEHOLDER_WORDS)
        or lowered in _PLACEHOLDER_VALUES
        or not lowered.strip("x*.-_0 ")
        or "<" in value
        or ">" in value
    )


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_base(value: str, what: str) -> str:
    """An http(s) origin with an optional path prefix; http only on loopback; no trailing `/`."""
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an https URL of {what}, e.g. https://example.com")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"expected https for {what} (http is allowed on loopback hosts only)")
    if parts.query or parts.fragment:
        raise ValueError(f"expected {what} without a query or fragment")
    if _is_placeholder(value):
        raise ValueError(f"expected the real URL of {what}, not a placeholder")
    return value


class _FileSecretsSource(PydanticBaseSettingsSource):
    """Reads `AXP_CHAT_<SECRET>_FILE` for every `SecretStr` field (Docker/Kubernetes secrets)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str | None]) -> None:
        super().__init__(settings_cls)
        self._env = {k.upper(): v for k, v in env.items() if v is not None}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            if field.annotation not in (SecretStr, SecretStr | None):
                continue
            file_var = env_name(name) + FILE_SUFFIX
            path = self._env.get(file_var)
            if path is None:
                continue
            if env_name(name) in self._env:
                raise SettingsError({file_var: f"set either {env_name(name)} or {file_var}"})
            try:
                values[name] = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(
                    {file_var: f"expected a readable file ({exc.strerror or exc})"}
                ) from None
        return values


class Settings(BaseSettings):
    """Everything the connector needs; each field is set by `AXP_CHAT_<FIELD>`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    # -- AXP tenant -------------------------------------------------------------------------
    axp_base_url: str = Field(
        description=(
            "AXP API base URL, `https://{region}.api.avayacloud.com` (no path, no trailing `/`)."
        ),
    )
    axp_token_url: str = Field(
        DEFAULT_TOKEN_URL,
        description=(
            "Token endpoint template; `{base_url}` and `{account_id}` are filled in. Avaya also "
            "documents `{base_url}/auth/realms/{account_id}/protocol/openid-connect/token`."
        ),
    )
    axp_account_id: str = Field(
        description="AXP account id: exactly 6 letters, e.g. `ABCDEF`.",
    )
    axp_client_id: str = Field(
        description="OAuth2 client id of the connector's AXP API client.",
    )
    axp_client_secret: SecretStr = Field(
        description="OAuth2 client secret of that client.",
    )
    axp_app_key: SecretStr = Field(
        description="AXP application key, sent in the `appkey` header on every call.",
    )
    axp_send_app_key: bool = Field(
        True,
        description="Send the `appkey` header (Avaya's `cc.avayacloud.com` samples omit it).",
    )
    axp_channel_api_version: str = Field(
        "v1",
        pattern=r"^v[0-9]+[a-z0-9]*$",
        description="Custom Chat API version in `/api/digital/channel/{version}`.",
    )
    axp_webhook_api_version: str = Field(
        "v1",
        pattern=r"^v[0-9]+[a-z0-9]*$",
        description="Notification API version in `/api/digital/webhook/{version}`.",
    )
    axp_channel_provider_id: str = Field(
        min_length=3,
        max_length=256,
        description=(
            "`channelProviderId` of the Chat element in AXP Element Inventory (3-256 characters)."
        ),
    )

    # -- the connector as seen by AXP ---------------------------------------------------------
    public_url: str = Field(
        description=(
            "The connector's public https base URL as AXP reaches it, e.g. "
            "`https://chat.example.com`; callbacks go to `{public_url}/v1/axp/callback/{secret}`."
        ),
    )
    callback_secret: SecretStr = Field(
        description=(
            f"Random secret in the callback URL: at least {MIN_CALLBACK_SECRET_LENGTH} URL-safe "
            "characters, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        ),
    )

    # -- AXP calls: timeouts and retry budget -----------------------------------------------
    axp_connect_timeout: float = Field(
        5.0, gt=0, description="Seconds to open a connection to AXP."
    )
    axp_read_timeout: float = Field(
        10.0, gt=0, description="Seconds to wait for each read of an AXP answer."
    )
    axp_attempt_timeout: float = Field(
        15.0, gt=0, description="Seconds allowed for one AXP request, start to end."
    )
    axp_retry_deadline: float = Field(
        30.0, gt=0, description="Seconds allowed for one AXP call, all its retries included."
    )
    axp_retry_attempts: int = Field(
        5, ge=1, le=20, description="Attempts per AXP call, the first one included."
    )
    axp_backoff_base: float = Field(
        0.25, ge=0, description="Seconds before the 2nd attempt (doubled each time, jittered)."
    )
    axp_backoff_max: float = Field(
        8.0, ge=0, description="Longest delay between two attempts (a longer `Retry-After` wins)."
    )
    axp_token_backoff_base: float = Field(
        1.0,
        ge=0,
        description="Seconds the token manager waits after a failed token request (doubled).",
    )
    axp_token_backoff_max: float = Field(
        60.0, ge=0, description="Longest wait between two failed token requests."
    )
    axp_max_connections: int = Field(
        100, ge=1, description="Most simultaneous connections to AXP (pooled, keep-alive)."
    )
    axp_proxy_url: str | None = Field(
        None,
        description="HTTP(S) proxy for calls to AXP, e.g. `http://proxy:3128` (none: direct).",
    )

    # -- the connector's own parts ------------------------------------------------------------
    store_url: str = Field(
        "sqlite:///axp-chat-connector.db",
        description=(
            "Where sessions and events are kept: `sqlite:///path.db` (embedded default) or "
            "`redis://host:6379/0` (many instances)."
        ),
    )
    bus_url: str = Field(
        "local://",
        description="How instances tell each other of new events: `local://` or `redis://…`.",
    )
    session_token_secret: SecretStr | None = Field(
        None,
        description=(
            "Secret (32+ bytes) signing the clients' session tokens; the same on every "
            "instance. Required by `serve`; `demo` makes a random one."
        ),
    )
    session_token_ttl: float = Field(86400.0, ge=10, description="Session token lifetime (s).")
    guest_mode: bool = Field(
        False,
        description="Allow `login` with unverified pre-chat data (on in `demo`, off by default).",
    )
    identifier_kinds: list[str] = Field(
        default_factory=lambda: ["emailAddresses", "phoneNumbers"],
        description="Customer identifier names configured in the tenant's Customer Journey.",
    )
    id_token_algorithm: Literal["HS256", "RS256"] | None = Field(
        None, description="Verified mode: how the site signs its `idToken` JWTs."
    )
    id_token_key: SecretStr | None = Field(
        None, description="Verified mode: the HS256 shared secret or the RS256 public key (PEM)."
    )
    id_token_issuer: str | None = Field(None, description="Verified mode: required `iss`.")
    id_token_audience: str | None = Field(None, description="Verified mode: required `aud`.")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to open WebSockets and long polls (empty: any).",
    )
    heartbeat: int = Field(25, ge=5, description="Seconds between WebSocket pings.")
    max_frame_bytes: int = Field(65536, ge=1024, description="Largest client frame (bytes).")
    chat_idle_timeout: float = Field(
        600.0, gt=0, description="Seconds without a customer message before the chat ends."
    )
    idle_warning: float = Field(
        60.0, gt=0, description="Seconds before that end when `chat.idle` warns the customer."
    )
    session_idle_timeout: float = Field(
        900.0, gt=0, description="Seconds with no connection and no command before logout."
    )
    event_retention_count: int = Field(1000, ge=10, description="Events kept per session.")
    event_retention_age: float = Field(86400.0, gt=0, description="Oldest event kept (s).")
    message_hold_window: float = Field(
        1.0, ge=0, description="Seconds a message waits for a missing earlier `messageIndex`."
    )
    park_ttl: float = Field(
        60.0, gt=0, description="Seconds an event for a chat not recorded yet is kept."
    )
    webhook_max_bytes: int = Field(
        4 * 1024 * 1024, ge=1024 * 1024, description="Largest webhook body accepted (bytes)."
    )
    log_format: Literal["json", "console"] = Field("json", description="Log line format.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least severe log level written."
    )

    _secret_fields: ClassVar[tuple[str, ...]] = (
        "axp_client_secret",
        "axp_app_key",
        "callback_secret",
        "session_token_secret",
        "id_token_key",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env: dict[str, str | None] = {}
        for source in (dotenv_settings, env_settings):  # the environment wins over `.env`
            if isinstance(source, EnvSettingsSource):
                env.update(source.env_vars)
        return (
            init_settings,
            env_settings,
            _FileSecretsSource(settings_cls, env),
            dotenv_settings,
        )

    # -- validation ----------------------------------------------------------------------------
    @field_validator("axp_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _check_base(value, "the AXP API")

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _check_base(value, "the connector")

    @field_validator("axp_token_url")
    @classmethod
    def _token_url(cls, value: str) -> str:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name}
        if not names <= _TOKEN_URL_FIELDS:
            unknown = ", ".join(sorted(names - _TOKEN_URL_FIELDS))
            raise ValueError(
                f"unknown placeholder(s) {unknown}: only {{base_url}} and {{account_id}} are known"
            )
        return value

    @field_validator("axp_account_id")
    @classmethod
    def _account_id(cls, value: str) -> str:
        if len(value) != 6 or not value.isascii() or not value.isalpha():
            raise ValueError("expected exactly 6 letters (A-Z, a-z), e.g. ABCDEF")
        return value

    @field_validator("axp_client_id", "axp_channel_provider_id")
    @classmethod
    def _real_value(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        if _is_placeholder(value):
            raise ValueError("expected the real value, not a placeholder")
        return value

    @field_validator("axp_client_secret", "axp_app_key")
    @classmethod
    def _real_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if not raw:
            raise ValueError("must not be empty")
        if _is_placeholder(raw):
            raise ValueError("expected the real secret, not a placeholder")
        return SecretStr(raw)

    @field_validator("callback_secret")
    @classmethod
    def _callback_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if len(raw) < MIN_CALLBACK_SECRET_LENGTH:
            raise ValueError(
                f"expected at least {MIN_CALLBACK_SECRET_LENGTH} characters (got {len(raw)})"
            )
        allowed = set(string.ascii_letters + string.digits + "-_")
        if not set(raw) <= allowed:
            raise ValueError("expected URL-safe characters only (A-Z, a-z, 0-9, '-', '_')")
        if _is_placeholder(raw) or len(set(raw)) < 8:
            raise ValueError("expected a long random value, not a placeholder")
        return SecretStr(raw)

    @model_validator(mode="after")
    def _callback_url_fits(self) -> Settings:
        if len(self.callback_url.get_secret_value()) > 2048:
            raise ValueError("public_url plus the callback path is longer than 2048 characters")
        return self

    # -- derived values ------------------------------------------------------------------------
    @property
    def token_url(self) -> str:
        return self.axp_token_url.format(base_url=self.axp_base_url, account_id=self.axp_account_id)

    @property
    def channel_api_url(self) -> str:
        """Custom Chat base: `.../api/digital/channel/v1/accounts/{accountId}`."""
        return (
            f"{self.axp_base_url}/api/digital/channel/{self.axp_channel_api_version}"
            f"/accounts/{self.axp_account_id}"
        )

    @property
    def webhook_api_url(self) -> str:
        """Notification base: `.../api/digital/webhook/v1/accounts/{accountId}`."""
        return (
            f"{self.axp_base_url}/api/digital/webhook/{self.axp_webhook_api_version}"
            f"/accounts/{self.axp_account_id}"
        )

    @property
    def callback_url(self) -> SecretStr:
        """Where AXP posts events; a secret, since it carries `callback_secret`."""
        return SecretStr(
            f"{self.public_url}{CALLBACK_PATH}{self.callback_secret.get_secret_value()}"
        )

    @property
    def callback_url_masked(self) -> str:
        return f"{self.public_url}{CALLBACK_PATH}***"

    def masked(self) -> dict[str, str]:
        """Every setting as its env var name and a printable value, secrets masked."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            out[env_name(name)] = "********" if isinstance(value, SecretStr) else str(value)
        return out

    # -- factories -----------------------------------------------------------------------------
    @classmethod
    def for_emulator(cls, base_url: str, **overrides: Any) -> Settings:
        """Settings for the AXP emulator at `base_url`, ignoring the environment and `.env`.

        Matches `EmulatorSettings` defaults (account `ABCDEF`, client `axp-chat-connector`,
        secret `emulator-client-secret`, app key `emulator-app-key`); the callback secret is
        random unless given.
        """
        values: dict[str, Any] = {
            "axp_base_url": base_url,
            "axp_account_id": "ABCDEF",
            "axp_client_id": "axp-chat-connector",
            "axp_client_secret": "emulator-client-secret",
            "axp_app_key": "emulator-app-key",
            "axp_channel_provider_id": "axp-chat-connector",
            "public_url": "http://127.0.0.1:8080",
            "callback_secret": secrets.token_urlsafe(32),
        }
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise _settings_error(exc) from None


def _settings_error(exc: ValidationError) -> SettingsError:
    problems: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        loc = error["loc"]
        name = env_name(str(loc[0])) if loc else "settings"
        field = Settings.model_fields.get(str(loc[0])) if loc else None
        if error["type"] == "missing":
            what = "missing; " + (field.description if field and field.description else "")
        else:
            what = str(error["msg"]).removeprefix("Value error, ")
            if field is not None and field.description and error["type"] != "value_error":
                what += f" ({field.description})"
        problems[name] = what.strip().rstrip(";")
    return SettingsError(problems)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment, `.env` and `*_FILE` secrets; `overrides` win.

    Raises `SettingsError` naming every bad or missing setting; never exits the process.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise _settings_error(exc) from None
