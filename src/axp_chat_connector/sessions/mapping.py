"""AXP webhook events → client events and decisions (PROTOCOL.md §3, DESIGN "Lifecycle mapping").
Pure: the inputs are the parsed event (`axp_events.py`), what the session knows of its chat
(`ChatView`) and the time; the output is a `Mapped`: decisions for the intake, in order, and
the chat view with its participants updated.

Messages carry their `index` out so that the intake can pass them through `ordering` (`Order`);
customers' own messages never become client events (their echo comes from the accepted `send`):
they settle it (`SettleOutbox`). While a chat is being started, every event that may be its
own is parked (`Park`): a bot's greeting can beat the Create Engagement answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final, assert_never

from pydantic import BaseModel

from axp_chat_connector.axp.models import chat_in_gen
from axp_chat_connector.axp.models.notification_in_gen import (
    EngagementCreatedEvent,
    EngagementErrorEvent,
    MessageEvent,
    ParticipantEvent,
    TypingEvent,
)
from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.codes import (
    ChatEndReason,
    EndedBy,
    MessageFormat,
    ParticipantType,
)
from axp_chat_connector.sessions.axp_events import (
    ENGAGEMENT_CREATION_FAILED,
    PARTICIPANT_ADDED,
    AxpEvent,
    UnknownEvent,
)
from axp_chat_connector.sessions.lifecycle import ChatState
from axp_chat_connector.sessions.sends import SendContent

_OVER: Final = frozenset({"TERMINATING", "TERMINATED"})
_LIVE: Final = frozenset({ChatState.STARTING, ChatState.OPEN, ChatState.ENDING})
_CONTACT_CENTRE: Final = frozenset(
    {ParticipantType.AGENT, ParticipantType.BOT, ParticipantType.SUPERVISOR, ParticipantType.SYSTEM}
)
"""Senders whose messages restart the chat inactivity clock."""


# ---------------------------------------------------------------------------------------------
# the chat as the mapping sees it, and what it decides


@dataclass(frozen=True, slots=True)
class ChatView:
    """What the session knows of its current (or just-ended) chat."""

    state: ChatState
    session_id: str | None = None
    """The connector session's id: our sends' `providerMessageId`s start with it and ':'."""
    engagement_id: str | None = None
    dialog_id: str | None = None
    provider_dialog_id: str | None = None
    correlation_ids: frozenset[str] = frozenset()
    """The `correlationId`s of our calls for this chat (Create Engagement first)."""
    customer_ids: frozenset[str] = frozenset()
    """The customer's participant and connection ids, when known (Create Session answers
    `participantId`): recognises the customer in events that name no participant type."""
    participants: frozenset[str] = frozenset()
    """Connection ids of the contact-centre participants present."""
    session_ending: bool = False
    """The session is ending (a logout, inactivity): the connector disconnects the chat itself
    and closes it with its own reason, so AXP's news of the participants leaving does not
    close it as the agent's doing."""

    def sent_by_us(self, provider_message_id: str | None) -> bool:
        """Whether a customer message is one of our sends (whether settled yet or not)."""
        prefix = f"{self.session_id}:"
        return self.session_id is not None and (provider_message_id or "").startswith(prefix)


@dataclass(frozen=True, slots=True)
class Emit:
    """Append this durable event to the session's log."""

    event: events.Event


@dataclass(frozen=True, slots=True)
class Order:
    """Pass this message through the dialog's messageIndex hold (`Mapped.index`,
    `Mapped.dialog_id`) and append what comes out; None: a message not to show (the
    customer's) whose index the hold must still see go by."""

    event: events.Event | None


@dataclass(frozen=True, slots=True)
class ArmChatIdle:
    """The contact centre spoke: restart the chat inactivity clock."""


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send this ephemeral event to the connections open now; keep nothing."""

    event: events.Event


@dataclass(frozen=True, slots=True)
class EndChat:
    """The chat is over: step the lifecycle with CHAT_CLOSED; if it proceeds, append `event`."""

    event: events.Event


@dataclass(frozen=True, slots=True)
class CheckEngagement:
    """The last contact-centre participant left, or AXP reported an error: Get Engagement,
    then `chat_over(engagement, dialog_id)` decides whether to end the chat (agent,
    AGENT_CLOSED)."""

    engagement_id: str
    dialog_id: str


@dataclass(frozen=True, slots=True)
class SettleOutbox:
    """AXP has our send `provider_message_id`: it is delivered (even if its answer was lost).
    Echo it through the hold unless it was settled already (then: `Order(None)`)."""

    provider_message_id: str
    index: int | None
    message_id: str | None
    content: SendContent
    """What AXP says was sent (the echo shows it)."""


@dataclass(frozen=True, slots=True)
class ConfirmStart:
    """ENGAGEMENT_CREATED for the dialog we are starting (useful when the answer was lost)."""

    engagement_id: str
    dialog_id: str


@dataclass(frozen=True, slots=True)
class Park:
    """The event belongs to the chat being started, whose dialog is not known yet: keep it and
    map it again once the chat is recorded."""


Decision = (
    Emit | Order | ArmChatIdle | Broadcast | EndChat | CheckEngagement | SettleOutbox | ConfirmStart
) | Park


@dataclass(frozen=True, slots=True)
class Mapped:
    chat: ChatView
    decisions: tuple[Decision, ...] = ()
    index: int | None = None
    """MESSAGES only: AXP's `messageIndex`, to pass the decisions through `ordering`."""
    dialog_id: str | None = None
    """MESSAGES only: the dialog whose hold the decisions go through."""


