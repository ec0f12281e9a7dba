"""Where ``framer conform`` may connect: the URL, split up, and the host policy."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

__all__ = ["ConformError", "Target", "check_host", "parse_url"]


class ConformError(Exception):
    """The probe cannot run: bad URL or option, no connection, handshake refused."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where to probe: ``ws://host:port/path?query`` split up."""

    secure: bool
    host: str
    port: int
    resource: str

    @property
    def url(self) -> str:
        scheme = "wss" if self.secure else "ws"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}{self.resource}"

    @property
    def is_loopback(self) -> bool:
        """``localhost`` or an address in 127.0.0.0/8 or ``::1``."""
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_url(url: str) -> Target:
    """Split a ``ws://`` or ``wss://`` URL; :class:`ConformError` if it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConformError(f"URL must look like ws://HOST:PORT/PATH, got {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "wss" else 80)
    except ValueError:
        raise ConformError(f"invalid port in {url!r}") from None
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme == "wss", parts.hostname, port, resource)


def check_host(target: Target, allow_remote: Optional[str]) -> None:
    """Refuse to fuzz a host other than loopback unless the user named it.

    Fuzzing opens one connection per example and sends invalid traffic on
    purpose, so it runs against ``localhost``/127.0.0.0/8/``::1``, or against
    the one host given to ``--allow-remote HOST`` (which must be the URL's
    host: a typo in the URL then cannot aim the traffic elsewhere).
    """
    if target.is_loopback:
        return
    if allow_remote is None:
        raise ConformError(
            f"{target.host} is not a loopback address: fuzzing sends thousands of connections "
            f"and invalid frames; confirm with --allow-remote {target.host}"
        )
    if allow_remote.lower() != target.host.lower():
        raise ConformError(f"--allow-remote {allow_remote} does not name the URL's host {target.host}")
