"""Frame bytes and what a receiver must make of them, without hypothesis.

The encoder here is written from RFC 6455 section 5.2 and does not use
framer's engine, so checking the engine against it is not checking the engine
against itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from wsproto.events import Event

__all__ = ["InvalidFrame", "Traffic", "encode_frame", "mask_payload"]

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


def mask_payload(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``key`` (RFC 6455 section 5.3)."""
    if len(key) != 4:
        raise ValueError(f"mask key must be 4 bytes, got {len(key)}")
    n = len(payload)
    if n == 0:
        return b""
    # One big-integer XOR: linear, and independent of framer's masking code.
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def encode_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    width: int | None = None,
    length: int | None = None,
) -> bytes:
    """One frame's bytes, as RFC 6455 section 5.2 lays them out.

    ``mask`` is the 4-byte masking key (a client's frames carry one, a
    server's do not).  ``width`` forces the length encoding (7, 16 or 64 bits;
    by default the minimal one) and ``length`` the announced length, both to
    build frames a strict endpoint must refuse.
    """
    if not 0 <= opcode <= 0xF:
        raise ValueError(f"opcode must be 0-15, got {opcode}")
    if not 0 <= rsv <= 7:
        raise ValueError(f"rsv must be 0-7, got {rsv}")
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    m = 0x80 if mask is not None else 0
    if width is None:
        width = 7 if n < 126 else 16 if n < 0x10000 else 64
    if width == 7:
        if n > 125:
            raise ValueError(f"a 7-bit length holds at most 125, got {n}")
        head = bytes((b0, m | n))
    elif width == 16:
        head = bytes((b0, m | 126)) + n.to_bytes(2, "big")
    elif width == 64:
        head = bytes((b0, m | 127)) + n.to_bytes(8, "big")
    else:
        raise ValueError(f"width must be 7, 16 or 64, got {width}")
    if mask is None:
        return head + payload
    return head + mask + mask_payload(payload, mask)


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
