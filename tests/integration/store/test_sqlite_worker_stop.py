"""Stopping the SQLite worker while writes are queued: they finish, then the connection closes
(a close batched with them used to close it inside their transaction and kill the thread, so
every later caller waited for ever)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

from axp_chat_connector.store.sqlite_worker import SqliteWorker


async def test_writes_queued_before_stop_complete_and_the_thread_ends(tmp_path: Path) -> None:
    worker = SqliteWorker(asyncio.get_running_loop())
    await worker.start(str(tmp_path / "w.db"))
    await worker.submit(lambda conn: conn.execute("CREATE TABLE t (n INTEGER)"), write=True)

    def insert(n: int) -> Callable[[sqlite3.Connection], object]:
        return lambda conn: conn.execute("INSERT INTO t VALUES (?)", (n,))

    writes = [asyncio.ensure_future(worker.submit(insert(n), write=True)) for n in range(50)]
    await asyncio.sleep(0)  # noqa: sleep-ok (one loop turn: the writes are queued)
    await asyncio.wait_for(worker.stop(), timeout=10)
    done = await asyncio.wait_for(asyncio.gather(*writes, return_exceptions=True), timeout=10)
    assert not [outcome for outcome in done if isinstance(outcome, BaseException)]

    again = SqliteWorker(asyncio.get_running_loop())
    await again.start(str(tmp_path / "w.db"))
    rows = await again.submit(
        lambda conn: conn.execute("SELECT COUNT(*) FROM t").fetchone(), write=False
    )
    await again.stop()
    assert rows == (50,)
