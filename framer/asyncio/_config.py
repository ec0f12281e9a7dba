"""The server's runtime knobs, with API Gateway's values as defaults."""

from __future__ import annotations

from dataclasses import dataclass

from ._engine import MAX_MESSAGE_BYTES
from ._sigv4 import AccessKey, check_keys

__all__ = ["ServerConfig"]


@dataclass(frozen=True)
class ServerConfig:
    """Runtime knobs, with API Gateway's values as defaults (reference §6).

    ``idle_timeout`` and ``max_duration`` are in seconds; both close the
    connection with 1001 "Going away" and run ``$disconnect``.
    ``max_buffer`` bounds the bytes queued for one client that is not reading:
    above it, @connections answers 429 and the server stops reading from that
    client until it drains.
    ``handshake_timeout`` (seconds) closes a connection that has not
    completed a request head, or an upgrade, that long after it opened (or
    after its last plain-HTTP request): a client that connects and sends
    nothing holds a socket no longer.  ``max_handshake_size`` bounds a request
    head (431 above it; the engine's ``Limits.max_handshake_size``, 16 KiB,
    also applies to upgrades).  ``max_request_body`` bounds any request body
    (413 above it, answered before the body is read past it): AWS publishes no
    request size limit for ``apigatewayv2``; 16 MiB is far above any
    WebSocket API's definition and bounds what one request can hold in memory.

    Who may call the plain-HTTP side (control plane, @connections), see the
    README's security section: ``allowed_hosts`` are host names accepted in
    ``Host`` besides the bound address and loopback (``"*"``: any);
    ``require_sigv4`` makes every such call carry a SigV4 signature by one
    of ``access_keys``.
    """

    idle_timeout: float = 600.0
    max_duration: float = 7200.0
    max_buffer: int = 1024 * 1024
    close_timeout: float = 2.0
    shutdown_timeout: float = 10.0
    max_request_body: int = 16 * 1024 * 1024
    handshake_timeout: float = 10.0
    max_handshake_size: int = 16 * 1024
    allowed_hosts: tuple[str, ...] = ()
    require_sigv4: bool = False
    access_keys: tuple[AccessKey, ...] = ()

    def __post_init__(self) -> None:
        for name in ("idle_timeout", "max_duration", "close_timeout", "shutdown_timeout", "handshake_timeout"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"ServerConfig.{name} must be > 0 seconds, got {value!r}")
        if not 1 <= self.max_handshake_size <= 2**31:
            raise ValueError(
                "ServerConfig.max_handshake_size must be between 1 and 2**31 bytes, "
                f"got {self.max_handshake_size!r}"
            )
        if not 1 <= self.max_request_body <= 2**31:
            raise ValueError(
                "ServerConfig.max_request_body must be between 1 and 2**31 bytes, "
                f"got {self.max_request_body!r}"
            )
        for host in self.allowed_hosts:
            if not host or any(c.isspace() or c in "/?#@" for c in host):
                raise ValueError(f"ServerConfig.allowed_hosts: {host!r} is not a host name")
        if self.require_sigv4:
            check_keys(self.access_keys)
        if self.max_buffer < MAX_MESSAGE_BYTES:
            raise ValueError(
                f"ServerConfig.max_buffer must be at least {MAX_MESSAGE_BYTES} bytes "
                f"(one whole message), got {self.max_buffer!r}"
            )
