"""The receive side's frame rules, once: ``FrameReader``, for both engine twins.

This module is the pure twin's reader as it stands, and the source of the
compiled one: setup.py compiles this very file with Cython, as the extension
``framer._reader_c``, through ``_reader_c.pxd``, which gives its attributes
and locals C types and cimports the C kernels (``_kernels_c``) over the
Python ones this file imports (``_kernels_py``).  So header parsing, the
limits, close codes and their reasons, the state machine and reassembly are
written here only; the kernels move and check bytes.  Write it as Python
that Cython types well: ``data`` is ``bytes`` walked by offset (a
``const unsigned char*`` in C), counters are integers.

Why parsing is O(n) in the bytes received: ``FrameReader.feed`` walks its
input once, left to right, by offset.  Each payload byte is unmasked once,
into the message's buffer or straight into the user's object when a message
is one frame.  The only bytes carried from one ``feed`` to the next are an
incomplete frame header (at most 13 bytes) and the message so far; to finish
a carried header, at most 14 new bytes are looked at again.  Nothing is
re-scanned from the start of a buffer.
"""

from __future__ import annotations

from typing import Union

from wsproto.events import BytesMessage, CloseConnection, Event, Ping, Pong, TextMessage
from wsproto.frame_protocol import Opcode

from ._close_frame import read_close
from ._deflate import COMPRESSED, DecompressionError, Inflater, rsv_error
from ._errors import ProtocolViolation
from ._kernels_py import (
    INVALID_UTF8,
    control_event,
    message_buffer,
    message_event,
    no_key,
    read_key,
    unmask,
    whole_bytes,
    whole_text,
)

__all__ = ["FrameReader"]

Buffer = Union[bytes, bytearray, memoryview]

# wsproto's Opcode members, bound to module names once (C ints when compiled):
# looking a member up on the Enum class per frame would cost the hot loop.
_CONTINUATION, _TEXT, _BINARY = Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY
_CLOSE, _PING, _PONG = Opcode.CLOSE, Opcode.PING, Opcode.PONG
_COMPRESSED = COMPRESSED  # a C int when compiled (see _deflate.COMPRESSED)
_MSB = 1 << 63

_BAD_UTF8 = "invalid UTF-8 in text message"
_CUT_UTF8 = "text message ends inside a UTF-8 sequence"


