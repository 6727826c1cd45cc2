"""The AXP half of the settings: the tenant, the connector as AXP reaches it, AXP call budgets.

`AxpSettings` is the base of `config.Settings` (which adds the connector's own parts and reads
the environment); its fields come first in docs/settings.md. Kept apart so that each module stays
one readable concept.
"""

from __future__ import annotations

import string
from typing import Final
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from axp_chat_connector.config_values import check_base, is_placeholder

CALLBACK_PATH: Final = "/v1/axp/callback/"
MIN_CALLBACK_SECRET_LENGTH: Final = 32
MAX_CALLBACK_URL_LENGTH: Final = 2048
DEFAULT_TOKEN_URL: Final = "{base_url}/api/auth/v1/{account_id}/protocol/openid-connect/token"  # noqa: S105

_TOKEN_URL_FIELDS: Final = frozenset({"base_url", "account_id"})


class AxpSettings(BaseModel):
    """How the connector reaches AXP and how AXP reaches it."""

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
    callback_secret_previous: SecretStr | None = Field(
        None,
        description=(
            "While rotating `AXP_CHAT_CALLBACK_SECRET`: the secret before it; callbacks to its "
            "URL are still accepted until `provision --prune` has removed that subscription."
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

    # -- validation ----------------------------------------------------------------------------
    @field_validator("axp_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return check_base(value, "the AXP API")

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return check_base(value, "the connector")

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
        if is_placeholder(value):
            raise ValueError("expected the real value, not a placeholder")
        return value

    @field_validator("axp_client_secret", "axp_app_key")
    @classmethod
    def _real_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if not raw:
            raise ValueError("must not be empty")
        if is_placeholder(raw):
            raise ValueError("expected the real secret, not a placeholder")
        return SecretStr(raw)

    @field_validator("callback_secret", "callback_secret_previous")
    @classmethod
    def _callback_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if len(raw) < MIN_CALLBACK_SECRET_LENGTH:
            raise ValueError(
                f"expected at least {MIN_CALLBACK_SECRET_LENGTH} characters (got {len(raw)})"
            )
        allowed = set(string.ascii_letters + string.digits + "-_")
        if not set(raw) <= allowed:
            raise ValueError("expected URL-safe characters only (A-Z, a-z, 0-9, '-', '_')")
        if is_placeholder(raw) or len(set(raw)) < 8:
            raise ValueError("expected a long random value, not a placeholder")
        return SecretStr(raw)

    @field_validator("axp_proxy_url")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http(s) proxy URL, e.g. http://proxy:3128")
        return value.strip()

    @model_validator(mode="after")
    def _callback_url_fits(self) -> AxpSettings:
        if len(self.callback_url.get_secret_value()) > MAX_CALLBACK_URL_LENGTH:
            raise ValueError(
                f"public_url plus the callback path is longer than {MAX_CALLBACK_URL_LENGTH}"
                " characters"
            )
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
