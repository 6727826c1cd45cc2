"""The emulator's in-memory AXP state: transitions, ids, indexes, illegal moves."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from axp_chat_connector.emulator.state import (
    Connection,
    Dialog,
    DialogStatus,
    EmulatorState,
    InvalidMove,
    ParticipantType,
    Session,
    Unknown,
    appended_identifiers,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@pytest.fixture
def state() -> EmulatorState:
    counter = itertools.count(1)
    return EmulatorState(clock=lambda: T0, new_id=lambda: f"id-{next(counter)}")


def _session(state: EmulatorState, email: str = "a@example.com") -> Session:
    return state.create_session(
        account_id="ABCDEF",
        channel_provider_id="ChatProvider01",
        identifiers={"emailAddresses": [email]},
        display_name="Ann",
    )


def test_sessions_sharing_an_identifier_are_one_customer(state: EmulatorState) -> None:
    first = _session(state)
    second = _session(state)
    other = _session(state, "b@example.com")
    assert first.customer_id == second.customer_id != other.customer_id
    assert first.session_id != second.session_id


def test_unknown_or_foreign_session_is_unknown(state: EmulatorState) -> None:
    session = _session(state)
    with pytest.raises(Unknown):
        state.session("GHIJKL", session.session_id)
    with pytest.raises(Unknown):
        state.session("ABCDEF", "nope")


def test_second_engagement_of_a_customer_is_a_new_dialog_on_the_same_engagement(
    state: EmulatorState,
) -> None:
    session = _session(state)
    first, dialog1, created1 = state.create_engagement(
        session, channel_id="Chat", correlation_id="c1"
    )
    again, dialog2, created2 = state.create_engagement(
        _session(state), channel_id="Chat", correlation_id="c2", provider_dialog_id="p2"
    )
    assert created1
    assert not created2
    assert again is first
    assert [d.dialog_id for d in first.dialogs] == [dialog1.dialog_id, dialog2.dialog_id]
    assert dialog2.provider_dialog_id == "p2"
    assert dialog1.status is DialogStatus.PENDING
    assert dialog1.customer().session_ids == [session.session_id]


def test_dialog_becomes_active_when_a_contact_centre_participant_joins(
    state: EmulatorState,
) -> None:
    _, dialog, _ = state.create_engagement(_session(state), channel_id="Chat", correlation_id="c")
    agent = state.add_participant(dialog, ParticipantType.AGENT, "Andy")
    assert dialog.status is DialogStatus.ACTIVE
    state.remove_participant(dialog, agent)
    assert dialog.status is DialogStatus.ACTIVE
    assert dialog.connected(ParticipantType.AGENT) == []


def test_message_index_is_shared_by_all_senders_and_starts_at_one(state: EmulatorState) -> None:
    _, dialog, _ = state.create_engagement(_session(state), channel_id="Chat", correlation_id="c")
    agent = state.add_participant(dialog, ParticipantType.AGENT, "Andy")
    body = {"elementType": "text", "elementText": {"text": "hi"}}
    indexes = [
        state.add_message(dialog, sender, body, correlation_id="c").index
        for sender in (dialog.customer(), agent, dialog.customer())
    ]
    assert indexes == [1, 2, 3]
    assert len({m.message_id for m in dialog.messages}) == 3


def test_terminate_disconnects_everyone_first_type_first_and_forbids_more(
    state: EmulatorState,
) -> None:
    _, dialog, _ = state.create_engagement(_session(state), channel_id="Chat", correlation_id="c")
    state.add_participant(dialog, ParticipantType.AGENT, "Andy")
    leaving = state.terminate(dialog, first=ParticipantType.AGENT)
    assert [c.participant_type for c in leaving] == [
        ParticipantType.AGENT,
        ParticipantType.CUSTOMER,
    ]
    assert dialog.status is DialogStatus.TERMINATED
    assert dialog.connected() == []
    body = {"elementType": "text"}
    with pytest.raises(InvalidMove):
        state.add_message(dialog, dialog.customer(), body, correlation_id="c")
    with pytest.raises(InvalidMove):
        state.terminate(dialog, first=ParticipantType.CUSTOMER)
    with pytest.raises(InvalidMove):
        state.add_participant(dialog, ParticipantType.AGENT, "Late")


def test_illegal_moves_leave_the_dialog_unchanged(state: EmulatorState) -> None:
    session = _session(state)
    _, dialog, _ = state.create_engagement(session, channel_id="Chat", correlation_id="c")
    before = (dialog.status, len(dialog.connections))
    with pytest.raises(InvalidMove):
        state.add_participant(dialog, ParticipantType.CUSTOMER, "x")
    with pytest.raises(InvalidMove):
        state.remove_participant(dialog, dialog.customer())
    with pytest.raises(InvalidMove):
        state.join(dialog, _session(state, "someone@else.com"))
    assert (dialog.status, len(dialog.connections)) == before


def test_deleting_the_last_session_of_a_dialog_ends_it(state: EmulatorState) -> None:
    session = _session(state)
    _, dialog, _ = state.create_engagement(session, channel_id="Chat", correlation_id="c")
    other_device = _session(state)
    state.join(dialog, other_device)
    assert state.delete_session(session) == []
    assert dialog.status is DialogStatus.PENDING
    ended = state.delete_session(other_device)
    assert [d for d, _ in ended] == [dialog]
    assert dialog.status.value == "TERMINATED"
    with pytest.raises(Unknown):
        state.session("ABCDEF", session.session_id)


def test_active_dialog_is_the_newest_not_terminated(state: EmulatorState) -> None:
    session = _session(state)
    engagement, first, _ = state.create_engagement(session, channel_id="Chat", correlation_id="c")
    _, second, _ = state.create_engagement(session, channel_id="Chat", correlation_id="d")
    assert state.dialog_of(engagement, None) is second
    state.terminate(second, first=ParticipantType.CUSTOMER)
    assert state.dialog_of(engagement, None) is first
    state.terminate(first, first=ParticipantType.CUSTOMER)
    assert state.dialog_of(engagement, None) is second
    assert state.dialog_of(engagement, first.dialog_id) is first
    with pytest.raises(Unknown):
        state.dialog_of(engagement, "missing")


def test_appended_identifiers_merge_without_duplicates(state: EmulatorState) -> None:
    session = _session(state)
    state.append_identifiers(session, {"emailAddresses": ["a@example.com", "c@example.com"]})
    state.update_parameters(session, {"k": "v"})
    state.update_parameters(session, {"k": "w", "x": "y"})
    assert session.identifiers == {"emailAddresses": ["a@example.com", "c@example.com"]}
    assert session.parameters == {"k": "w", "x": "y"}


def _snapshot(dialog: Dialog) -> tuple[object, ...]:
    return (
        dialog.status,
        [(c.participant_type, c.state, tuple(c.session_ids)) for c in dialog.connections],
        len(dialog.messages),
    )


def _dialog_in(state: EmulatorState, situation: str) -> Dialog:
    _, dialog, _ = state.create_engagement(_session(state), channel_id="Chat", correlation_id="c")
    if situation in {"agent", "terminated"}:
        state.add_participant(dialog, ParticipantType.AGENT, "Andy")
    if situation == "bot":
        state.add_participant(dialog, ParticipantType.BOT, "Bot")
    if situation == "terminated":
        state.terminate(dialog, first=ParticipantType.AGENT)
    return dialog


def _last_contact_centre_or_customer(dialog: Dialog) -> Connection:
    others = [c for c in dialog.connections if c.participant_type is not ParticipantType.CUSTOMER]
    return others[-1] if others else dialog.customer()


MOVES: dict[str, Callable[[EmulatorState, Dialog], object]] = {
    "add_agent": lambda s, d: s.add_participant(d, ParticipantType.AGENT, "New"),
    "remove_participant": lambda s, d: s.remove_participant(d, _last_contact_centre_or_customer(d)),
    "terminate": lambda s, d: s.terminate(d, first=ParticipantType.CUSTOMER),
    "customer_message": lambda s, d: s.add_message(
        d, d.customer(), {"elementType": "text"}, correlation_id="c"
    ),
    "join_from_another_device": lambda s, d: s.join(d, _session(s)),
}
ILLEGAL = {
    ("pending", "remove_participant"),  # the customer leaves only by ending the dialog
    *(("terminated", move) for move in MOVES),
}


@pytest.mark.parametrize("situation", ["pending", "agent", "bot", "terminated"])
@pytest.mark.parametrize("move", sorted(MOVES))
def test_every_move_in_every_situation_is_legal_or_changes_nothing(
    state: EmulatorState, situation: str, move: str
) -> None:
    dialog = _dialog_in(state, situation)
    before = _snapshot(dialog)
    if (situation, move) in ILLEGAL:
        with pytest.raises(InvalidMove):
            MOVES[move](state, dialog)
        assert _snapshot(dialog) == before
    else:
        MOVES[move](state, dialog)
        assert _snapshot(dialog) != before


def test_appended_identifiers_add_new_values_at_the_end_once_and_new_kinds() -> None:
    current = {"emailAddresses": ["a@acme.test"]}
    added = {"emailAddresses": ["b@acme.test", "a@acme.test", "b@acme.test"], "phoneNumbers": []}
    assert appended_identifiers(current, added) == {
        "emailAddresses": ["a@acme.test", "b@acme.test"],
        "phoneNumbers": [],
    }
    assert current == {"emailAddresses": ["a@acme.test"]}  # the input is not changed
