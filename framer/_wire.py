"""WebSocket frames as bytes, written and read without judging them.

One encoder (:func:`encode_frame`) and one reader (:class:`FrameReader`),
both from RFC 6455 section 5.2 and independent of framer's engine, shared by
:mod:`framer.testing` (which labels the bytes) and :mod:`framer.conform`
(which sends them to a server and reads what it answers).  The reader reports
every field as it is on the wire (RSV bits, reserved opcodes, a mask where
none belongs) and leaves the verdict to its caller, so a server's defect is
never hidden by the reader refusing it.  Needs nothing but the standard
library and wsproto's ``Opcode``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from wsproto.frame_protocol import Opcode

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONTINUATION",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "FrameReader",
    "WireFrame",
    "describe_frames",
    "encode_frame",
    "mask_payload",
    "split_frames",
]

# RFC 6455 section 5.2's opcodes, as wsproto (a dependency) names them.
OP_CONTINUATION: int = Opcode.CONTINUATION
OP_TEXT: int = Opcode.TEXT
OP_BINARY: int = Opcode.BINARY
OP_CLOSE: int = Opcode.CLOSE
OP_PING: int = Opcode.PING
OP_PONG: int = Opcode.PONG
_KNOWN_OPCODES = frozenset(int(op) for op in Opcode)


def mask_payload(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``key`` (RFC 6455 section 5.3); its own inverse."""
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


@dataclass(frozen=True, slots=True)
class WireFrame:
    """One frame as read: every header field as sent, the payload unmasked.

    ``length`` is the announced payload length; ``payload`` holds the bytes
    that arrived (fewer than ``length`` only for the last frame of a
    truncated stream, see :func:`describe_frames`).
    """

    fin: bool
    rsv: int
    opcode: int
    mask: Optional[bytes]
    length: int
    payload: bytes

    @property
    def is_control(self) -> bool:
        return self.opcode >= 0x8

    def describe(self, preview: int = 24) -> str:
        """One line: ``FIN=1 RSV=0 opcode=0x1 (text) mask=- length=5 payload='hello'``."""
        name = Opcode(self.opcode).name.lower() if self.opcode in _KNOWN_OPCODES else "reserved"
        mask = self.mask.hex() if self.mask is not None else "-"
        shown = self.payload[:preview]
        more = f"... ({len(self.payload) - preview} more)" if len(self.payload) > preview else ""
        missing = f" [{self.length - len(self.payload)} bytes missing]" if len(self.payload) < self.length else ""
        return (
            f"FIN={int(self.fin)} RSV={self.rsv} opcode={self.opcode:#x} ({name}) mask={mask} "
            f"length={self.length} payload={shown!r}{more}{missing}"
        )


class FrameReader:
    """Split a byte stream into :class:`WireFrame` objects, whatever they say.

    Feed bytes with :meth:`feed`; it returns the frames completed so far.
    The reader never refuses a frame: checking it is the caller's business.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> bytes:
        """Bytes received that do not make a whole frame yet."""
        return bytes(self._buffer)

    def feed(self, data: bytes) -> list[WireFrame]:
        self._buffer += data
        out: list[WireFrame] = []
        while True:
            frame = _parse_one(self._buffer, partial=False)
            if frame is None:
                return out
            frame_, used = frame
            del self._buffer[:used]
            out.append(frame_)


def _parse_one(data: bytes | bytearray, *, partial: bool) -> Optional[tuple[WireFrame, int]]:
    """The first frame of ``data`` and its size on the wire; None if incomplete.

    With ``partial``, an incomplete frame whose header is whole is returned
    with the payload bytes present.
    """
    if len(data) < 2:
        return None
    b0, b1 = data[0], data[1]
    length = b1 & 0x7F
    pos = 2
    if length == 126:
        if len(data) < 4:
            return None
        length = int.from_bytes(data[2:4], "big")
        pos = 4
    elif length == 127:
        if len(data) < 10:
            return None
        length = int.from_bytes(data[2:10], "big")
        pos = 10
    mask: Optional[bytes] = None
    if b1 & 0x80:
        if len(data) < pos + 4:
            return None
        mask = bytes(data[pos : pos + 4])
        pos += 4
    if len(data) < pos + length and not partial:
        return None
    payload = bytes(data[pos : pos + length])
    if mask is not None:
        payload = mask_payload(payload, mask)
    frame = WireFrame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, mask, length, payload)
    return frame, pos + len(payload)


def split_frames(data: bytes) -> tuple[list[WireFrame], bytes]:
    """Every frame in ``data``, the last maybe incomplete, and bytes too few for a header.

    An incomplete last frame (a header announcing more than follows) has a
    ``payload`` shorter than its ``length``.
    """
    frames: list[WireFrame] = []
    pos = 0
    while pos < len(data):
        found = _parse_one(data[pos:], partial=True)
        if found is None:
            return frames, data[pos:]
        frames.append(found[0])
        pos += found[1]
    return frames, b""


def describe_frames(data: bytes, preview: int = 24) -> list[str]:
    """A frame-by-frame reading of ``data``, one line per frame (see :func:`split_frames`)."""
    frames, rest = split_frames(data)
    lines = [frame.describe(preview) for frame in frames]
    if rest:
        lines.append(f"{len(rest)} trailing bytes, not a whole header: {rest.hex()}")
    return lines
