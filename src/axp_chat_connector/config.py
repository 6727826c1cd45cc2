"""The connector's settings: one flat `Settings` object, validated up front.

Every field is read from `AXP_CHAT_<FIELD>` (environment or a `.env` file in the working
directory). A secret field (`SecretStr`) can instead be read from a file named by
`AXP_CHAT_<FIELD>_FILE` (Docker / Kubernetes secrets); setting both is an error.

`load_settings()` is the one entry point: it raises `SettingsError`, whose message names each bad
setting and what is expected; it never exits the process. `Settings.for_emulator()` builds
settings that match the AXP emulator's defaults, for tests and the demo.

The AXP half (tenant, callback URL, AXP call budgets) is `config_axp.AxpSettings`, a base of
`Settings`; who may connect and how much (origins, framing, proxies, rates, `/metrics`) is
`config_clients.ClientSettings`, its other base; the checks of single values (URLs, origins,
networks, secrets, keys) are in `config_values`. Cross-setting rules live in the validator of
the later field (a Redis store needs a Redis bus: `bus_url`'s validator; verified mode takes an
algorithm and a key: `id_token_key`'s). `Settings.warnings()` names valid but weak choices. Give
every field a description (docs/settings.md is generated from them by `scripts/settings_docs.py`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as SourceError

from axp_chat_connector.config_axp import CALLBACK_PATH as CALLBACK_PATH  # re-exported
from axp_chat_connector.config_axp import AxpSettings
from axp_chat_connector.config_clients import ClientSettings
from axp_chat_connector.config_values import (
    ANY_ORIGIN,
    check_bus_url,
    check_id_token_key,
    check_random_secret,
    check_store_url,
    is_redis,
    masked_url,
)

ENV_PREFIX: Final = "AXP_CHAT_"
FILE_SUFFIX: Final = "_FILE"
MIN_SESSION_TOKEN_SECRET_BYTES: Final = 32
MIN_HS256_KEY_BYTES: Final = 32  # RFC 7518 §3.2: a key at least as long as the hash output
AXP_IDENTIFIER_KINDS_MAX: Final = 10  # CustomerIdentifiers maxProperties (Custom Chat spec)
AXP_IDENTIFIER_KIND_MAX: Final = 50  # "the maximum length of an identifier key is 50"

_URL_FIELDS: Final = ("store_url", "bus_url", "axp_proxy_url")


class SettingsError(ValueError):
    """Settings are missing or invalid; the message names each bad setting, one per line."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        lines = [f"  {name}: {what}" for name, what in self.problems.items()]
        super().__init__("invalid settings:\n" + "\n".join(lines))


def env_name(field: str) -> str:
    """The environment variable that sets `field`."""
    return f"{ENV_PREFIX}{field.upper()}"


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


