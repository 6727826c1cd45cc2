"""Emulator settings: one object, validated up front (env prefix `AXP_EMULATOR_`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from axp_chat_connector.emulator.delivery import RetryPolicy

ACCOUNT_PATTERN = r"^[a-zA-Z]{6}$"


class EmulatorSettings(BaseSettings):
    """What the emulator needs; every field can be set from `AXP_EMULATOR_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="AXP_EMULATOR_", extra="ignore")

    account_id: str = Field(
        "ABCDEF", pattern=ACCOUNT_PATTERN, description="The AXP account id (6 letters)."
    )
    client_id: str = Field(
        "axp-chat-connector", min_length=1, description="OAuth2 client id accepted."
    )
    client_secret: SecretStr = Field(
        SecretStr("emulator-client-secret"), description="OAuth2 client secret accepted."
    )
    app_key: SecretStr = Field(
        SecretStr("emulator-app-key"), description="Value required in the `appkey` header."
    )
    token_ttl: float = Field(900, gt=0, description="Access token lifetime in seconds.")
    allow_http_callbacks: bool = Field(
        False, description="Accept http:// callback URLs on loopback hosts (https always)."
    )
    rate_limit_per_second: float | None = Field(
        None, gt=0, description="Digital API calls per second per account (429 beyond)."
    )
    greeting_bot: bool = Field(False, description="A BOT joins each new dialog and greets.")
    auto_agent: bool = Field(False, description="An agent accepts new dialogs and answers.")
    auto_agent_delay: float = Field(
        2.0, ge=0, description="Seconds before the auto-agent accepts a new dialog."
    )
    webhook_timeout: float = Field(5.0, gt=0, description="Seconds allowed per webhook POST.")
    webhook_attempts: int = Field(6, ge=1, description="Webhook attempts, first one included.")
    webhook_backoff_base: float = Field(
        1.0, ge=0, description="Seconds before the 2nd webhook attempt (doubled each time)."
    )
    webhook_backoff_max: float = Field(60.0, ge=0, description="Longest delay between attempts.")

    @field_validator("client_secret", "app_key")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty")
        return value

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            timeout=self.webhook_timeout,
            attempts=self.webhook_attempts,
            base_delay=self.webhook_backoff_base,
            max_delay=self.webhook_backoff_max,
        )
