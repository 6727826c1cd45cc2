"""The customer's AXP session: the calls that name it (`context`, `identify`), and what to do
when AXP forgot it (PROTOCOL §3): with no chat open, create a new one invisibly and carry on;
with a chat open, end the chat and the connector session (`Closing.axp_forgot_session`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import structlog

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.axp.limits import appended_identifiers, merge_identifiers
from axp_chat_connector.errors import AxpError, AxpNotFound, NotFound
from axp_chat_connector.protocol.ids import AxpSessionId
from axp_chat_connector.sessions.closing import Closing
from axp_chat_connector.sessions.lifecycle import Input, Outcome, step
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.store.base import Store

_log = structlog.get_logger(__name__)

AxpSessionCall = Callable[[str], Awaitable[Any]]
"""A call naming the customer's AXP session (its id passed in)."""


class AxpSessions:
    def __init__(
        self, *, records: SessionRecords, closing: Closing, store: Store, axp: AxpClient
    ) -> None:
        self.records = records
        self.closing = closing
        self.store = store
        self.axp = axp

    async def update_parameters(self, record: SessionRecord, parameters: dict[str, str]) -> None:
        """`context`: AXP's session parameters, then the record's."""

        async def call(axp_session_id: str) -> None:
            await self.axp.update_session_parameters(axp_session_id, parameters)

        record = await self._call(record, call)

        def remember(current: SessionRecord) -> SessionRecord:
            return replace(current, parameters={**current.parameters, **parameters})

        await self.records.change(record.session_id, remember)

    async def append_identifiers(
        self, record: SessionRecord, identifiers: dict[str, list[str]]
    ) -> None:
        """`identify`: AXP's customer identifiers, then the record's (merged, no repeats).
        Refused before AXP is called when the merged whole would break Avaya's limits."""
        appended_identifiers(record.identifiers, identifiers)

        async def call(axp_session_id: str) -> None:
            await self.axp.append_identifiers(axp_session_id, identifiers)

        record = await self._call(record, call)

        def remember(current: SessionRecord) -> SessionRecord:
            return replace(current, identifiers=merge_identifiers(current.identifiers, identifiers))

        await self.records.change(record.session_id, remember)

    async def _call(self, record: SessionRecord, call: AxpSessionCall) -> SessionRecord:
        """`call` with the record's AXP session; once more on a new one if AXP forgot it."""
        for attempt in range(2):
            try:
                if record.axp_session_id is None:
                    raise AxpNotFound(404, operation="session")
                await call(record.axp_session_id)
            except AxpNotFound:
                if attempt:
                    raise
                record = await self.recover(record)
                continue
            break
        return record

    async def recover(self, record: SessionRecord) -> SessionRecord:
        """AXP answered 404 for the customer's session: step AXP_SESSION_GONE. A new AXP
        session (the record naming it is returned), or the session ends (`NotFound`)."""
        move = step(record.phase, Input.AXP_SESSION_GONE)
        if move.outcome is not Outcome.RECREATE_AXP_SESSION:
            await self.closing.axp_forgot_session(record.session_id)
            raise NotFound("the session has ended")
        created = await self.axp.create_session(
            customer_identifiers=record.identifiers,
            display_name=record.display_name,
            session_parameters=record.parameters or None,
        )
        await self.store.put_route("axp_session", created.sessionId, record.session_id)
        updated = await self.records.change(
            record.session_id,
            lambda r: replace(
                r,
                axp_session_id=AxpSessionId(created.sessionId),
                customer_participant_id=getattr(created, "participantId", None),
            ),
        )
        _log.info("session.axp_recreated", session_id=record.session_id)
        assert updated is not None
        return updated

    async def is_gone(self, record: SessionRecord) -> bool:
        """After a 404 from a call naming the customer's AXP session, an engagement and a
        dialog: ask AXP (Get Session) whether the session itself is gone (True), or only the
        engagement or dialog (False; also when AXP cannot tell now)."""
        if record.axp_session_id is None:
            return True
        try:
            await self.axp.get_session(record.axp_session_id)
        except AxpNotFound:
            return True
        except AxpError:
            return False
        return False
