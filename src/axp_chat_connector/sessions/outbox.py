"""The outbox worker: delivers accepted customer sends to AXP, in order per dialog.

Each item is leased from the store (one owner per dialog at a time, so several connector
instances can run a worker each). Outcomes:
- 202: settled (echoed once, with AXP's messageIndex) and removed.
- answer lost (`AxpOutcomeUnknown`: the send may have reached AXP): wait `settle_wait` for the
  MESSAGES callback carrying our `providerMessageId`; if none came, look it up once with List
  Messages (AXP asks not to poll it); only if it is not there, send again — or, after
  `outbox_max_attempts`, `message.failed` (`upstream_unavailable`).
- transient failure (timeouts before sending, 429, 5xx): retried with backoff up to
  `outbox_max_attempts`, then `message.failed`.
- AXP rejected it (4xx): `message.failed` with `upstream_rejected` at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable
from typing import Any, Final

import structlog

from axp_chat_connector.axp.client import AxpClient
from axp_chat_connector.axp.models import chat_in_gen
from axp_chat_connector.errors import (
    AxpError,
    AxpNotFound,
    AxpOutcomeUnknown,
    AxpRejected,
    ConnectorError,
    StoreUnavailable,
)
from axp_chat_connector.protocol import events
from axp_chat_connector.sessions.axp_session import AxpSessions
from axp_chat_connector.sessions.closing import Closing
from axp_chat_connector.sessions.config import ServiceConfig
from axp_chat_connector.sessions.record import SessionRecord
from axp_chat_connector.sessions.records import SessionRecords
from axp_chat_connector.sessions.sends import QueuedSend, command_of
from axp_chat_connector.sessions.settlement import Settlement
from axp_chat_connector.store.base import OutboxItem, Store

_log = structlog.get_logger(__name__)

OUTCOME_UNKNOWN: Final = "outcome_unknown"
_IDLE_POLL: Final = 1.0
_PAGE: Final = 50


class OutboxWorker:
    def __init__(
        self,
        *,
        records: SessionRecords,
        settlement: Settlement,
        closing: Closing,
        axp_sessions: AxpSessions,
        store: Store,
        axp: AxpClient,
        config: ServiceConfig,
        wake: asyncio.Event,
        depth: Callable[[int], None] | None = None,
        claimed: Callable[[list[float], float], None] | None = None,
        waited: Callable[[float], None] | None = None,
    ) -> None:
        self.records = records
        self.settlement = settlement
        self.closing = closing
        self.axp_sessions = axp_sessions
        self.store = store
        self.axp = axp
        self.config = config
        self.wake = wake
        self.depth = depth
        """Told the outbox depth (all instances) whenever the worker goes idle: a gauge."""
        self.claimed = claimed
        """Told the acceptance times of each claimed batch and the time now (oldest age)."""
        self.waited = waited
        """Told each send's seconds from acceptance to delivery or failure."""
        self.owner = f"outbox-{uuid.uuid4()}"

    async def run(self) -> None:
        while True:
            try:
                delivered = await self.run_once()
            except StoreUnavailable as exc:
                _log.warning("outbox.store_unavailable", error=str(exc))
                delivered = 0
            if delivered:
                continue
            if self.depth is not None:
                with contextlib.suppress(StoreUnavailable):
                    self.depth(await self.store.outbox_depth())
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), _IDLE_POLL)

    async def run_once(self) -> int:
        now = self.records.clock()
        items = await self.store.outbox_claim(
            self.owner, now=now, lease=self.config.outbox_lease, limit=50
        )
        if self.claimed is not None:
            self.claimed([item.created_at for item in items], now)
        if items:
            await asyncio.gather(*(self.deliver(item) for item in items))
        return len(items)

    async def deliver(self, item: OutboxItem) -> None:
        try:
            record, _ = await self.records.load(item.session_id)
        except ConnectorError:
            await self.store.outbox_done(item.item_id)  # the session is gone: nothing to deliver
            return
        queued = QueuedSend.from_json(item.payload)
        if record.axp_session_id is None or record.dialog_id != queued.dialog_id:
            await self._fail(item, "invalid_state", "the chat ended before the message was sent")
            return
        if item.last_error == OUTCOME_UNKNOWN:
            if await self._found_at_axp(item, queued, record):
                return
            if item.attempts >= self.config.outbox_max_attempts:
                # not at AXP after as many lost answers as attempts allowed: give up
                await self._fail(item, "upstream_unavailable", "AXP did not answer the send")
                return
        await self._send(item, queued, record, record.axp_session_id)

    async def _send(
        self, item: OutboxItem, queued: QueuedSend, record: SessionRecord, axp_session_id: str
    ) -> None:
        pmid = item.item_id
        try:
            answer = await self.axp.send_message(
                queued.engagement_id,
                session_id=axp_session_id,
                dialog_id=queued.dialog_id,
                body=queued.content.axp_body(),
                provider_message_id=pmid,
            )
        except AxpOutcomeUnknown:
            await self.store.outbox_retry(
                pmid,
                not_before=self.records.clock() + self.config.settle_wait,
                attempts=item.attempts + 1,
                last_error=OUTCOME_UNKNOWN,
            )
            return
        except AxpNotFound as exc:
            await self._fail(item, exc.code, exc.detail)
            if await self.axp_sessions.is_gone(record):
                await self.closing.axp_forgot_session(item.session_id)
            return
        except AxpRejected as exc:
            await self._fail(item, exc.code, exc.detail)
            return
        except AxpError as exc:
            await self._retry_or_fail(item, exc)
            return
        await self._delivered(item, queued, answer.messageIndex, answer.messageId)
        _log.info("outbox.delivered", session_id=item.session_id, attempts=item.attempts + 1)

    async def _delivered(
        self,
        item: OutboxItem,
        queued: QueuedSend,
        index: int | None,
        message_id: str | None,
    ) -> None:
        """AXP has it: settle it (the echo, once) and drop the item."""
        await self.settlement.delivered(
            item.session_id,
            item.item_id,
            queued.content,
            index=index,
            message_id=message_id,
            dialog_id=queued.dialog_id,
        )
        await self._done(item)

    async def _done(self, item: OutboxItem) -> None:
        await self.store.outbox_done(item.item_id)
        if self.waited is not None:
            self.waited(self.records.clock() - item.created_at)

    async def _found_at_axp(
        self, item: OutboxItem, queued: QueuedSend, record: SessionRecord
    ) -> bool:
        """After a lost answer and no callback: is our message at AXP? (List Messages: the
        first page, and the last one if there are more)"""
        first = await self._page(queued, record, 1)
        if first is None:
            return False
        messages = list(first.messages or [])
        total = first.pagination.total if first.pagination and first.pagination.total else 0
        if total > _PAGE:
            last = await self._page(queued, record, (total + _PAGE - 1) // _PAGE)
            messages += list(last.messages or []) if last is not None else []
        for message in messages:
            if message.providerMessageId == item.item_id:
                await self._delivered(item, queued, message.messageIndex, message.messageId)
                return True
        return False

    async def _page(
        self, queued: QueuedSend, record: SessionRecord, number: int
    ) -> chat_in_gen.Messages | None:
        assert record.axp_session_id is not None
        try:
            return await self.axp.list_messages(
                queued.engagement_id,
                session_id=record.axp_session_id,
                dialog_id=queued.dialog_id,
                page_number=number,
                page_size=_PAGE,
            )
        except AxpError:
            return None

    async def _retry_or_fail(self, item: OutboxItem, exc: AxpError) -> None:
        config = self.config
        attempts = item.attempts + 1
        if attempts >= config.outbox_max_attempts:
            await self._fail(item, "upstream_unavailable", exc.message)
            return
        delay = min(config.outbox_backoff_max, config.outbox_backoff_base * 2 ** (attempts - 1))
        delay *= 0.5 + random.random() / 2
        _log.info("outbox.retry", session_id=item.session_id, attempts=attempts, error=exc.code)
        await self.store.outbox_retry(
            item.item_id,
            not_before=self.records.clock() + delay,
            attempts=attempts,
            last_error=exc.code,
        )

    async def _fail(self, item: OutboxItem, code: str, detail: Any) -> None:
        failed = events.message_failed(
            self.records.now(), client_message_id=command_of(item.item_id), code=code, detail=detail
        )
        await self.settlement.failed(item.session_id, item.item_id, failed)
        await self._done(item)
        _log.warning("outbox.failed", session_id=item.session_id, code=code)
