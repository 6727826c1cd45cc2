"""`SessionRecords`: the one way the session layer reads and writes a session document.

Read-modify-write with compare-and-set (`change`), the same with the events the change causes
in one atomic store step (`change_and_append`), and plain appends; every append rings the bus
afterwards (append then publish: a notice never announces an event that is not durable), or
the store rings it in the write's own step (`notices`: a Redis store on the bus's server).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from axp_chat_connector.bus.base import Bus
from axp_chat_connector.errors import Conflict, NotFound
from axp_chat_connector.sessions.lifecycle import Input, Outcome, attempt, step
from axp_chat_connector.sessions.memory import Loaded as Loaded
from axp_chat_connector.sessions.memory import SessionMemory
from axp_chat_connector.sessions.record import SessionRecord, from_doc, to_doc
from axp_chat_connector.store.base import DeadlineAt, Store

Clock = Callable[[], float]
Edit = Callable[[SessionRecord], tuple[SessionRecord, list[dict[str, Any]]] | None]
"""The new record and the events the change causes, or None: nothing to change."""


class SessionRecords:
    def __init__(
        self,
        *,
        store: Store,
        bus: Bus,
        clock: Clock,
        notices: Callable[[str], str] | None = None,
        memory: SessionMemory | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.notices = notices
        """Session id → the bus channel the store publishes a write's notice on, when it can
        (`Store.update_session_and_append(notice=…)`); None: this class rings the bus."""
        self.memory = memory
        """What this process last read (`load(remember=True)`) or wrote of the sessions it was
        asked to remember (`recall`); None: nothing is remembered."""

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def load(self, session_id: str, *, remember: bool = False) -> Loaded:
        """The session as the store holds it now. `remember`: keep it in the memory, which
        then follows the session's writes through this object (`recall`)."""
        found = await self.store.get_session(session_id)
        if found is None:
            if self.memory is not None:
                self.memory.forget(session_id)
            raise NotFound("no such session")
        doc, version = found
        loaded = from_doc(doc), version
        if self.memory is not None:
            if remember:
                self.memory.remember(session_id, loaded)
            else:
                self.memory.refresh(session_id, loaded)
        return loaded

    def recall(self, session_id: str) -> Loaded | None:
        """The session as this process last read or wrote it, if it was asked to remember it:
        possibly stale (see `sessions/memory.py`: use it only to compute a write)."""
        return None if self.memory is None else self.memory.recall(session_id)

    def _wrote(self, session_id: str, loaded: Loaded | None) -> None:
        """A write succeeded (`loaded`: the new state) or lost its compare-and-set (None)."""
        if self.memory is None:
            return
        if loaded is None:
            self.memory.forget(session_id)
        else:
            self.memory.refresh(session_id, loaded)

    async def change(
        self,
        session_id: str,
        edit: Callable[[SessionRecord], Awaitable[SessionRecord | None] | SessionRecord | None],
        *,
        loaded: Loaded | None = None,
        attempts: int = 8,
    ) -> SessionRecord | None:
        """Read-modify-write with compare-and-set; `edit` returns the new record or None (no
        change). Retried on a conflict with another writer (another instance, a webhook).
        `loaded` is a (record, version) just read, to save the first read."""
        for _ in range(attempts):
            record, version = loaded or await self.load(session_id)
            loaded = None
            result = edit(record)
            updated = await result if isinstance(result, Awaitable) else result
            if updated is None:
                return None
            try:
                moved = await self.store.update_session(
                    session_id, to_doc(updated), expected_version=version
                )
            except Conflict:
                self._wrote(session_id, None)
                continue
            self._wrote(session_id, (updated, moved))
            return updated
        raise Conflict(f"session {session_id} kept changing")

    async def step(
        self, session_id: str, what: Input, *, strict: bool = True
    ) -> SessionRecord | None:
        """Move the session's phase by the lifecycle table (compare-and-set): the moved
        record, or None when the move is NOOP. `strict`: a pair not in the table raises (as
        `lifecycle.step`); otherwise it is None too (a happening that no longer applies)."""

        def edit(current: SessionRecord) -> SessionRecord | None:
            move = step(current.phase, what) if strict else attempt(current.phase, what)
            if move is None or move.outcome is not Outcome.PROCEED:
                return None
            return replace(current, state=move.phase.session, chat=move.phase.chat)

        return await self.change(session_id, edit)

    async def append(
        self, session_id: str, new: list[dict[str, Any]], *, dedupe_key: str | None = None
    ) -> list[int]:
        """Append durable events and ring the bus; with `dedupe_key`, only if it was not
        marked yet (marked in the same step; `[]` for a duplicate)."""
        if not new:
            return []
        seqs = await self.store.append_events(
            session_id, new, now=self.clock(), dedupe_key=dedupe_key
        )
        await self._appended(session_id, seqs, new)
        return seqs

    async def change_and_append(
        self,
        session_id: str,
        edit: Edit,
        *,
        loaded: Loaded | None = None,
        dedupe_key: str | None = None,
        attempts: int = 8,
    ) -> tuple[SessionRecord, list[int]] | None:
        """`change`, where `edit` also names the events the change causes: the new document
        and the events are written in one atomic step (a crash between the two cannot leave a
        state that says "done" with its event missing). None when `edit` changed nothing, or
        when `dedupe_key` was marked already (see `write`)."""
        for _ in range(attempts):
            record, version = loaded or await self.load(session_id)
            loaded = None
            result = edit(record)
            if result is None:
                return None
            updated, new = result
            try:
                seqs = await self.write(updated, version, new, dedupe_key=dedupe_key)
            except Conflict:
                continue
            return None if seqs is None else (updated, seqs)
        raise Conflict(f"session {session_id} kept changing")

    async def write(
        self,
        record: SessionRecord,
        version: int,
        new: list[dict[str, Any]],
        *,
        dedupe_key: str | None = None,
        deadlines: Sequence[DeadlineAt] = (),
    ) -> list[int] | None:
        """Compare-and-set `record` (read at `version`) and append `new`, in one atomic step,
        then ring the bus: the seqs given. With `dedupe_key`, marked in the same step: None
        (nothing written) when it was marked already. Raises `Conflict` (nothing written, the
        key left unmarked) when the session moved since `version`. `deadlines`: (kind, at)
        timers set with the write, only if it happens (no store call of their own)."""
        notice = None if self.notices is None else self.notices(record.session_id)
        try:
            written = await self.store.update_session_and_append(
                record.session_id,
                to_doc(record),
                expected_version=version,
                events=new,
                now=self.clock(),
                dedupe_key=dedupe_key,
                deadlines=deadlines,
                notice=notice,
            )
        except Conflict:
            self._wrote(record.session_id, None)
            raise
        if written is None:
            return None
        self._wrote(record.session_id, (record, written[0]))
        seqs = written[1]
        if notice is None:
            await self._appended(record.session_id, seqs, new)
        return seqs

    async def _appended(self, session_id: str, seqs: list[int], new: list[dict[str, Any]]) -> None:
        """Ring the bus with the events as the log now holds them (`seq` first), so the
        session's connections need not read them back."""
        if seqs:
            logged = tuple(
                {"seq": seq, **{k: v for k, v in event.items() if k != "seq"}}
                for seq, event in zip(seqs, new, strict=True)
            )
            await self.bus.publish(session_id, seqs[-1], logged)
