"""Peer servers of the side-by-side run, each started as its own process by `servers.py`.

Every peer does the benchmark's hot path the simplest way its stack allows: a client connects
with an id, and `POST /push/<id>` sends the request body, as text, to that client's socket.
"""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp


def serve(app: ASGIApp, port: int) -> None:
    """uvicorn as the connector runs it: httptools, wsproto, no per-message deflate."""
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        ws="wsproto",
        http="httptools",
        ws_per_message_deflate=False,
        log_level="warning",
    )
