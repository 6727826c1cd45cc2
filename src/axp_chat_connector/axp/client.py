"""`AxpClient`: typed async methods for the Custom Chat and Notification operations of AXP.

Request bodies are built with the strict generated models (`*_out_gen`), answers read with the
lenient ones (`*_in_gen`). Retries, tokens and errors are handled by `Caller` (`caller.py`);
which operation may be repeated is the table in `operations.py`. Every call whose body allows it
carries a `correlationId`: the caller's, or a fresh UUID.

    async with AxpClient(settings) as axp:
        session = await axp.create_session(customer_identifiers={"emailAddresses": ["a@b.c"]})
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ValidationError

from axp_chat_connector.axp.caller import Caller, Sleep
from axp_chat_connector.axp.metrics import AxpMetrics
from axp_chat_connector.axp.models import (
    chat_in_gen,
    chat_out_gen,
    notification_in_gen,
    notification_out_gen,
)
from axp_chat_connector.axp.retry import Backoff
from axp_chat_connector.axp.tokens import Clock, TokenManager
from axp_chat_connector.config import Settings
from axp_chat_connector.errors import AxpError, BadRequest

Reason = Literal["USER_CLOSED", "USER_INACTIVE", "SYSTEM_CLOSED", "UNKNOWN"]
EventHooks = Mapping[str, list[Any]]
_In = TypeVar("_In", bound=BaseModel)


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def _out(model: type[BaseModel], data: Mapping[str, Any]) -> Any:
    """Validate a request body against Avaya's constraints; a violation is the caller's fault."""
    try:
        value = model.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise BadRequest(f"invalid {model.__name__} for AXP", detail=fields) from None
    return value.model_dump(mode="json", by_alias=True, exclude_none=True)


def _in(model: type[_In], response: httpx.Response, operation: str) -> _In:
    try:
        return model.model_validate_json(response.content)
    except ValidationError:
        raise AxpError(
            f"AXP answered {operation} with a body the connector cannot read",
            detail={"operation": operation, "status": response.status_code},
        ) from None


class AxpClient:
    """One pooled keep-alive HTTP/1.1 client for AXP, its token manager and the typed calls."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: EventHooks | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        backoff: Backoff | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        """`registry`: the app's Prometheus registry for `axp_chat_axp_call_seconds`."""
        self.settings = settings
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(
                settings.axp_read_timeout,
                connect=settings.axp_connect_timeout,
                pool=settings.axp_connect_timeout,
            ),
            limits=httpx.Limits(
                max_connections=settings.axp_max_connections,
                max_keepalive_connections=settings.axp_max_connections,
                keepalive_expiry=30.0,
            ),
            event_hooks=dict(event_hooks or {}),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: only `axp_proxy_url`
            proxy=settings.axp_proxy_url,
        )
        metrics = AxpMetrics(registry) if registry is not None else None
        self.tokens = TokenManager(
            settings,
            self._http,
            clock=clock,
            fetched=None if metrics is None else metrics.token_fetched,
        )
        self._caller = Caller(
            settings,
            self._http,
            self.tokens,
            clock=clock,
            sleep=sleep,
            backoff=backoff,
            metrics=metrics,
        )

    async def aclose(self) -> None:
        await self.tokens.aclose()
        await self._http.aclose()

    async def __aenter__(self) -> AxpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- Custom Chat: sessions -----------------------------------------------------------------
    async def create_session(
        self,
        *,
        customer_identifiers: Mapping[str, Sequence[str]],
        display_name: str | None = None,
        session_parameters: Mapping[str, str] | None = None,
        provider_customer_id: str | None = None,
        correlation_id: str | None = None,
    ) -> chat_in_gen.SessionCreated:
        correlation_id = correlation_id or new_correlation_id()
        body = _out(
            chat_out_gen.CreateSession,
            {
                "accountId": self.settings.axp_account_id,
                "channelProviderId": self.settings.axp_channel_provider_id,
                "customerIdentifiers": {k: list(v) for k, v in customer_identifiers.items()},
                "displayName": display_name,
                "sessionParameters": dict(session_parameters) if session_parameters else None,
                "providerCustomerId": provider_customer_id,
                "correlationId": correlation_id,
            },
        )
        response = await self._caller.call(
            "createDigitalSession", json=body, correlation_id=correlation_id
        )
        return _in(chat_in_gen.SessionCreated, response, "createDigitalSession")

    async def get_session(self, session_id: str) -> chat_in_gen.Session:
        response = await self._caller.call("getDigitalSession", path={"sessionId": session_id})
        return _in(chat_in_gen.Session, response, "getDigitalSession")

    async def delete_session(self, session_id: str, reason: Reason) -> None:
        """Delete the session; `reason` is required by AXP (Q16), so it is required here too."""
        await self._caller.call(
            "deleteDigitalSession", path={"sessionId": session_id}, params={"reason": reason}
        )

    async def append_identifiers(
        self, session_id: str, identifiers: Mapping[str, Sequence[str]]
    ) -> chat_in_gen.Session:
        body = _out(chat_out_gen.CustomerIdentifiers, {k: list(v) for k, v in identifiers.items()})
        response = await self._caller.call(
            "appendIdentifiersInDigitalSession", path={"sessionId": session_id}, json=body
        )
        return _in(chat_in_gen.Session, response, "appendIdentifiersInDigitalSession")

    async def update_session_parameters(
        self, session_id: str, parameters: Mapping[str, str]
    ) -> chat_in_gen.Session:
        body = _out(chat_out_gen.SessionParameters, dict(parameters))
        response = await self._caller.call(
            "updateSessionParametersInDigitalSession", path={"sessionId": session_id}, json=body
        )
        return _in(chat_in_gen.Session, response, "updateSessionParametersInDigitalSession")

    # -- Custom Chat: engagements --------------------------------------------------------------
    async def create_engagement(
        self,
        *,
        session_id: str,
        provider_dialog_id: str | None = None,
        channel_id: str = "Chat",
        conversation: str | None = None,
        engagement_parameters: Mapping[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> chat_in_gen.EngagementCreated:
        """Create an engagement (or a new dialog on the customer's engagement).

        Unsafe to repeat: a lost answer raises `AxpOutcomeUnknown`; look for the dialog with
        `list_engagements(session_id)` (by `provider_dialog_id`) before creating it again.
        """
        correlation_id = correlation_id or new_correlation_id()
        body = _out(
            chat_out_gen.CreateEngagement,
            {
                "sessionId": session_id,
                "channelId": channel_id,
                "conversation": conversation,
                "providerDialogId": provider_dialog_id,
                "engagementParameters": dict(engagement_parameters)
                if engagement_parameters
                else None,
                "correlationId": correlation_id,
            },
        )
        response = await self._caller.call(
            "createDigitalEngagement", json=body, correlation_id=correlation_id
        )
        return _in(chat_in_gen.EngagementCreated, response, "createDigitalEngagement")

    async def list_engagements(self, session_id: str) -> list[chat_in_gen.Engagement]:
        response = await self._caller.call(
            "listDigitalEngagements", params={"sessionId": session_id}
        )
        return _in(chat_in_gen.Engagements, response, "listDigitalEngagements").root

    async def get_engagement(self, engagement_id: str) -> chat_in_gen.Engagement:
        response = await self._caller.call(
            "getDigitalEngagement", path={"engagementId": engagement_id}
        )
        return _in(chat_in_gen.Engagement, response, "getDigitalEngagement")

    async def disconnect_engagement(
        self,
        engagement_id: str,
        *,
        session_id: str,
        dialog_id: str,
        reason: Reason,
        correlation_id: str | None = None,
    ) -> chat_in_gen.DisconnectEngagement:
        correlation_id = correlation_id or new_correlation_id()
        body = _out(
            chat_out_gen.DisconnectEngagement,
            {
                "sessionId": session_id,
                "dialogId": dialog_id,
                "reason": reason,
                "correlationId": correlation_id,
            },
        )
        response = await self._caller.call(
            "disconnectDigitalEngagement",
            path={"engagementId": engagement_id},
            json=body,
            correlation_id=correlation_id,
        )
        return _in(chat_in_gen.DisconnectEngagement, response, "disconnectDigitalEngagement")

    async def join_engagement(
        self,
        engagement_id: str,
        *,
        session_id: str,
        dialog_id: str,
        correlation_id: str | None = None,
    ) -> chat_in_gen.JoinEngagementResponse:
        correlation_id = correlation_id or new_correlation_id()
        body = _out(
            chat_out_gen.JoinEngagement,
            {"sessionId": session_id, "dialogId": dialog_id, "correlationId": correlation_id},
        )
        response = await self._caller.call(
            "joinDigitalEngagement",
            path={"engagementId": engagement_id},
            json=body,
            correlation_id=correlation_id,
        )
        return _in(chat_in_gen.JoinEngagementResponse, response, "joinDigitalEngagement")

    # -- Custom Chat: messages -----------------------------------------------------------------
    async def list_messages(
        self,
        engagement_id: str,
        *,
        session_id: str,
        dialog_id: str,
        page_number: int = 1,
        page_size: int = 10,
    ) -> chat_in_gen.Messages:
        """One page of the active dialog's messages (AXP asks not to poll this)."""
        response = await self._caller.call(
            "listDigitalMessages",
            path={"engagementId": engagement_id},
            params={
                "dialogId": dialog_id,
                "sessionId": session_id,
                "pageNumber": page_number,
                "pageSize": page_size,
            },
        )
        return _in(chat_in_gen.Messages, response, "listDigitalMessages")

    async def send_message(
        self,
        engagement_id: str,
        *,
        session_id: str,
        dialog_id: str,
        body: str | Mapping[str, Any],
        provider_message_id: str | None = None,
        sender_name: str | None = None,
        fallback_text: str | None = None,
        custom_data: Mapping[str, str] | None = None,
        parent_message_id: str | None = None,
        provider_parent_message_id: str | None = None,
        correlation_id: str | None = None,
    ) -> chat_in_gen.SendMessageResponse:
        """Send a message (`body`: plain text, or a BodyElement object).

        Unsafe to repeat: a lost answer raises `AxpOutcomeUnknown`; settle it by the MESSAGES
        callback carrying `provider_message_id`, or by `list_messages`, before sending again.
        """
        correlation_id = correlation_id or new_correlation_id()
        element = (
            {"elementType": "text", "elementText": {"text": body, "textFormat": "PLAINTEXT"}}
            if isinstance(body, str)
            else dict(body)
        )
        payload = _out(
            chat_out_gen.SendMessage,
            {
                "sessionId": session_id,
                "dialogId": dialog_id,
                "body": element,
                "fallbackText": fallback_text,
                "customData": dict(custom_data) if custom_data else None,
                "senderParticipantName": sender_name,
                "parentMessageId": parent_message_id,
                "providerMessageId": provider_message_id,
                "providerParentMessageId": provider_parent_message_id,
                "correlationId": correlation_id,
            },
        )
        response = await self._caller.call(
            "sendDigitalMessage",
            path={"engagementId": engagement_id},
            json=payload,
            correlation_id=correlation_id,
        )
        return _in(chat_in_gen.SendMessageResponse, response, "sendDigitalMessage")

    # -- Notification: webhook subscriptions ---------------------------------------------------
    def _subscription(self, callback_url: str, event_types: Sequence[str]) -> Any:
        return _out(
            notification_out_gen.Subscription,
            {
                "channelProviderId": self.settings.axp_channel_provider_id,
                "callbackUrl": callback_url,
                "eventTypes": list(event_types),
            },
        )

    async def create_subscription(
        self, *, callback_url: str, event_types: Sequence[str]
    ) -> notification_in_gen.Subscription:
        """Subscribe `callback_url` (our channelProviderId). Unsafe to repeat: see provisioning."""
        response = await self._caller.call(
            "createDigitalWebhookSubscription",
            json=self._subscription(callback_url, event_types),
        )
        return _in(notification_in_gen.Subscription, response, "createDigitalWebhookSubscription")

    async def list_subscriptions(
        self, *, all_providers: bool = False
    ) -> list[notification_in_gen.Subscription]:
        """Subscriptions of our channelProviderId (of every provider with `all_providers`)."""
        params = (
            None if all_providers else {"channelProviderId": self.settings.axp_channel_provider_id}
        )
        response = await self._caller.call("listDigitalWebhookSubscriptions", params=params)
        return _in(
            notification_in_gen.Subscriptions, response, "listDigitalWebhookSubscriptions"
        ).root

    async def get_subscription(self, subscription_id: str) -> notification_in_gen.Subscription:
        response = await self._caller.call(
            "getDigitalWebhookSubscription", path={"subscriptionId": subscription_id}
        )
        return _in(notification_in_gen.Subscription, response, "getDigitalWebhookSubscription")

    async def update_subscription(
        self, subscription_id: str, *, callback_url: str, event_types: Sequence[str]
    ) -> notification_in_gen.Subscription:
        """Replace a subscription's callback URL and event types (PUT: safe to repeat)."""
        body = self._subscription(callback_url, event_types)  # subscriptionId is read-only
        response = await self._caller.call(
            "updateDigitalWebhookSubscription", path={"subscriptionId": subscription_id}, json=body
        )
        return _in(notification_in_gen.Subscription, response, "updateDigitalWebhookSubscription")

    async def delete_subscription(self, subscription_id: str) -> None:
        await self._caller.call(
            "deleteDigitalWebhookSubscription", path={"subscriptionId": subscription_id}
        )
