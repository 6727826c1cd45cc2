"""One outbox item's failure never stops delivery of the others (issue 15.4)."""

from __future__ import annotations

import pytest

from axp_chat_connector.sessions.outbox import OutboxWorker
from axp_chat_connector.store.base import OutboxItem
from tests.integration.sessions.conftest import Harness


async def test_an_item_that_fails_unexpectedly_does_not_stop_the_outbox(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken, _, _ = await harness.chatting("broken@example.com")
    fine, _, _ = await harness.chatting("fine@example.com")
    deliver = OutboxWorker.deliver

    async def failing_for_one_session(worker: OutboxWorker, item: OutboxItem) -> None:
        if item.session_id == broken:
            raise RuntimeError("a bug that only this item meets")
        await deliver(worker, item)

    monkeypatch.setattr(OutboxWorker, "deliver", failing_for_one_session)
    await harness.ok("send", broken, text="meets the bug")
    await harness.ok("send", fine, text="first after the bug")
    await harness.text(fine, "first after the bug")
    await harness.ok("send", fine, text="and the next one")
    await harness.text(fine, "and the next one")
