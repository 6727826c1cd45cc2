"""Headers every HTTP answer of the connector carries (a raw ASGI middleware: no body copy).

- `X-Content-Type-Options: nosniff`: a browser never reads a JSON answer or a file as
  something else (a script, a page);
- `Content-Security-Policy: default-src 'none'; frame-ancestors …`: an answer opened as a page
  may load nothing and be framed only by the `frame_ancestors` sources (`'none'` by default;
  setting `AXP_CHAT_FRAME_ANCESTORS`). A script (`/sdk/`, `/widget/`) loaded by a host page
  runs under that page's policy, not this one.
Headers an answer sets itself are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def policy(frame_ancestors: Sequence[str]) -> str:
    return f"default-src 'none'; frame-ancestors {' '.join(frame_ancestors)}"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, frame_ancestors: Sequence[str] = ("'none'",)) -> None:
        self.app = app
        self.headers: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"content-security-policy", policy(frame_ancestors).encode("latin-1")),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [pair for pair in self.headers if pair[0] not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