def map_event(event: AxpEvent | UnknownEvent, chat: ChatView, now: datetime) -> Mapped:
    """What one (deduplicated, routed) AXP event means for the session's chat."""
    match event:
        case MessageEvent():
            return _message(event, chat, now)
        case ParticipantEvent():
            return _participant(event, chat, now)
        case TypingEvent():
            return _typing(event, chat, now)
        case EngagementErrorEvent():
            return _engagement_error(event, chat, now)
        case EngagementCreatedEvent():
            return _engagement_created(event, chat)
        case UnknownEvent():
            return Mapped(chat)
        case _:  # pragma: no cover - exhaustive
            assert_never(event)


def _belongs(
    chat: ChatView,
    dialog_id: str | None,
    provider_dialog_id: str | None,
    correlation_id: str | None = None,
) -> bool | None:
    """Whether the event is about this chat's dialog; None: cannot tell yet."""
    if chat.state is ChatState.NONE:
        return False
    if chat.dialog_id is not None and dialog_id is not None:
        return chat.dialog_id == dialog_id
    if chat.provider_dialog_id is not None and provider_dialog_id is not None:
        return chat.provider_dialog_id == provider_dialog_id
    if correlation_id is not None and correlation_id in chat.correlation_ids:
        return True
    return None


def _unmatched(chat: ChatView, belongs: bool | None) -> Mapped | None:
    """None when the event is this chat's and the chat is not starting; else what to do."""
    if chat.state is ChatState.STARTING and belongs is not False:
        return Mapped(chat, (Park(),))
    if belongs is True:
        return None
    return Mapped(chat)


def _is_customer(chat: ChatView, type_: str | None, *ids: str | None) -> bool | None:
    if type_ is not None:
        return type_ == ParticipantType.CUSTOMER
    if any(i is not None and i in chat.customer_ids for i in ids):
        return True
    return None


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _message(event: MessageEvent, chat: ChatView, now: datetime) -> Mapped:
    ignored = _unmatched(chat, _belongs(chat, event.dialogId, event.providerDialogId))
    if ignored is not None:
        return ignored
    index = event.messageIndex
    if event.senderParticipantType == ParticipantType.CUSTOMER:
        pmid = event.providerMessageId
        if pmid is not None and chat.sent_by_us(pmid):
            settled = SettleOutbox(pmid, index, event.messageId, _content(event))
            return Mapped(chat, (settled,), index, event.dialogId)
        advance = (Order(None),) if index is not None else ()
        return Mapped(chat, advance, index, event.dialogId)
    body = event.body
    element_text = body.elementText
    sender = events.participant(
        event.senderParticipantId,
        event.senderParticipantType,
        event.senderParticipantName or None,
    )
    message = events.message(
        now,
        sender=sender,
        element_type=body.elementType,
        text=None if element_text is None else element_text.text,
        format=(element_text and element_text.textFormat) or MessageFormat.PLAINTEXT.value,
        message_id=event.messageId,
        index=index,
        fallback_text=event.fallbackText,
        payload=body.payload,
        rich_media=None if body.richMediaPayload is None else _dump(body.richMediaPayload),
        attachments=None if event.attachments is None else [_dump(a) for a in event.attachments],
    )
    decisions: tuple[Decision, ...] = (Order(message),)
    if event.senderParticipantType in _CONTACT_CENTRE:
        decisions += (ArmChatIdle(),)
    return Mapped(chat, decisions, index, event.dialogId)


def _content(event: MessageEvent) -> SendContent:
    element_text = event.body.elementText
    return SendContent(
        element_type=event.body.elementType or "text",
        text=None if element_text is None else element_text.text,
        text_format=(element_text and element_text.textFormat) or MessageFormat.PLAINTEXT.value,
        payload=event.body.payload,
    )


