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
from typing import Any, Final

import structlog

from axp_chat_connector.errors import (
    AxpError,
    AxpNotFound,
    AxpOutcomeUnknown,
    AxpRejected,
    ConnectorError,
    StoreUnavailable,
)
from axp_chat_connector.protocol import events
from axp_chat_connector.sessions.core import SessionCore
from axp_chat_connector.sessions.inbound import Inbound
from axp_chat_connector.sessions.lifecycle import Input, Outcome, step
from axp_chat_connector.store.base import OutboxItem

_log = structlog.get_logger(__name__)

OUTCOME_UNKNOWN: Final = "outcome_unknown"
_IDLE_POLL: Final = 1.0


class OutboxWorker:
    def __init__(self, core: SessionCore, inbound: Inbound, wake: asyncio.Event) -> None:
        self.core = core
        self.inbound = inbound
        self.wake = wake
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
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), _IDLE_POLL)

    async def run_once(self) -> int:
        config = self.core.config
        items = await self.core.store.outbox_claim(
            self.owner, now=self.core.clock(), lease=config.outbox_lease, limit=50
        )
        if items:
            await asyncio.gather(*(self.deliver(item) for item in items))
        return len(items)

    async def deliver(self, item: OutboxItem) -> None:
        store, axp = self.core.store, self.core.axp
        try:
            record, _ = await self.core.load(item.session_id)
        except ConnectorError:
            await store.outbox_done(item.item_id)  # the session is gone: nothing to deliver
            return
        pmid = item.item_id
        payload: dict[str, Any] = item.payload
        if pmid not in record.outbox:
            await store.outbox_done(item.item_id)  # settled by AXP's callback already
            return
        if record.axp_session_id is None or record.dialog_id != payload["dialogId"]:
            await self._fail(item, "invalid_state", "the chat ended before the message was sent")
            return
        if item.last_error == OUTCOME_UNKNOWN:
            if await self._found_at_axp(item, record):
                return
            if item.attempts >= self.core.config.outbox_max_attempts:
                # not at AXP after as many lost answers as attempts allowed: give up
                await self._fail(item, "upstream_unavailable", "AXP did not answer the send")
                return
        try:
            answer = await axp.send_message(
                payload["engagementId"],
                session_id=record.axp_session_id,
                dialog_id=payload["dialogId"],
                body=payload["body"],
                provider_message_id=pmid,
            )
        except AxpOutcomeUnknown:
            await store.outbox_retry(
                pmid,
                not_before=self.core.clock() + self.core.config.settle_wait,
                attempts=item.attempts + 1,
                last_error=OUTCOME_UNKNOWN,
            )
            return
        except AxpNotFound as exc:
            await self._fail(item, exc.code, exc.detail)
            if await self.core.axp_session_gone(record):
                # AXP forgot the customer's session while the chat was open (PROTOCOL §3)
                current, _ = await self.core.load(item.session_id)
                gone = step(current.phase, Input.AXP_SESSION_GONE)
                if gone.outcome is Outcome.END_CHAT_AND_SESSION:
                    await self.core.end_chat_and_session(current)
            return
        except AxpRejected as exc:
            await self._fail(item, exc.code, exc.detail)
            return
        except AxpError as exc:
            await self._retry_or_fail(item, exc)
            return
        echo = self.inbound.echo(
            record, pmid, payload["body"], answer.messageIndex, answer.messageId
        )
        await self.inbound.settle(
            item.session_id, pmid, answer.messageIndex, echo, dialog_id=payload["dialogId"]
        )
        await store.outbox_done(pmid)
        _log.info("outbox.delivered", session_id=item.session_id, attempts=item.attempts + 1)

    async def _found_at_axp(self, item: OutboxItem, record: Any) -> bool:
        """After a lost answer and no callback: is our message at AXP? (one List Messages)"""
        payload = item.payload
        try:
            page = await self.core.axp.list_messages(
                payload["engagementId"],
                session_id=record.axp_session_id,
                dialog_id=payload["dialogId"],
                page_size=50,
            )
        except AxpError:
            return False
        total = page.pagination.total if page.pagination and page.pagination.total else 0
        messages = list(page.messages or [])
        if total > 50:
            last = (total + 49) // 50
            try:
                tail = await self.core.axp.list_messages(
                    payload["engagementId"],
                    session_id=record.axp_session_id,
                    dialog_id=payload["dialogId"],
                    page_number=last,
                    page_size=50,
                )
                messages += list(tail.messages or [])
            except AxpError:
                pass
        for message in messages:
            if message.providerMessageId == item.item_id:
                echo = self.inbound.echo(
                    record, item.item_id, payload["body"], message.messageIndex, message.messageId
                )
                await self.inbound.settle(
                    item.session_id,
                    item.item_id,
                    message.messageIndex,
                    echo,
                    dialog_id=payload["dialogId"],
                )
                await self.core.store.outbox_done(item.item_id)
                return True
        return False

    async def _retry_or_fail(self, item: OutboxItem, exc: AxpError) -> None:
        config = self.core.config
        attempts = item.attempts + 1
        if attempts >= config.outbox_max_attempts:
            await self._fail(item, "upstream_unavailable", exc.message)
            return
        delay = min(config.outbox_backoff_max, config.outbox_backoff_base * 2 ** (attempts - 1))
        delay *= 0.5 + random.random() / 2
        _log.info("outbox.retry", session_id=item.session_id, attempts=attempts, error=exc.code)
        await self.core.store.outbox_retry(
            item.item_id,
            not_before=self.core.clock() + delay,
            attempts=attempts,
            last_error=exc.code,
        )

    async def _fail(self, item: OutboxItem, code: str, detail: Any) -> None:
        command_id = item.payload.get("clientMessageId") or item.item_id.split(":", 1)[-1]
        failed = events.message_failed(
            self.core.now(), client_message_id=command_id, code=code, detail=detail
        )
        await self.inbound.settle(item.session_id, item.item_id, None, failed)
        await self.core.store.outbox_done(item.item_id)
        _log.warning("outbox.failed", session_id=item.session_id, code=code)
