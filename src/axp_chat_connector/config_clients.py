"""The client-facing half of the settings: who may connect, how much, and who reads `/metrics`.

`ClientSettings` is a base of `config.Settings` (after `config_axp.AxpSettings`: its fields come
right after the AXP ones in docs/settings.md): browser origins, framing, trusted proxies and the
rates and counts one client may use, and the listener that serves `/metrics`. Kept apart so
that each module stays one readable concept.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network

from pydantic import BaseModel, Field, field_validator

from axp_chat_connector.config_values import check_networks, check_origins


class ClientSettings(BaseModel):
    """Who may connect to the connector, how much one client may do, who reads `/metrics`, and
    when the garbage collector may pause the process."""

    # -- clients: who may connect, and how much -----------------------------------------------
    allowed_origins: list[str] = Field(
        description=(
            "Browser origins allowed to open WebSockets, SSE streams and long polls, e.g. "
            '`["https://www.acme.com"]`; `["*"]` allows any origin and must be said on purpose.'
        ),
    )
    frame_ancestors: list[str] = Field(
        default_factory=lambda: ["'none'"],
        description=(
            "Pages allowed to frame the connector's own answers (the SDK and widget files, the "
            'API), as the CSP `frame-ancestors` sources, e.g. `["https://www.acme.com"]`; '
            "`[\"'none'\"]`: no page may (the widget is a script on the host page, not a frame)."
        ),
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description=(
            "Addresses or CIDR networks of the reverse proxies in front of the connector, e.g. "
            '`["10.0.0.0/8"]`; forwarded headers (`X-Forwarded-For`, `Forwarded`) are honoured '
            "only from them (empty: from nobody, the peer address is the client's)."
        ),
    )
    logins_per_ip_per_minute: int = Field(
        10,
        ge=1,
        le=100_000,
        description=(
            "`login` commands one client address may make per minute (each may create an AXP "
            "session)."
        ),
    )
    logins_per_minute: int = Field(
        600,
        ge=1,
        le=1_000_000,
        description="`login` commands per minute on one instance, all clients together.",
    )
    connections_per_ip: int = Field(
        50,
        ge=1,
        le=100_000,
        description=(
            "Open WebSockets, SSE streams and held long polls per client address (customers "
            "behind one NAT share it)."
        ),
    )
    polls_per_session: int = Field(
        4,
        ge=1,
        le=100,
        description="Long polls and SSE streams one session may hold open at once.",
    )
    history_max_pages: int = Field(
        5,
        ge=1,
        le=100,
        description="AXP List Messages pages one `history` command may read.",
    )

    # -- who may read `/metrics` ----------------------------------------------------------------
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description=(
            "Port of a separate listener that serves only `/metrics` (Prometheus), bound to "
            "`AXP_CHAT_METRICS_HOST` (none: no such listener)."
        ),
    )
    metrics_host: str = Field(
        "127.0.0.1", description="Address the `/metrics` listener of `AXP_CHAT_METRICS_PORT` binds."
    )
    metrics_public: bool = Field(
        False,
        description=(
            "Also serve `/metrics` on the public listener, to anyone who can reach it (off: "
            "only on `AXP_CHAT_METRICS_PORT`)."
        ),
    )

    # -- the process: when the garbage collector may pause it ----------------------------------
    gc_freeze_interval: float = Field(
        10.0,
        ge=0,
        le=86400,
        description=(
            "Seconds between two freezes of the long-lived objects (connections), which keeps "
            "them out of the garbage collector's full collections (0: freeze once, after "
            'start-up). See docs/architecture.md, "Garbage collection".'
        ),
    )
    gc_full_interval: float = Field(
        3600.0,
        ge=0,
        le=604800,
        description=(
            "Most seconds between two full collections over the frozen objects too, which "
            "free the reference cycles of connections closed since (one longer pause; one "
            "also comes when the heap doubled; 0: only then)."
        ),
    )

    @field_validator("allowed_origins")
    @classmethod
    def _allowed_origins(cls, value: list[str]) -> list[str]:
        return check_origins(value)

    @field_validator("frame_ancestors")
    @classmethod
    def _frame_ancestors(cls, value: list[str]) -> list[str]:
        for position, source in enumerate(value):
            if not source or any(c.isspace() or c in ";," for c in source):
                raise ValueError(
                    f"entry {position + 1}: expected one CSP source (an origin, 'self' or "
                    "'none'), without spaces, commas or semicolons"
                )
        if not value:
            raise ValueError("expected at least one source; [\"'none'\"] allows no page")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: list[str]) -> list[str]:
        return check_networks(value)

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """`trusted_proxies` parsed, for `address in network` tests."""
        return tuple(ip_network(entry) for entry in self.trusted_proxies)