def _participant(event: ParticipantEvent, chat: ChatView, now: datetime) -> Mapped:
    ignored = _unmatched(chat, _belongs(chat, event.dialogId, event.providerDialogId))
    if ignored is not None:
        return ignored
    customer = _is_customer(chat, event.participantType, event.participantId, event.connectionId)
    connection = event.connectionId
    who = events.participant(
        event.participantId or connection,
        event.participantType or ParticipantType.UNKNOWN.value,
        event.displayName,
    )
    if event.eventType == PARTICIPANT_ADDED:
        if customer is True or chat.state not in _LIVE:
            return Mapped(chat)
        chat = replace(chat, participants=chat.participants | {connection})
        return Mapped(chat, (Emit(events.participant_joined(now, who)),))
    if customer is True:
        if chat.state not in (ChatState.STARTING, ChatState.OPEN) or chat.session_ending:
            return Mapped(chat)  # already ended, or ending at the customer's request
        ended = events.chat_ended(
            now,
            engagement_id=chat.engagement_id or event.engagementId,
            dialog_id=chat.dialog_id or event.dialogId,
            by=EndedBy.AGENT,
            reason=ChatEndReason.AGENT_CLOSED,
        )
        return Mapped(chat, (EndChat(ended),))
    known = connection in chat.participants
    decisions: list[Decision] = []
    if customer is False or known:
        decisions.append(Emit(events.participant_left(now, who)))
    chat = replace(chat, participants=chat.participants - {connection})
    live = chat.state in (ChatState.STARTING, ChatState.OPEN) and not chat.session_ending
    if live and not chat.participants:
        decisions.append(
            CheckEngagement(
                chat.engagement_id or event.engagementId, chat.dialog_id or event.dialogId
            )
        )
    return Mapped(chat, tuple(decisions))


def _typing(event: TypingEvent, chat: ChatView, now: datetime) -> Mapped:
    ignored = _unmatched(chat, _belongs(chat, event.dialogId, event.providerDialogId))
    if ignored is not None:
        return ignored
    if event.senderParticipantType == ParticipantType.CUSTOMER or chat.state not in _LIVE:
        return Mapped(chat)
    sender = events.participant(
        event.senderParticipantId,
        event.senderParticipantType,
        event.senderParticipantDisplayName or None,
    )
    return Mapped(chat, (Broadcast(events.typing(now, sender)),))


def _engagement_error(event: EngagementErrorEvent, chat: ChatView, now: datetime) -> Mapped:
    belongs = _belongs(chat, event.dialogId, event.providerDialogId, event.correlationId)
    ignored = _unmatched(chat, belongs)
    if ignored is not None:
        return ignored
    if chat.state not in _LIVE:
        return Mapped(chat)
    decisions: list[Decision] = [
        Emit(events.chat_error(now, code=event.type, title=event.title, detail=event.detail))
    ]
    engagement_id = chat.engagement_id or event.engagementId
    dialog_id = chat.dialog_id or event.dialogId
    if event.type == ENGAGEMENT_CREATION_FAILED:
        ended = events.chat_ended(
            now,
            engagement_id=engagement_id,
            dialog_id=dialog_id,
            by=EndedBy.SYSTEM,
            reason=ChatEndReason.SYSTEM_CLOSED,
        )
        decisions.append(EndChat(ended))
    elif engagement_id is not None and dialog_id is not None:
        decisions.append(CheckEngagement(engagement_id, dialog_id))
    return Mapped(chat, tuple(decisions))


def _engagement_created(event: EngagementCreatedEvent, chat: ChatView) -> Mapped:
    if chat.state is not ChatState.STARTING:
        return Mapped(chat)
    belongs = _belongs(chat, event.dialogId, event.providerDialogId, event.correlationId)
    if belongs is not True:
        return Mapped(chat)
    return Mapped(chat, (ConfirmStart(event.engagementId, event.dialogId),))


def chat_over(engagement: chat_in_gen.Engagement, dialog_id: str) -> bool:
    """Get Engagement's answer says the dialog is over: TERMINATING/TERMINATED, every customer
    connection DISCONNECTED, or the dialog no longer listed."""
    for dialog in engagement.dialogs:
        if dialog.dialogId != dialog_id:
            continue
        if dialog.dialogStatus in _OVER:
            return True
        customers = [c for c in dialog.connections if c.participantType == ParticipantType.CUSTOMER]
        return bool(customers) and all(c.connectionState == "DISCONNECTED" for c in customers)
    return True
