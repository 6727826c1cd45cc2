"""A pure model of one session: commands and AXP webhook deliveries (duplicated, reordered,
stale) through lifecycle → dedupe → mapping → ordering → an event log that numbers events.

Whatever happens: seqs stay gapless, no AXP event reaches the log twice, a chat ends once, the
customer's own messages are echoed once (from the accepted send), never from MESSAGES.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from axp_chat_connector.errors import InvalidState, NotFound
from axp_chat_connector.protocol import events
from axp_chat_connector.protocol.codes import ChatEndReason, EndedBy
from axp_chat_connector.protocol.frames import Seq
from axp_chat_connector.sessions import ordering
from axp_chat_connector.sessions.axp_events import (
    dedupe_key,
    parse_webhook_event,
)
from axp_chat_connector.sessions.lifecycle import INITIAL, ChatState, Input, Outcome, step
from axp_chat_connector.sessions.mapping import (
    ArmChatIdle,
    Broadcast,
    ChatView,
    CheckEngagement,
    ConfirmStart,
    Decision,
    Emit,
    EndChat,
    Order,
    Park,
    SettleOutbox,
    map_event,
)
from tests.unit.sessions import axp_bodies as body

T0 = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


@dataclass
class Session:
    now: datetime = T0
    phase: Any = INITIAL
    chat: ChatView = field(default_factory=lambda: ChatView(ChatState.NONE))
    dialogs: int = 0
    sends: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    hold: ordering.Hold[tuple[Decision, ...]] = field(default_factory=ordering.Hold)
    deadline: datetime | None = None
    gave_up: set[str | None] = field(default_factory=set)

    def append(self, event: dict[str, Any]) -> None:
        self.log.append(events.with_seq(event, Seq(len(self.log) + 1)))

    def move(self, what: Input) -> Outcome | None:
        try:
            result = step(self.phase, what)
        except (InvalidState, NotFound):
            return None
        self.phase = result.phase
        return result.outcome

    # client commands (AXP answers at once, successfully)
    def start(self) -> None:
        if self.move(Input.START) is not Outcome.PROCEED:
            return
        self.dialogs += 1
        n = self.dialogs
        self.move(Input.CHAT_OPENED)
        self.chat = ChatView(
            ChatState.OPEN,
            session_id="s",
            engagement_id=f"eng-{n}",
            dialog_id=f"dlg-{n}",
            provider_dialog_id=f"pd-{n}",
            correlation_ids=frozenset({f"corr-{n}"}),
        )
        self.hold = ordering.Hold()
        self.append(events.chat_started(self.now, engagement_id=f"eng-{n}", dialog_id=f"dlg-{n}"))

    def send(self) -> None:
        if self.move(Input.SEND) is not Outcome.PROCEED:
            return
        self.sends += 1
        me = events.participant("cust-p", "CUSTOMER")
        echo = events.message(
            self.now, sender=me, element_type="text", text="hi", client_message_id=f"c-{self.sends}"
        )
        self.append(echo)

    def end(self) -> None:
        if self.move(Input.END) is not Outcome.PROCEED:
            return
        self.close(
            events.chat_ended(
                self.now,
                engagement_id=self.chat.engagement_id,
                dialog_id=self.chat.dialog_id,
                by=EndedBy.CUSTOMER,
                reason=ChatEndReason.USER_CLOSED,
            )
        )

    def close(self, event: dict[str, Any]) -> None:
        if self.move(Input.CHAT_CLOSED) is Outcome.PROCEED:
            self.chat = replace(self.chat, state=ChatState.ENDED)
            self.append(event)

    # AXP
    def deliver(self, raw: dict[str, Any]) -> None:
        event = parse_webhook_event(raw)
        key = dedupe_key(event)
        if key is not None:
            if key in self.seen:
                return
            self.seen.add(key)
        mapped = map_event(event, self.chat, self.now)
        self.chat = mapped.chat
        if mapped.index is not None and mapped.dialog_id == self.chat.dialog_id:
            self.released(ordering.offer(self.hold, mapped.index, mapped.decisions, self.now))
        else:
            self.apply(mapped.decisions)

    def tick(self, delay: timedelta) -> None:
        self.now += delay
        if self.deadline is not None and self.deadline <= self.now:
            self.released(ordering.expire(self.hold, self.now))

    def released(self, out: ordering.Released[tuple[Decision, ...]]) -> None:
        if out.hold.given_up - self.hold.given_up:
            self.gave_up.add(self.chat.dialog_id)
        self.hold, self.deadline = out.hold, out.deadline
        for decisions in out.items:
            self.apply(decisions)

    def apply(self, decisions: tuple[Decision, ...]) -> None:
        for decision in decisions:
            match decision:
                case Emit(event=event) | Order(event=event) if event is not None:
                    self.append(event)
                case EndChat(event=event):
                    self.close(event)
                case (
                    Order()
                    | ArmChatIdle()
                    | Broadcast()
                    | CheckEngagement()
                    | ConfirmStart()
                    | Park()
                    | SettleOutbox()
                ):
                    pass


def webhook(kind: str, dialog: int, i: int) -> dict[str, Any]:
    ids = {
        "dialogId": f"dlg-{dialog}",
        "providerDialogId": f"pd-{dialog}",
        "engagementId": f"eng-{dialog}",
    }
    if kind == "agent_message":
        return body.message(index=i, message_id=f"m-{dialog}-{i}", **ids)
    if kind == "customer_message":
        return body.message(
            sender_type="CUSTOMER",
            index=i,
            message_id=f"m-{dialog}-{i}",
            providerMessageId=f"s:c-{i}",
            **ids,
        )
    if kind == "agent_joined":
        return body.participant("PARTICIPANT_ADDED", **ids)
    if kind == "agent_left":
        return body.participant("PARTICIPANT_DISCONNECTED", **ids)
    if kind == "customer_left":
        return body.participant(
            "PARTICIPANT_DISCONNECTED",
            "CUSTOMER",
            participant_id="cust-p",
            connection_id="cust-c",
            **ids,
        )
    if kind == "typing":
        return body.typing(**ids)
    return body.engagement_error(
        "ENGAGEMENT_CREATION_FAILED", correlation_id=f"corr-{dialog}", **ids
    )


WEBHOOKS = [
    "agent_message",
    "customer_message",
    "agent_joined",
    "agent_left",
    "customer_left",
    "typing",
    "creation_failed",
]
actions = st.one_of(
    st.sampled_from(["start", "send", "end"]).map(lambda c: ("cmd", c, 0, 0)),
    st.tuples(st.just("axp"), st.sampled_from(WEBHOOKS), st.integers(1, 3), st.integers(1, 6)),
    st.tuples(st.just("tick"), st.just(""), st.integers(0, 1500), st.just(0)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(actions, max_size=60))
def test_the_log_is_gapless_and_nothing_reaches_it_twice(
    script: list[tuple[str, str, int, int]],
) -> None:
    session = Session()
    for what, name, a, b in script:
        if what == "cmd":
            getattr(session, name)()
        elif what == "axp":
            session.deliver(webhook(name, a, b))
        else:
            session.tick(timedelta(milliseconds=a))
    session.tick(timedelta(seconds=10))
    log = session.log

    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    messages = [e for e in log if e["type"] == "message"]
    from_axp = Counter(e["messageId"] for e in messages if "messageId" in e)
    assert all(n == 1 for n in from_axp.values())
    assert all(e["from"]["type"] != "CUSTOMER" for e in messages if "messageId" in e)
    echoes = Counter(e["clientMessageId"] for e in messages if "clientMessageId" in e)
    assert all(n == 1 for n in echoes.values())
    ended = Counter(e.get("dialogId") for e in log if e["type"] == "chat.ended")
    assert all(n == 1 for n in ended.values())
    joined = Counter(e["participant"]["id"] for e in log if e["type"] == "participant.joined")
    assert sum(joined.values()) <= session.dialogs
    assert all(e["type"] != "typing" for e in log)
    started = [e for e in log if e["type"] == "chat.started"]
    assert len(started) == session.dialogs
    # within a dialog, AXP messages reach the log in index order unless a gap was given up
    for dialog in range(1, session.dialogs + 1):
        indexes = [
            e["index"] for e in messages if e.get("messageId", "").startswith(f"m-{dialog}-")
        ]
        assert len(indexes) == len(set(indexes))
