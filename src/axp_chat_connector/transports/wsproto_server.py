"""uvicorn's wsproto WebSocket protocol with the close codes PROTOCOL.md §6 and RFC 6455 promise.

Two cases uvicorn handles below the ASGI app, where the handler cannot answer them:
- a message over `ws_max_size` (set to `max_frame_bytes`): uvicorn closes with 1009; here it is
  closed with 4413 `too_large`, whatever its size, as soon as the bytes received pass the
  limit (nothing more is buffered);
- a frame wsproto cannot parse (a text frame that is not UTF-8: 1007; a protocol error: 1002):
  wsproto reports it as a close from the peer, and uvicorn drops the TCP connection without a
  close frame; here the close frame with wsproto's code is sent first.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, CloseConnection, TextMessage

from axp_chat_connector.protocol.codes import CloseCode

_UTF8_MAX_BYTES = 4
"""The most bytes one character takes in UTF-8."""


class ConnectorWSProtocol(WSProtocol):
    def handle_message(self, event: TextMessage | BytesMessage) -> None:
        if self._would_exceed(event):
            self._close_at_once(CloseCode.TOO_LARGE, "frame too large")
            return
        super().handle_message(event)

    def handle_close(self, event: CloseConnection) -> None:
        if not self.close_sent and self.conn.state is ConnectionState.OPEN:
            # not sent by the peer (it would have moved the state): a frame wsproto refused
            self._close_at_once(event.code, event.reason or "")
            return
        super().handle_close(event)

    def _would_exceed(self, event: TextMessage | BytesMessage) -> bool:
        room = self.buffer.max_length - self.buffer.length
        data = event.data
        if len(data) > room:  # a character is at least one byte
            return True
        if isinstance(data, str) and len(data) * _UTF8_MAX_BYTES > room:
            return len(data.encode("utf-8", "surrogatepass")) > room
        return False

    def _close_at_once(self, code: int, reason: str) -> None:
        """Tell the app the socket is gone, send the close frame, and drop the connection."""
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        if not self.transport.is_closing():
            self.transport.write(self.conn.send(CloseConnection(code=code, reason=reason)))
            self.transport.close()
