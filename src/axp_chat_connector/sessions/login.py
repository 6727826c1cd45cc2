"""The connector session's own life: `login` (Create Session), `resume`, token renewal, and
its end (`logout`, or session inactivity: the chat ended, Delete Session, `session.ended`)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime

import structlog

from axp_chat_connector.axp.client import AxpClient, Reason
from axp_chat_connector.errors import AxpNotFound, ConnectorError, Forbidden, Gap
from axp_chat_connector.protocol import codec, events, frames
from axp_chat_connector.protocol.codes import ChatEndReason, EndedBy, SessionEndReason
from axp_chat_connector.protocol.ids import AxpSessionId, SessionId
from axp_chat_connector.sessions import tokens
from axp_chat_connector.sessions.chat import Chats
from axp_chat_connector.sessions.closing import Closing, chat_ended_event
from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.identity import verify_id_token
from axp_chat_connector.sessions.lifecycle import INITIAL, Input, Outcome, attempt, step
from axp_chat_connector.sessions.record import SessionRecord, to_doc
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.sessions.replies import Answer, Bound
from axp_chat_connector.sessions.timers import Timers
from axp_chat_connector.store.base import Store

_log = structlog.get_logger(__name__)


class Logins:
    def __init__(
        self,
        *,
        records: SessionRecords,
        closing: Closing,
        chats: Chats,
        timers: Timers,
        store: Store,
        axp: AxpClient,
        config: ServiceConfig,
    ) -> None:
        self.records = records
        self.closing = closing
        self.chats = chats
        self.timers = timers
        self.store = store
        self.axp = axp
        self.config = config

    async def login(self, command: frames.Login) -> Answer:
        name, identifiers = self._customer(command)
        parameters = dict(command.parameters)
        created = await self.axp.create_session(
            customer_identifiers=identifiers,
            display_name=name,
            session_parameters=parameters or None,
            correlation_id=str(uuid.uuid4()),
        )
        session_id = SessionId(str(uuid.uuid4()))
        record = SessionRecord(
            session_id=session_id,
            state=INITIAL.session,
            display_name=name,
            identifiers=identifiers,
            parameters=parameters,
            axp_session_id=AxpSessionId(created.sessionId),
            customer_participant_id=getattr(created, "participantId", None),
        )
        await self.store.create_session(session_id, to_doc(record), now=self.records.clock())
        await self.store.put_route("axp_session", created.sessionId, session_id)
        token, expires_at = await self._new_token(session_id)
        _log.info("session.created", session_id=session_id)
        frame = codec.ok(
            command.id,
            sessionId=session_id,
            token=token,
            expiresAt=events.timestamp(expires_at),
            seq=0,
            heartbeat=self.config.heartbeat,
        )
        return Answer(frame, bound=Bound(session_id, 0))

    def _customer(self, command: frames.Login) -> tuple[str, dict[str, list[str]]]:
        """The customer's name and identifiers: verified (idToken) or as given (guest mode)."""
        config = self.config
        if command.id_token is not None:
            if config.id_token_policy is None:
                raise Forbidden("verified login (idToken) is not configured")
            verified = verify_id_token(command.id_token, self.records.now(), config.id_token_policy)
            return verified.display_name, {k: list(v) for k, v in verified.identifiers.items()}
        if not config.guest_mode or command.customer is None:
            raise Forbidden("guest login is disabled: log in with an idToken")
        customer = command.customer
        return customer.display_name, {k: list(v) for k, v in customer.identifiers.items()}

    async def session_of_token(self, token: str) -> SessionId:
        """The session a token names, while it may still talk (a ping would be accepted)."""
        config = self.config
        session_id = tokens.verify(
            token, self.records.now(), config.token_secret, config.token_secret_previous
        )
        record, _ = await self.records.load(session_id)
        step(record.phase, Input.PING)  # NotFound once the session has ended
        return session_id

    async def resume(self, command: frames.Resume) -> Answer:
        session_id = await self.session_of_token(command.token)
        await self.store.touch_session(session_id, now=self.records.clock())
        last = await self.store.last_seq(session_id)
        after = min(command.after, last)
        oldest = await self.store.oldest_seq(session_id)
        if after + 1 < oldest:
            # bound all the same, from the oldest kept event: the client calls `history`
            return Answer(codec.error(Gap(oldest), command.id), bound=Bound(session_id, oldest - 1))
        token, expires_at = await self._new_token(session_id)
        frame = codec.ok(
            command.id,
            sessionId=session_id,
            seq=last,
            token=token,
            expiresAt=events.timestamp(expires_at),
            heartbeat=self.config.heartbeat,
        )
        return Answer(frame, bound=Bound(session_id, after))

    async def _new_token(self, session_id: str) -> tuple[str, datetime]:
        """A fresh token, its renewal scheduled."""
        config = self.config
        token, expires_at = tokens.issue(
            SessionId(session_id), self.records.now(), config.token_secret, config.token_ttl
        )
        await self.timers.renew_token_before(session_id, expires_at.timestamp())
        return token, expires_at

    async def renew_token(self, session_id: str) -> None:
        """The token renewal timer fired: `session.token` with a fresh one."""
        token, expires_at = await self._new_token(session_id)
        renewed = events.session_token(self.records.now(), token=token, expires_at=expires_at)
        await self.records.append(session_id, [renewed])

    async def logout(self, session_id: str, reason: SessionEndReason) -> None:
        """End the chat if any, delete the AXP session, tell the clients (logout, inactivity)."""
        what = Input.LOGOUT if reason is SessionEndReason.USER_CLOSED else Input.SESSION_IDLE
        record = await self.records.step(session_id, what)
        if record is None:
            return
        await self._end_chat(record, reason)
        if record.axp_session_id is not None:
            axp_reason: Reason = (
                "USER_CLOSED" if reason is SessionEndReason.USER_CLOSED else "USER_INACTIVE"
            )
            with contextlib.suppress(AxpNotFound):
                await self.axp.delete_session(record.axp_session_id, axp_reason)
        await self.closing.finish_session(session_id, reason)

    async def _end_chat(self, record: SessionRecord, reason: SessionEndReason) -> None:
        """A logout ends the chat, if one is live (closing it would proceed)."""
        closing = attempt(record.phase, Input.CHAT_CLOSED)
        if closing is None or closing.outcome is not Outcome.PROCEED:
            return
        chat_reason = (
            ChatEndReason.USER_CLOSED
            if reason is SessionEndReason.USER_CLOSED
            else ChatEndReason.USER_INACTIVE
        )
        try:
            await self.chats.disconnect(record, chat_reason)
        except ConnectorError as exc:
            _log.warning("logout.disconnect_failed", session_id=record.session_id, error=exc.code)
            ended = chat_ended_event(
                record, self.records.now(), by=EndedBy.SYSTEM, reason=chat_reason
            )
            await self.closing.close_chat(record.session_id, ended)
