"""Bare Starlette on uvicorn: `GET /ws?id=ID` (WebSocket) and `POST /push/ID`.

python -m benchmarks.peers.bare PORT
"""

from __future__ import annotations

import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from benchmarks.peers import serve

sockets: dict[str, WebSocket] = {}


async def connect(websocket: WebSocket) -> None:
    client_id = websocket.query_params["id"]
    await websocket.accept()
    sockets[client_id] = websocket
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        sockets.pop(client_id, None)


async def push(request: Request) -> Response:
    target = sockets.get(request.path_params["client_id"])
    if target is None:
        return Response(status_code=404)
    await target.send_text((await request.body()).decode())
    return Response(b"ok")


app = Starlette(
    routes=[WebSocketRoute("/ws", connect), Route("/push/{client_id}", push, methods=["POST"])]
)

if __name__ == "__main__":
    serve(app, int(sys.argv[1]))
