"""Memory stays bounded under a flood of connections and logins (real `serve`): the process's
RSS before and after is printed and held to a generous bound."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from tests.faults.tally import TALLY
from tests.fuzz.conftest import Live

pytestmark = pytest.mark.e2e

ROUNDS = 4
CONNECTIONS_PER_ROUND = 100
LOGINS_PER_ROUND = 40
GROWTH_LIMIT_MIB = 64.0
"""Generous: a leak of one session or connection per request would exceed it within a few
rounds; allocator noise and caches stay far below."""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def silent_connection(ws_url: str) -> None:
    """A connection that never logs in, dropped without a close frame."""
    with contextlib.suppress(OSError, WebSocketException):
        async with connect(ws_url, ping_interval=None, open_timeout=10) as conn:
            conn.transport.abort()


async def ws_login(ws_url: str, number: int) -> str:
    customer = {"displayName": "Flood", "identifiers": {"emailAddresses": [f"f{number}@x.org"]}}
    with contextlib.suppress(OSError, WebSocketException):
        async with connect(ws_url, ping_interval=None, open_timeout=10) as conn:
            await conn.send(json.dumps({"type": "login", "id": "l", "customer": customer}))
            answer = json.loads(await asyncio.wait_for(conn.recv(), 20))
            assert answer.get("type") in ("ok", "error"), answer
            return str(answer.get("code", "ok"))
    return "dropped"


async def flood(base_url: str, round_: int) -> dict[str, int]:
    ws_url = base_url.replace("http://", "ws://") + "/v1/ws"
    await asyncio.gather(*(silent_connection(ws_url) for _ in range(CONNECTIONS_PER_ROUND)))
    start = round_ * LOGINS_PER_ROUND
    outcomes = await asyncio.gather(
        *(ws_login(ws_url, n) for n in range(start, start + LOGINS_PER_ROUND))
    )
    TALLY["flood: connections"] += CONNECTIONS_PER_ROUND + LOGINS_PER_ROUND
    return {o: outcomes.count(o) for o in set(outcomes)}


async def test_rss_stays_bounded_under_a_flood_of_connections_and_logins(live: Live) -> None:
    proc = live.stack.proc
    assert proc is not None
    await flood(live.stack.connector_url, 0)  # warm up: imports, pools, caches
    before = rss_mib(proc.pid)
    seen: dict[str, int] = {}
    for round_ in range(1, ROUNDS + 1):
        for outcome, count in (await flood(live.stack.connector_url, round_)).items():
            seen[outcome] = seen.get(outcome, 0) + count
    after = rss_mib(proc.pid)
    print(f"\nflood: RSS {before:.1f} MiB before, {after:.1f} MiB after; logins {seen}")
    TALLY["flood: RSS growth KiB"] += int((after - before) * 1024)
    assert seen.get("ok", 0) > 0, seen
    assert set(seen) <= {"ok", "rate_limited", "upstream_unavailable", "dropped"}, seen
    assert after - before < GROWTH_LIMIT_MIB, f"RSS grew {after - before:.1f} MiB"
    async with httpx.AsyncClient(base_url=live.stack.connector_url) as http:
        assert (await http.get("/readyz")).status_code == 200