class Settings(BaseSettings, ClientSettings, AxpSettings):
    """Everything the connector needs; each field is set by `AXP_CHAT_<FIELD>`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    # -- the connector's own parts ------------------------------------------------------------
    store_url: str = Field(
        "sqlite:///axp-chat-connector.db",
        description=(
            "Where sessions and events are kept: `sqlite:///path.db` (embedded default, one "
            "instance) or `redis://host:6379/0` (several instances; needs a Redis bus)."
        ),
    )
    bus_url: str = Field(
        "local://",
        description=(
            "How instances tell each other of new events: `local://` (this process only) or "
            "`redis://host:6379/0`; required with a Redis store (the same Redis will do)."
        ),
    )
    session_token_secret: SecretStr = Field(
        description=(
            f"Random secret ({MIN_SESSION_TOKEN_SECRET_BYTES}+ bytes) signing the clients' "
            "session tokens; the same on every instance (`demo` makes a random one)."
        ),
    )
    session_token_secret_previous: SecretStr | None = Field(
        None,
        description=(
            "While rotating `AXP_CHAT_SESSION_TOKEN_SECRET`: the secret before it. Tokens it "
            "signed are still accepted; new tokens are signed with the current secret only."
        ),
    )
    session_token_ttl: float = Field(86400.0, ge=10, description="Session token lifetime (s).")
    guest_mode: bool = Field(
        False,
        description="Allow `login` with unverified pre-chat data (on in `demo`, off by default).",
    )
    identifier_kinds: list[str] = Field(
        default_factory=lambda: ["emailAddresses", "phoneNumbers"],
        description=(
            "Customer identifier names configured in the tenant's Customer Journey "
            f"(1 to {AXP_IDENTIFIER_KINDS_MAX}, each at most {AXP_IDENTIFIER_KIND_MAX} characters)."
        ),
    )
    id_token_algorithm: Literal["HS256", "RS256"] | None = Field(
        None,
        description=(
            "Verified mode: how the site signs its `idToken` JWTs (with `AXP_CHAT_ID_TOKEN_KEY`)."
        ),
    )
    id_token_key: SecretStr | None = Field(
        None,
        description=(
            f"Verified mode: the HS256 shared secret ({MIN_HS256_KEY_BYTES}+ bytes) or the RS256 "
            "public key (PEM)."
        ),
    )
    id_token_issuer: str | None = Field(
        None, description="Verified mode: the `iss` every `idToken` must carry (none: a warning)."
    )
    id_token_audience: str | None = Field(
        None, description="Verified mode: the `aud` every `idToken` must carry (none: a warning)."
    )
    id_token_max_age: float = Field(
        300.0,
        gt=0,
        le=86400,
        description=(
            "Verified mode: oldest `idToken` accepted, seconds since its `iat` (a token "
            "without `iat` is refused)."
        ),
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
    @field_validator("session_token_secret", "session_token_secret_previous")
    @classmethod
    def _session_token_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        return SecretStr(check_random_secret(raw, MIN_SESSION_TOKEN_SECRET_BYTES))

    @field_validator("store_url")
    @classmethod
    def _store_url(cls, value: str) -> str:
        return check_store_url(value)

    @field_validator("bus_url")
    @classmethod
    def _bus_url(cls, value: str, info: ValidationInfo) -> str:
        value = check_bus_url(value)
        store_url = info.data.get("store_url")  # absent when the store URL itself is bad
        if store_url is not None and is_redis(store_url) and not is_redis(value):
            raise ValueError(
                f"a Redis store ({env_name('store_url')}) is meant for several instances, and "
                "with the local bus they would not hear of each other's events: set a "
                "redis:// bus URL (the store's Redis will do)"
            )
        return value

    @field_validator("identifier_kinds")
    @classmethod
    def _identifier_kinds(cls, value: list[str]) -> list[str]:
        if not 1 <= len(value) <= AXP_IDENTIFIER_KINDS_MAX:
            raise ValueError(f"expected 1 to {AXP_IDENTIFIER_KINDS_MAX} identifier names")
        if any(not 1 <= len(kind) <= AXP_IDENTIFIER_KIND_MAX for kind in value):
            raise ValueError(f"expected names of 1 to {AXP_IDENTIFIER_KIND_MAX} characters")
        if len(set(value)) != len(value):
            raise ValueError("expected each identifier name once")
        return value

    @field_validator("id_token_key")
    @classmethod
    def _id_token_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if "id_token_algorithm" not in info.data:
            return value  # the algorithm itself is bad, and said so
        algorithm = info.data["id_token_algorithm"]
        if algorithm is None and value is not None:
            raise ValueError(f"needs {env_name('id_token_algorithm')} (verified mode takes both)")
        if algorithm is not None and value is None:
            raise ValueError(f"missing; {env_name('id_token_algorithm')} turns verified mode on")
        if value is None:
            return None
        key = check_id_token_key(algorithm, value.get_secret_value(), MIN_HS256_KEY_BYTES)
        return SecretStr(key)

    @field_validator("id_token_issuer", "id_token_audience")
    @classmethod
    def _id_token_claim(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("expected a value, or no setting at all")
        if info.data.get("id_token_algorithm", "") is None:
            raise ValueError(f"only used in verified mode ({env_name('id_token_algorithm')})")
        return value

    def masked(self) -> dict[str, str]:
        """Every setting as its env var name and a printable value, secrets masked (URL
        passwords too)."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[env_name(name)] = "********"
            elif name in _URL_FIELDS and isinstance(value, str):
                out[env_name(name)] = masked_url(value)
            else:
                out[env_name(name)] = str(value)
        return out

    def warnings(self) -> list[str]:
        """Choices that are valid but weaken security, one sentence each (`check` prints them,
        `serve` logs them at startup)."""
        found: list[str] = []
        if self.allowed_origins == [ANY_ORIGIN]:
            found.append(
                f"{env_name('allowed_origins')} is *: pages of any site can open chats here"
            )
        if self.id_token_algorithm is not None:
            for name, claim in (("id_token_issuer", "iss"), ("id_token_audience", "aud")):
                if getattr(self, name) is None:
                    found.append(
                        f"{env_name(name)} is not set: idTokens are accepted whatever their "
                        f"`{claim}`, from anything that holds the key"
                    )
        if not self.guest_mode and self.id_token_algorithm is None:
            found.append(
                f"neither {env_name('guest_mode')} nor verified mode "
                f"({env_name('id_token_algorithm')}) is on: no customer can log in"
            )
        if self.metrics_public:
            found.append(f"{env_name('metrics_public')}: /metrics is served to the public")
        return found

    # -- factories -----------------------------------------------------------------------------
    @classmethod
    def for_emulator(cls, base_url: str, **overrides: Any) -> Settings:
        """Settings for the AXP emulator at `base_url`, ignoring the environment and `.env`.

        Matches `EmulatorSettings` defaults (account `ABCDEF`, client `axp-chat-connector`,
        secret `emulator-client-secret`, app key `emulator-app-key`); the callback and session
        token secrets are random and any origin is allowed, unless given.
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
            "session_token_secret": secrets.token_urlsafe(48),
            "allowed_origins": [ANY_ORIGIN],
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

    This is the one validation `serve`, `check` and `provision` share (`demo` builds its
    settings with `Settings.for_emulator`, through the same model). Raises `SettingsError`
    naming every bad or missing setting; never exits the process.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise _settings_error(exc) from None
    except SourceError as exc:  # a list setting that is not JSON
        raise _source_error(exc) from None


def _source_error(exc: SourceError) -> SettingsError:
    field = next((name for name in Settings.model_fields if f'"{name}"' in str(exc)), None)
    if field is None:
        return SettingsError({"settings": "a value could not be read"})
    return SettingsError({env_name(field): 'expected a JSON list, e.g. ["a", "b"]'})
