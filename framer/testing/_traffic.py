"""What a receiver must make of drawn bytes: :class:`Traffic` and :class:`InvalidFrame`.

The bytes themselves come from :func:`framer._wire.encode_frame`, written from
RFC 6455 section 5.2 without framer's engine, so checking the engine against
them is not checking the engine against itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from wsproto.events import Event

__all__ = ["InvalidFrame", "Traffic"]


@dataclass(frozen=True)
class Traffic:
    """Valid bytes a peer sends after the handshake, and what the receiver must deliver.

    ``events`` are the wsproto events, in order, that a receiver delivering
    whole messages (as :class:`framer.WSConnection` does) produces from
    ``data``: ``TextMessage``/``BytesMessage`` per message, ``Ping``/``Pong``
    as they arrive (also between the fragments of a message), and
    ``CloseConnection`` for a close frame.  ``frames`` is how many frames
    ``data`` holds.
    """

    data: bytes
    events: tuple[Event, ...]
    frames: int = 1

    @classmethod
    def join(cls, parts: Iterable[Traffic]) -> Traffic:
        """Several pieces of traffic sent one after the other."""
        parts = list(parts)
        return cls(
            data=b"".join(p.data for p in parts),
            events=tuple(e for p in parts for e in p.events),
            frames=sum(p.frames for p in parts),
        )


@dataclass(frozen=True)
class InvalidFrame:
    """Bytes that must make an RFC 6455 endpoint fail the connection with ``code``.

    ``data`` is sent after the handshake; it may start with valid frames (the
    first fragments of a message that grows over a limit, a ping) and ends
    with the defect.  ``code`` is the close code the endpoint must send:
    1002 (protocol error), 1003 (binary data where only text is accepted),
    1007 (invalid UTF-8) or 1009 (over a size limit).  ``why`` names the
    defect, for test reports.
    """

    data: bytes
    code: int
    why: str
