"""python-socketio (ASGI, on uvicorn): clients connect with auth `{"id": ID}`; `POST /push/ID`
emits event `message` with the body to that client.

    python -m benchmarks.peers.pysocketio PORT
"""

from __future__ import annotations

import sys
from typing import Any

import socketio
from starlette.types import Receive, Scope, Send

from benchmarks.peers import serve

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
sid_of: dict[str, str] = {}


async def connect(sid: str, environ: dict[str, Any], auth: dict[str, str]) -> None:
    sid_of[auth["id"]] = sid


sio.on("connect", connect)


async def push(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    sid = sid_of.get(scope["path"].rsplit("/", 1)[-1])
    status = 404 if sid is None else 200
    if sid is not None:
        await sio.emit("message", body.decode(), to=sid)
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


app = socketio.ASGIApp(sio, other_asgi_app=push)

if __name__ == "__main__":
    serve(app, int(sys.argv[1]))
