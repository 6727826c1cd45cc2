"""`SessionService`: client commands → lifecycle → AXP calls and events.

Transports (WebSocket, long polling) are thin over it: they parse frames with
`protocol.codec.parse_command`, check `lifecycle.admit` for the connection's binding, call
`execute`, write `Answer.frame`, and pump events with `events_after` when woken by the bus.
The webhook receiver calls `on_webhook` (see `inbound.py`) after authenticating a callback.

Idempotency: every command with an `id` on a bound session is claimed in the store first; a
repeat gets the stored answer and causes no second AXP call. `login` is not deduplicated (no
session exists to key it on, and sharing answers across clients would leak tokens).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, replace
from typing import Any

import structlog

from axp_chat_connector.axp.client import Reason
from axp_chat_connector.errors import (
    AxpError,
    AxpNotFound,
    AxpOutcomeUnknown,
    Busy,
    ConnectorError,
    Forbidden,
    Gap,
    Internal,
    NotFound,
)
from axp_chat_connector.protocol import codec, events, frames
from axp_chat_connector.protocol.codes import ChatEndReason, EndedBy, SessionEndReason
from axp_chat_connector.sessions import tokens
from axp_chat_connector.sessions.core import (
    CHAT_IDLE,
    CHAT_IDLE_WARNING,
    TOKEN_RENEW,
    SessionCore,
    chat_ended_event,
)
from axp_chat_connector.sessions.identity import verify_id_token
from axp_chat_connector.sessions.inbound import Inbound
from axp_chat_connector.sessions.lifecycle import (
    COMMAND_INPUT,
    INITIAL,
    ChatState,
    Input,
    Outcome,
    SessionState,
    step,
)
from axp_chat_connector.sessions.record import SessionRecord, to_doc
from axp_chat_connector.store.base import ClaimState

_log = structlog.get_logger(__name__)

_PENDING_WAIT = 5.0
_PENDING_POLL = 0.05
_NO_IDEMPOTENCY = (frames.Ack, frames.Ping)


@dataclass(frozen=True, slots=True)
class Bound:
    """A `login` or `resume` succeeded: the connection now belongs to `session_id` and must
    deliver every durable event with seq > `after` (in order), then follow the bus."""

    session_id: str
    after: int


@dataclass(frozen=True, slots=True)
class Answer:
    frame: dict[str, Any]
    """The `ok` or `error` frame to send; an empty dict means: send nothing."""
    bound: Bound | None = None
    """Set when the command bound the connection to a session."""
    close_code: int | None = None
    """Set when the connection must close after sending `frame`."""


class SessionService:
    def __init__(self, core: SessionCore) -> None:
        self.core = core
        self.inbound = Inbound(core)
        self._local_connections: dict[str, int] = {}
        self.wake_outbox: asyncio.Event = asyncio.Event()

    # -- transports ------------------------------------------------------------------------
    async def execute(self, command: frames.Command, *, session_id: str | None) -> Answer:
        """Run one client command; client errors come back as `error` frames."""
        re = command.id
        try:
            if isinstance(command, frames.Login):
                return await self._login(command)
            if isinstance(command, frames.Resume):
                return await self._resume(command)
            if session_id is None:
                raise Internal("command on an unbound connection")
            await self.core.store.touch_session(session_id, now=self.core.clock())
            if isinstance(command, _NO_IDEMPOTENCY) or re is None:
                frame = await self._run(command, session_id)
                return Answer(frame if re is not None else {})
            return Answer(await self._once(command, session_id, re))
        except ConnectorError as exc:
            return Answer(codec.error(exc, re))

    async def session_of_token(self, token: str) -> str:
        session_id = tokens.verify(token, self.core.now(), self.core.config.token_secret)
        record, _ = await self.core.load(session_id)
        if record.state is SessionState.ENDED:
            raise NotFound("the session has ended")
        return session_id

    async def events_after(self, session_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        store = self.core.store
        found = await store.read_events(session_id, after, limit)
        if found and found[0]["seq"] == after + 1:
            return found
        oldest = await store.oldest_seq(session_id)
        if after + 1 < oldest:
            raise Gap(oldest)
        return found

    async def last_seq(self, session_id: str) -> int:
        return await self.core.store.last_seq(session_id)

    async def connection_opened(self, session_id: str) -> None:
        self._local_connections[session_id] = self._local_connections.get(session_id, 0) + 1
        await self.core.store.touch_session(session_id, now=self.core.clock())

    async def connection_closed(self, session_id: str) -> None:
        left = self._local_connections.get(session_id, 0) - 1
        if left <= 0:
            self._local_connections.pop(session_id, None)
        else:
            self._local_connections[session_id] = left
        await self.core.store.touch_session(session_id, now=self.core.clock())

    def connected_sessions(self) -> list[str]:
        """Sessions with a connection on this instance (kept active by the sweeper)."""
        return list(self._local_connections)

    async def on_webhook(self, body: dict[str, Any]) -> str:
        return await self.inbound.take(body)

    # -- idempotency -----------------------------------------------------------------------
    async def _once(self, command: frames.Command, session_id: str, re: str) -> dict[str, Any]:
        store, ttl = self.core.store, self.core.config.idempotency_ttl
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _PENDING_WAIT
        while True:
            claim = await store.claim_command(session_id, re, ttl=ttl)
            if claim.state is ClaimState.DONE and claim.answer is not None:
                return claim.answer
            if claim.state is ClaimState.NEW:
                break
            if loop.time() > deadline:
                raise Busy("the same command is still running")
            await asyncio.sleep(_PENDING_POLL)
        try:
            frame = await self._run(command, session_id)
        except ConnectorError as exc:
            frame = codec.error(exc, re)
            if exc.retryable:
                # nothing durable happened that a retry would double: let it run again
                await store.release_command(session_id, re)
                return frame
        except BaseException:
            await store.release_command(session_id, re)
            raise
        await store.complete_command(session_id, re, frame, ttl=ttl)
        return frame

    async def _run(self, command: frames.Command, session_id: str) -> dict[str, Any]:
        record, _ = await self.core.load(session_id)
        move = step(record.phase, COMMAND_INPUT[command.type])
        match command:
            case frames.Context():
                await self._axp_session_call(record, "parameters", dict(command.parameters))
                return codec.ok(command.id)
            case frames.Identify():
                identifiers = {k: list(v) for k, v in command.identifiers.items()}
                await self._axp_session_call(record, "identifiers", identifiers)
                return codec.ok(command.id)
            case frames.Start():
                return await self._start(command, record, move.outcome)
            case frames.Send():
                return await self._send(command, record)
            case frames.History():
                return await self._history(command, record)
            case frames.End():
                if move.outcome is Outcome.NOOP:
                    return codec.ok(command.id)
                await self._end(record, reason=ChatEndReason.USER_CLOSED)
                return codec.ok(command.id)
            case frames.Logout():
                if move.outcome is not Outcome.NOOP:
                    await self.logout(session_id, SessionEndReason.USER_CLOSED)
                return codec.ok(command.id)
            case frames.Ack():
                last = await self.core.store.last_seq(session_id)
                await self.core.store.trim_events(session_id, min(command.seq, last))
                return codec.ok(command.id)
            case frames.Ping():
                return codec.ok(command.id)
            case _:
                raise Internal(f"unexpected command {command.type}")

    # -- login and resume --------------------------------------------------------------------
    async def _login(self, command: frames.Login) -> Answer:
        config, now = self.core.config, self.core.now()
        if command.id_token is not None:
            if config.id_token_policy is None:
                raise Forbidden("verified login (idToken) is not configured")
            verified = verify_id_token(command.id_token, now, config.id_token_policy)
            name, identifiers = (
                verified.display_name,
                {k: list(v) for k, v in verified.identifiers.items()},
            )
        else:
            if not config.guest_mode or command.customer is None:
                raise Forbidden("guest login is disabled: log in with an idToken")
            name = command.customer.display_name
            identifiers = {k: list(v) for k, v in command.customer.identifiers.items()}
        parameters = dict(command.parameters)
        correlation_id = str(uuid.uuid4())
        created = await self.core.axp.create_session(
            customer_identifiers=identifiers,
            display_name=name,
            session_parameters=parameters or None,
            correlation_id=correlation_id,
        )
        session_id = str(uuid.uuid4())
        record = SessionRecord(
            session_id=session_id,
            state=INITIAL.session,
            display_name=name,
            identifiers=identifiers,
            parameters=parameters,
            axp_session_id=created.sessionId,
            customer_participant_id=getattr(created, "participantId", None),
        )
        store, clock = self.core.store, self.core.clock()
        await store.create_session(session_id, to_doc(record), now=clock)
        await store.put_route("axp_session", created.sessionId, session_id)
        token, expires_at = self._token(session_id)
        await self.schedule_token_renewal(session_id, expires_at.timestamp())
        _log.info("session.created", session_id=session_id)
        return Answer(
            codec.ok(
                command.id,
                sessionId=session_id,
                token=token,
                expiresAt=events.timestamp(expires_at),
                seq=0,
                heartbeat=config.heartbeat,
            ),
            bound=Bound(session_id, 0),
        )

    async def _resume(self, command: frames.Resume) -> Answer:
        session_id = await self.session_of_token(command.token)
        await self.core.store.touch_session(session_id, now=self.core.clock())
        last = await self.core.store.last_seq(session_id)
        after = min(command.after, last)
        oldest = await self.core.store.oldest_seq(session_id)
        if after + 1 < oldest:
            # bound all the same, from the oldest kept event: the client calls `history`
            return Answer(codec.error(Gap(oldest), command.id), bound=Bound(session_id, oldest - 1))
        token, expires_at = self._token(session_id)
        await self.schedule_token_renewal(session_id, expires_at.timestamp())
        frame = codec.ok(
            command.id,
            sessionId=session_id,
            seq=last,
            token=token,
            expiresAt=events.timestamp(expires_at),
            heartbeat=self.core.config.heartbeat,
        )
        return Answer(frame, bound=Bound(session_id, after))

    def _token(self, session_id: str) -> tuple[str, Any]:
        config = self.core.config
        return tokens.issue(
            tokens.SessionId(session_id), self.core.now(), config.token_secret, config.token_ttl
        )

    async def schedule_token_renewal(self, session_id: str, expires_at: float) -> None:
        """A fresh token goes out in-band (`session.token`) a while before this one expires:
        `token_renew_before`, or a fifth of the lifetime if that is shorter."""
        config = self.core.config
        before = min(
            config.token_renew_before.total_seconds(), config.token_ttl.total_seconds() / 5
        )
        await self.core.store.set_deadline(session_id, TOKEN_RENEW, expires_at - before)

    # -- AXP session calls (with the invisible re-creation of a session AXP forgot) -----------
    async def _axp_session_call(
        self, record: SessionRecord, what: str, value: dict[str, Any]
    ) -> None:
        axp = self.core.axp
        for attempt in range(2):
            axp_session_id = record.axp_session_id
            try:
                if axp_session_id is None:
                    raise AxpNotFound(404, operation="session")
                if what == "parameters":
                    await axp.update_session_parameters(axp_session_id, value)
                else:
                    await axp.append_identifiers(axp_session_id, value)
            except AxpNotFound:
                if attempt:
                    raise
                record = await self.axp_session_gone(record)
                continue
            break

        def remember(current: SessionRecord) -> SessionRecord:
            if what == "parameters":
                return replace(current, parameters={**current.parameters, **value})
            merged = {k: list(v) for k, v in current.identifiers.items()}
            for kind, values in value.items():
                merged[kind] = [
                    *merged.get(kind, []),
                    *(v for v in values if v not in merged.get(kind, [])),
                ]
            return replace(current, identifiers=merged)

        await self.core.change(record.session_id, remember)

    async def axp_session_gone(self, record: SessionRecord) -> SessionRecord:
        """AXP answered 404 for the customer's session (PROTOCOL §3)."""
        move = step(record.phase, Input.AXP_SESSION_GONE)
        if move.outcome is Outcome.RECREATE_AXP_SESSION:
            created = await self.core.axp.create_session(
                customer_identifiers=record.identifiers,
                display_name=record.display_name,
                session_parameters=record.parameters or None,
            )
            await self.core.store.put_route("axp_session", created.sessionId, record.session_id)
            updated = await self.core.change(
                record.session_id,
                lambda r: replace(
                    r,
                    axp_session_id=created.sessionId,
                    customer_participant_id=getattr(created, "participantId", None),
                ),
            )
            _log.info("session.axp_recreated", session_id=record.session_id)
            assert updated is not None
            return updated
        if move.outcome is Outcome.END_CHAT_AND_SESSION:
            await self.core.end_chat_and_session(record)
            raise NotFound("the session has ended")
        raise NotFound("the session has ended")

    # -- start, send, history, end ---------------------------------------------------------------
    async def _start(
        self, command: frames.Start, record: SessionRecord, outcome: Outcome
    ) -> dict[str, Any]:
        if outcome is Outcome.ALREADY_OPEN:
            return codec.ok(
                command.id, engagementId=record.engagement_id, dialogId=record.dialog_id
            )
        provider_dialog_id = str(uuid.uuid4())
        correlation_id = str(uuid.uuid4())
        store, session_id = self.core.store, record.session_id
        await store.put_route("provider_dialog", provider_dialog_id, session_id)
        await store.put_route("correlation", correlation_id, session_id)

        def starting(current: SessionRecord) -> SessionRecord:
            move = step(current.phase, Input.START)
            if move.outcome is Outcome.ALREADY_OPEN:
                raise _AlreadyOpen(current)
            return replace(
                current,
                chat=move.phase.chat,
                engagement_id=None,
                dialog_id=None,
                provider_dialog_id=provider_dialog_id,
                chat_correlation_ids=(correlation_id,),
                participants=frozenset(),
                outbox={},
                hold=type(current.hold)(),
            )

        try:
            record = await self.core.change(session_id, starting) or record
        except _AlreadyOpen as open_:
            return codec.ok(
                command.id, engagementId=open_.record.engagement_id, dialogId=open_.record.dialog_id
            )
        try:
            engagement_id, dialog_id = await self._create_engagement(
                record, command, provider_dialog_id, correlation_id
            )
        except ConnectorError:
            await self.core.change(
                session_id,
                lambda r: (
                    replace(r, chat=step(r.phase, Input.START_FAILED).phase.chat)
                    if r.chat is ChatState.STARTING
                    else None
                ),
            )
            raise
        await self.chat_opened(session_id, engagement_id, dialog_id)
        return codec.ok(command.id, engagementId=engagement_id, dialogId=dialog_id)

    async def _create_engagement(
        self,
        record: SessionRecord,
        command: frames.Start,
        provider_dialog_id: str,
        correlation_id: str,
    ) -> tuple[str, str]:
        axp = self.core.axp
        for attempt in range(3):
            if record.axp_session_id is None:
                record = await self.axp_session_gone(record)
            axp_session_id = record.axp_session_id
            assert axp_session_id is not None
            try:
                created = await axp.create_engagement(
                    session_id=axp_session_id,
                    provider_dialog_id=provider_dialog_id,
                    conversation=command.conversation,
                    engagement_parameters=dict(command.parameters) or None,
                    correlation_id=correlation_id,
                )
                found = _our_dialog(created.engagementId, created.dialogs, provider_dialog_id)
                if found is not None:
                    return found
            except AxpOutcomeUnknown:
                _log.warning("start.outcome_unknown", session_id=record.session_id)
            except AxpNotFound:
                record = await self.axp_session_gone(record)
                continue
            # the answer was lost, or named no dialog of ours: look before creating again
            for engagement in await axp.list_engagements(axp_session_id):
                found = _our_dialog(engagement.engagementId, engagement.dialogs, provider_dialog_id)
                if found is not None:
                    return found
            if attempt == 2:
                break
        raise AxpError("AXP did not open the chat")

    async def chat_opened(self, session_id: str, engagement_id: str, dialog_id: str) -> None:
        """Record the open chat and `chat.started` together (once), then route the events that
        beat it here (parked while it was STARTING), in that order."""
        await self.core.store.put_route("dialog", dialog_id, session_id)
        started = events.chat_started(
            self.core.now(), engagement_id=engagement_id, dialog_id=dialog_id
        )

        def edit(current: SessionRecord) -> tuple[SessionRecord, list[dict[str, Any]]] | None:
            if current.chat is not ChatState.STARTING:
                return None
            move = step(current.phase, Input.CHAT_OPENED)
            opened = replace(
                current, chat=move.phase.chat, engagement_id=engagement_id, dialog_id=dialog_id
            )
            return opened, [started]

        done = await self.core.change_and_append(session_id, edit)
        if done is not None:
            await self.inbound.unpark(session_id, done[0])

    async def _send(self, command: frames.Send, record: SessionRecord) -> dict[str, Any]:
        assert record.dialog_id is not None
        assert record.engagement_id is not None
        provider_message_id = f"{record.session_id}:{command.id}"
        body = _body(command)
        payload = {
            "clientMessageId": command.id,
            "engagementId": record.engagement_id,
            "dialogId": record.dialog_id,
            "body": body,
        }
        await self.core.change(
            record.session_id,
            lambda r: replace(r, outbox={**r.outbox, provider_message_id: command.id}),
        )
        await self.core.store.outbox_add(
            record.session_id, provider_message_id, record.dialog_id, payload, now=self.core.clock()
        )
        for kind in (CHAT_IDLE_WARNING, CHAT_IDLE):
            await self.core.store.clear_deadline(record.session_id, kind)
        self.wake_outbox.set()
        return codec.ok(command.id, status="accepted")

    async def _history(self, command: frames.History, record: SessionRecord) -> dict[str, Any]:
        if (
            record.engagement_id is None
            or record.dialog_id is None
            or record.axp_session_id is None
        ):
            return codec.ok(command.id, messages=[])
        collected: list[dict[str, Any]] = []
        page, now = 1, self.core.now()
        while page <= 40:
            try:
                answer = await self.core.axp.list_messages(
                    record.engagement_id,
                    session_id=record.axp_session_id,
                    dialog_id=record.dialog_id,
                    page_number=page,
                    page_size=50,
                )
            except AxpNotFound:
                if record.chat in (ChatState.OPEN, ChatState.ENDING) and (
                    await self.core.axp_session_gone(record)
                ):
                    await self.axp_session_gone(record)  # ends the chat and the session
                raise
            for message in answer.messages or []:
                collected.append(self.inbound.history_message(message, record, now))
            if not answer.messages or len(answer.messages) < 50:
                break
            page += 1
        collected.sort(key=lambda m: m.get("index", 0))
        if command.before is not None:
            collected = [m for m in collected if m.get("index", 0) < command.before]
        return codec.ok(command.id, messages=collected[-command.limit :])

    async def _end(self, record: SessionRecord, *, reason: ChatEndReason) -> None:
        """Disconnect the open chat (customer `end`, or chat inactivity)."""
        session_id = record.session_id
        input_ = Input.END if reason is ChatEndReason.USER_CLOSED else Input.CHAT_IDLE

        def ending(current: SessionRecord) -> SessionRecord | None:
            move = step(current.phase, input_)
            if move.outcome is not Outcome.PROCEED:
                return None
            return replace(current, chat=move.phase.chat)

        current = await self.core.change(session_id, ending)
        if current is None:
            return
        await self._disconnect(current, reason)

    async def _disconnect(self, record: SessionRecord, reason: ChatEndReason) -> None:
        session_id = record.session_id
        by = EndedBy.CUSTOMER if reason is ChatEndReason.USER_CLOSED else EndedBy.SYSTEM
        axp_reason: Reason = (
            "USER_CLOSED" if reason is ChatEndReason.USER_CLOSED else "USER_INACTIVE"
        )
        if record.engagement_id and record.dialog_id and record.axp_session_id:
            try:
                await self.core.axp.disconnect_engagement(
                    record.engagement_id,
                    session_id=record.axp_session_id,
                    dialog_id=record.dialog_id,
                    reason=axp_reason,
                )
            except AxpNotFound:
                pass  # AXP has no such chat any more: it is over all the same
            except ConnectorError:
                await self.core.change(
                    session_id,
                    lambda r: (
                        replace(r, chat=step(r.phase, Input.END_FAILED).phase.chat)
                        if r.chat is ChatState.ENDING
                        else None
                    ),
                )
                raise
        ended = chat_ended_event(record, self.core.now(), by=by, reason=reason)
        await self.core.close_chat(session_id, ended)

    async def end_idle_chat(self, session_id: str) -> None:
        record, _ = await self.core.load(session_id)
        await self._end(record, reason=ChatEndReason.USER_INACTIVE)

    # -- logout ------------------------------------------------------------------------------------
    async def logout(self, session_id: str, reason: SessionEndReason) -> None:
        """End the chat if any, delete the AXP session, tell the clients (logout, inactivity)."""
        input_ = Input.LOGOUT if reason is SessionEndReason.USER_CLOSED else Input.SESSION_IDLE

        def ending(current: SessionRecord) -> SessionRecord | None:
            move = step(current.phase, input_)
            if move.outcome is not Outcome.PROCEED:
                return None
            return replace(current, state=move.phase.session)

        record = await self.core.change(session_id, ending)
        if record is None:
            return
        chat_reason = (
            ChatEndReason.USER_CLOSED
            if reason is SessionEndReason.USER_CLOSED
            else ChatEndReason.USER_INACTIVE
        )
        if record.chat in (ChatState.OPEN, ChatState.ENDING, ChatState.STARTING):
            try:
                await self._disconnect(record, chat_reason)
            except ConnectorError as exc:
                _log.warning("logout.disconnect_failed", session_id=session_id, error=exc.code)
                ended = chat_ended_event(
                    record, self.core.now(), by=EndedBy.SYSTEM, reason=chat_reason
                )
                await self.core.close_chat(session_id, ended)
        if record.axp_session_id is not None:
            axp_reason: Reason = (
                "USER_CLOSED" if reason is SessionEndReason.USER_CLOSED else "USER_INACTIVE"
            )
            with contextlib.suppress(AxpNotFound):
                await self.core.axp.delete_session(record.axp_session_id, axp_reason)
        await self._finish_session(session_id, reason)

    async def _finish_session(self, session_id: str, reason: SessionEndReason) -> None:
        await self.core.finish_session(session_id, reason)

    async def renew_token(self, session_id: str) -> None:
        token, expires_at = self._token(session_id)
        await self.core.append(
            session_id, [events.session_token(self.core.now(), token=token, expires_at=expires_at)]
        )
        await self.schedule_token_renewal(session_id, expires_at.timestamp())


class _AlreadyOpen(Exception):
    def __init__(self, record: SessionRecord) -> None:
        super().__init__("chat already open")
        self.record = record


def _our_dialog(
    engagement_id: str, dialogs: Any, provider_dialog_id: str
) -> tuple[str, str] | None:
    for dialog in dialogs or ():
        if getattr(dialog, "providerDialogId", None) == provider_dialog_id:
            return engagement_id, dialog.dialogId
    return None


def _body(command: frames.Send) -> dict[str, Any]:
    if command.text is not None:
        return {
            "elementType": "text",
            "elementText": {"text": command.text, "textFormat": command.format.value},
        }
    chosen = command.reply or command.postback
    assert chosen is not None
    kind = "reply" if command.reply is not None else "postback"
    body: dict[str, Any] = {
        "elementType": kind,
        "elementText": {"text": chosen.text or "", "textFormat": "PLAINTEXT"},
    }
    if chosen.payload is not None:
        body["payload"] = chosen.payload
    return body
