"""The Host check of plain HTTP requests (the control plane, @connections).

A web page the developer visits can reach 127.0.0.1 through DNS rebinding:
its requests then carry the page's own host name in ``Host``.  So a request
that is not a WebSocket upgrade is served only when its ``Host`` is the
address the server is bound to, ``localhost``, ``127.0.0.1`` or ``[::1]``
(with the server's port, or none: a function's @connections call moved onto
framer keeps the port-less ``domainName`` it was made for), one of ``allowed`` (any port;
``*`` turns the check off), or one of AWS's own endpoint names
(``{apiId}.execute-api.{region}.amazonaws.com``, ``apigateway.{region}.amazonaws.com``),
which a page cannot point at this machine without controlling amazonaws.com's
DNS, and which a function's rewritten @connections call keeps.  WebSocket
handshakes accept any ``Host``, as API Gateway does behind custom domains.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

__all__ = ["HostCheck", "ANY_HOST"]

#: ``--allow-host *``: no Host check.
ANY_HOST = "*"

_AWS_HOST = re.compile(
    r"^(?:[a-z0-9]+\.execute-api|apigateway)\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?(?::\d+)?$")
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _name(host: str) -> str:
    """``host`` without its port (``[::1]:80`` -> ``[::1]``)."""
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if ":" in host else host


class HostCheck:
    """Which ``Host`` values a server on ``bound_host:port`` answers plain HTTP for."""

    def __init__(self, bound_host: str, port: int, allowed: Iterable[str] = ()) -> None:
        allowed = tuple(allowed)
        self.disabled = ANY_HOST in allowed
        names = {_bracketed(bound_host).lower(), *_LOOPBACK}
        self.exact = frozenset(f"{n}:{port}" for n in names) | frozenset(names)
        self.names = frozenset(_name(_bracketed(a)).lower() for a in allowed)

    def refusal(self, host: Optional[str]) -> Optional[str]:
        """Why a request with this ``Host`` is refused (one line), or None."""
        if self.disabled:
            return None
        if host is None:
            return "a request without a Host header is refused (see --allow-host)"
        value = host.strip().lower()
        if value in self.exact or _name(value) in self.names or _AWS_HOST.match(value):
            return None
        return (f"Host {host!r} is not this server's address; "
                f"start framer with --allow-host {_name(value) or host!r} to accept it")