class FrameReader:
    """Turns one direction of a WebSocket byte stream into events.

    ``client`` is true when this end is the client, so incoming frames must be
    unmasked; a server requires masked frames.  Every data message comes out
    whole as one ``TextMessage`` or ``BytesMessage``; pings, pongs and the
    close frame come out as they arrive, even between fragments of a message.

    With ``inflater`` (permessage-deflate negotiated), a data message whose
    first frame has RSV1 is decompressed by it as its payload arrives; the
    message limit then applies to the decompressed bytes (the inflater's
    bound), the frame limit to the bytes on the wire.

    A protocol error or a limit breach ends parsing: ``feed`` returns the
    events before it, then a ``CloseConnection`` carrying the close code, and
    sets ``violation_code``/``violation_reason``.  A close frame from the peer
    also ends parsing (``closed`` becomes true).  Input after either is ignored.
    """

    def __init__(
        self,
        client: bool,
        max_frame_size: int,
        max_message_size: int,
        allow_binary: bool,
        inflater: Inflater | None = None,
    ) -> None:
        self._expect_mask = 0 if client else 0x80
        self._inflater = inflater
        # _COMPRESSED while a compressed message is being read, else 0; ORed
        # into each of its frames' opcode (see _deflate.COMPRESSED).
        self._msg_rsv1 = 0
        self._max_frame = max_frame_size
        self._max_message = max_message_size
        self._allow_binary = allow_binary
        # Incomplete frame header carried to the next feed (< 14 bytes).
        self._head = b""
        # The frame being read: opcode, FIN, mask key, payload bytes already
        # read and still to come.
        self._opcode = 0
        self._fin = False
        self._key = no_key()
        self._done_bytes = 0
        self._remaining = 0
        # The data message in progress: its opcode (0 when none), the payload
        # size its headers announced so far, and its bytes so far.
        self._msg_opcode = 0
        self._msg_size = 0
        self._msg = message_buffer(max_message_size)
        # Control frame payload collected so far (at most 125 bytes).
        self._control = b""
        self.closed = False
        self.done = False
        self.violation_code = 0
        self.violation_reason = ""

    @property
    def buffered(self) -> int:
        """Bytes held between feeds: message so far, header, control payload."""
        return self._msg.size + len(self._head) + len(self._control)

    def feed(self, data: Buffer) -> list[Event]:
        """Parse ``data`` and return the events it completes, in order."""
        out: list[Event] = []
        if self.done:
            return out
        buf = data if type(data) is bytes else bytes(data)
        n = len(buf)
        pos = self._carried_header(buf, out) if self._head else 0
        while pos >= 0 and not self.done:
            remaining = self._remaining
            if remaining:
                take = n - pos
                if take == 0:
                    break
                if take > remaining:
                    take = remaining
                self._payload(buf, pos, take, take == remaining, out)
                pos += take
                self._remaining = remaining - take
                if take == remaining and not self.done:
                    self._end_frame(out)
                continue
            if n - pos < 2:
                if pos < n:
                    self._head = buf[pos:]
                break
            used = self._parse_header(buf, pos, out)
            if used < 0:
                break
            if used == 0:
                self._head = buf[pos:]
                break
            pos += used
            if self._remaining == 0:
                self._end_frame(out)
        return out

    def _carried_header(self, data: bytes, out: list[Event]) -> int:
        """Finish the header carried from the last read: where its payload
        starts in ``data``, or -1 if ``data`` ends first (or it is an error)."""
        carried = len(self._head)
        head = self._head + data[:14]
        used = self._parse_header(head, 0, out)
        if used < 0:
            return -1
        if used == 0:
            # A header is at most 14 bytes, so all of data is in head.
            self._head = head
            return -1
        self._head = b""
        if self._remaining == 0:
            self._end_frame(out)
        return used - carried

    def _fail(self, code: int, reason: str, out: list[Event]) -> int:
        self.done = True
        self.violation_code = code
        self.violation_reason = reason
        self._msg.clear()
        self._head = self._control = b""
        out.append(CloseConnection(code=code, reason=reason))
        return -1

    def _parse_header(self, data: bytes, pos: int, out: list[Event]) -> int:
        """Parse the header at ``data[pos:]``: its length, 0 if incomplete, -1 on error.

        The checks run in a fixed order, each on bytes that precede the ones
        the next one needs, so the outcome does not depend on how the stream
        was split into reads.
        """
        p = data
        avail = len(data) - pos
        if avail < 2:
            return 0
        b0 = p[pos]
        b1 = p[pos + 1]
        opcode = b0 & 0x0F
        if b0 & 0x70:
            reason = rsv_error(b0, self._inflater is not None)
            if reason is not None:
                return self._fail(1002, reason, out)
            self._msg_rsv1 = _COMPRESSED
        if opcode > 2 and opcode != _CLOSE and opcode != _PING and opcode != _PONG:
            return self._fail(1002, f"invalid opcode {opcode:#x}", out)
        control = opcode >= 8
        length = b1 & 0x7F
        if control:
            if not b0 & 0x80:
                return self._fail(1002, "fragmented control frame", out)
            if length > 125:
                return self._fail(1002, "control frame payload longer than 125 bytes", out)
        if (b1 & 0x80) != self._expect_mask:
            if self._expect_mask:
                return self._fail(1002, "client frame is not masked", out)
            return self._fail(1002, "server frame is masked", out)
        size = 2
        if length == 126:
            if avail < 4:
                return 0
            length = (p[pos + 2] << 8) | p[pos + 3]
            if length < 126:
                return self._fail(1002, "2-byte length used for a payload under 126 bytes", out)
            size = 4
        elif length == 127:
            if avail < 10:
                return 0
            length = 0
            for i in range(pos + 2, pos + 10):
                length = (length << 8) | p[i]
            if length & _MSB:
                return self._fail(1002, "8-byte length with the most significant bit set", out)
            if length < 0x10000:
                return self._fail(1002, "8-byte length used for a payload under 65536 bytes", out)
            size = 10
        if not control:
            if opcode == _CONTINUATION:
                if not self._msg_opcode:
                    return self._fail(1002, "continuation frame with no message in progress", out)
            elif self._msg_opcode:
                return self._fail(1002, "new data frame before the previous message finished", out)
            elif opcode == _BINARY and not self._allow_binary:
                return self._fail(1003, "binary frames are not supported", out)
            if length > self._max_frame:
                return self._fail(
                    1009,
                    f"frame of {length} bytes exceeds the {self._max_frame}-byte frame limit",
                    out,
                )
            if self._msg_size + length > self._max_message and not self._msg_rsv1:
                # (A compressed message's limit is on its decompressed bytes.)
                return self._fail(
                    1009,
                    f"message of at least {self._msg_size + length} bytes exceeds the "
                    f"{self._max_message}-byte message limit",
                    out,
                )
        if self._expect_mask:
            if avail < size + 4:
                return 0
            self._key = read_key(data, pos + size)
            size += 4
        if not control:
            if opcode:
                self._msg_opcode = opcode
            self._msg_size += length
            opcode |= self._msg_rsv1
        self._opcode = opcode
        self._fin = (b0 & 0x80) != 0
        self._done_bytes = 0
        self._remaining = length
        return size

    def _payload(self, data: bytes, pos: int, take: int, last: bool, out: list[Event]) -> None:
        """Take ``data[pos:pos + take]``, the next piece of the current frame's payload."""
        # (No early returns in the methods below: compiled, they return a C int.)
        if self._opcode >= 8:
            chunk = unmask(data, pos, take, self._key, self._done_bytes)
            self._done_bytes += take
            if self._opcode < _COMPRESSED:
                self._control += chunk
            else:
                self._inflate(chunk, last and self._fin, out)
        elif last and self._fin and self._done_bytes == 0 and self._msg.size == 0:
            # The whole message is this one piece: build the user's object
            # straight from the wire bytes.
            self._done_bytes = take
            if self._msg_opcode == _BINARY:
                self._deliver(whole_bytes(data, pos, take, self._key), out)
            else:
                text = whole_text(data, pos, take, self._key)
                if type(text) is str:
                    self._deliver(text, out)
                else:
                    self._fail(1007, _BAD_UTF8 if text == INVALID_UTF8 else _CUT_UTF8, out)
        else:
            bad = self._msg.append(data, pos, take, self._key, self._done_bytes,
                                   self._msg_opcode == _TEXT, self._msg_size, not self._fin)
            self._done_bytes += take
            if bad:
                # Fail as soon as the bad byte arrives.
                self._fail(1007, _BAD_UTF8, out)

    def _inflate(self, chunk: bytes, final: bool, out: list[Event]) -> None:
        """Decompress the next piece of a compressed message (its tail too if ``final``)
        and add the result to the message."""
        inflater = self._inflater
        assert inflater is not None
        try:
            data = inflater.feed(chunk, final)
        except DecompressionError as exc:
            self._fail(exc.violation.code, exc.violation.reason, out)
        else:
            if final:
                self._msg_rsv1 = 0
            if data and self._msg.add(data, self._msg_opcode == _TEXT):
                self._fail(1007, _BAD_UTF8, out)

    def _deliver(self, data: str | bytes, out: list[Event]) -> None:
        if self._msg_opcode == _TEXT:
            out.append(message_event(TextMessage, data))
        else:
            out.append(message_event(BytesMessage, data))
        self._msg_opcode = 0
        self._msg_size = 0

    def _end_frame(self, out: list[Event]) -> None:
        opcode = self._opcode
        if _CLOSE <= opcode < _COMPRESSED:
            payload = self._control
            self._control = b""
            if opcode == _PING:
                out.append(control_event(Ping, payload))
            elif opcode == _PONG:
                out.append(control_event(Pong, payload))
            else:
                self._close(payload, out)
        elif self._fin:
            if opcode >= _COMPRESSED and self._done_bytes == 0:
                # An empty final frame: the message's end still goes to the inflater.
                self._inflate(b"", True, out)
            if self._msg_opcode and not self.done:  # (0: delivered whole by _payload)
                self._end_message(out)

    def _end_message(self, out: list[Event]) -> None:
        if self._msg_opcode != _TEXT:
            self._deliver(self._msg.take_bytes(), out)
        else:
            text = self._msg.take_text()
            if type(text) is str:
                self._deliver(text, out)
            else:
                self._msg_opcode = 0
                self._fail(1007, _CUT_UTF8, out)

    def _close(self, payload: bytes, out: list[Event]) -> None:
        close = read_close(payload)
        if isinstance(close, ProtocolViolation):
            self._fail(close.code, close.reason, out)
        else:
            self.closed = True
            self.done = True
            out.append(close)
