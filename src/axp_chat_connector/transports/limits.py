"""Every knob of the client transports (the pacing of commands is `pacing.Pace`).

`TransportLimits` is a frozen value built once (from `Settings` by the caller) and passed to the
WebSocket handler, the long-polling endpoints and the hub. `uvicorn_options` gives the server
settings that must agree with it (heartbeat pings, the largest message uvicorn buffers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

from axp_chat_connector.transports.wsproto_server import ConnectorWSProtocol

KIB = 1024


@dataclass(frozen=True, slots=True)
class TransportLimits:
    max_frame_bytes: int = 64 * KIB
    """Largest command frame (WebSocket text frame, or one command of a long-polling batch);
    bigger: WebSocket close 4413, long polling `too_large`."""
    max_body_bytes: int = 256 * KIB
    """Largest `POST /v1/poll/commands` body (a batch); bigger: 413 problem."""
    bind_timeout: float = 10.0
    """Seconds a WebSocket may stay without a successful `login`/`resume`: close 4408."""
    commands_per_second: float = 20.0
    """Sustained commands per second per connection (long polling: per session)."""
    command_burst: int = 40
    """Commands allowed at once above the sustained rate."""
    flood_strikes: int = 20
    """Commands refused in a row (`rate_limited`) before a WebSocket is closed with 4429 (long
    polling: the request is answered 429)."""
    allowed_origins: frozenset[str] = field(default_factory=frozenset)
    """`Origin` values allowed for WebSocket upgrades and long polling (scheme://host[:port]);
    empty or containing `*`: any. Requests without `Origin` (not from a browser) are allowed."""
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    """Networks of the reverse proxies whose `X-Forwarded-For` is honoured (empty: nobody's;
    the peer is the client)."""
    logins_per_address_per_minute: int = 10
    """`login` commands per client address per minute (`rate_limited` beyond)."""
    logins_per_minute: int = 600
    """`login` commands per minute on this instance, all clients together."""
    connections_per_address: int = 50
    """WebSockets, SSE streams and held long polls open at once per client address (one more:
    WebSocket close 4429, HTTP 429)."""
    poll_max_wait: float = 30.0
    """Longest a `GET /v1/poll/events` is held (`wait` is clamped to it)."""
    poll_default_wait: float = 25.0
    """`wait` when the request gives none."""
    max_held_per_session: int = 4
    """Long polls and SSE streams held at once for one session (setting `polls_per_session`);
    one more is answered 429 `rate_limited` (a client needs one; a reconnect may overlap the
    old one for a moment)."""
    max_batch: int = 20
    """Commands per `POST /v1/poll/commands`."""
    max_events_per_read: int = 100
    """Events read from the log at once by a pump (and returned by one long poll)."""
    heartbeat: float = 20.0
    """Seconds between WebSocket pings (uvicorn `ws_ping_interval`); told to clients at login."""
    heartbeat_timeout: float = 20.0
    """Seconds to wait for a pong before closing a dead WebSocket (uvicorn `ws_ping_timeout`)."""
    slow_consumer_seconds: float = 30.0
    """Longest a WebSocket may take to accept one frame (its socket buffer full): the
    connection is dropped instead of holding events for it."""
    max_pending_ephemeral: int = 32
    """Ephemeral events (typing) kept for a busy WebSocket; older ones are dropped."""
    recheck_seconds: float = 30.0
    """Every so often the hub compares each local session's last seq with its connections'
    cursors and wakes those behind (a lost bus notice delays, never loses); 0: never."""
    subscription_linger: float = 10.0
    """Seconds the hub keeps a session's bus subscription after its last local connection
    left: a long poll's next request (or a reconnect) finds it (no SUBSCRIBE round trip per
    poll on Redis); 0: closed at once."""

    def origin_allowed(self, origin: str | None) -> bool:
        if origin is None or not self.allowed_origins or "*" in self.allowed_origins:
            return True
        return origin.rstrip("/").lower() in self.allowed_origins

    def trusted(self, host: str) -> bool:
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.trusted_proxies)

    def client_address(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address: `peer`, or when the peer is a trusted proxy the right-most
        `X-Forwarded-For` hop that is not one (all of them trusted: the left-most)."""
        if not self.trusted(peer):
            return peer
        hops = [hop.strip() for hop in (forwarded_for or "").split(",")]
        hops = [hop for hop in hops if hop]
        for hop in reversed(hops):
            if not self.trusted(hop):
                return hop
        return hops[0] if hops else peer

    def __post_init__(self) -> None:
        normalised = frozenset(o.rstrip("/").lower() for o in self.allowed_origins)
        object.__setattr__(self, "allowed_origins", normalised)
        if self.max_frame_bytes < 1 or self.max_body_bytes < 1:
            raise ValueError("frame and body limits must be positive")
        if self.commands_per_second <= 0 or self.command_burst < 1 or self.flood_strikes < 1:
            raise ValueError("rate limits must be positive")
        if not 0 < self.poll_default_wait <= self.poll_max_wait:
            raise ValueError("poll_default_wait must be in (0, poll_max_wait]")
        if self.max_batch < 1 or self.max_events_per_read < 1:
            raise ValueError("batch sizes must be positive")
        if self.max_held_per_session < 1 or self.connections_per_address < 1:
            raise ValueError("max_held_per_session and connections_per_address must be positive")
        if self.logins_per_address_per_minute < 1 or self.logins_per_minute < 1:
            raise ValueError("login limits must be positive")


def uvicorn_options(limits: TransportLimits) -> dict[str, Any]:
    """uvicorn settings for the connector: the wsproto stack (least memory per idle socket) with
    the connector's close codes (`wsproto_server`: 4413 for a message over `max_frame_bytes`,
    whatever its size, 1007 for invalid UTF-8), heartbeat pings as timers, no per-message
    deflate (zlib contexts: ~100 KB per socket once a message has passed), and no uvicorn
    proxy-header middleware (`create_app` applies it to HTTP requests only)."""
    return {
        "ws": ConnectorWSProtocol,
        "ws_ping_interval": limits.heartbeat,
        "ws_ping_timeout": limits.heartbeat_timeout,
        "ws_max_size": limits.max_frame_bytes,
        "ws_per_message_deflate": False,
        "proxy_headers": False,
        "interface": "asgi3",
    }
