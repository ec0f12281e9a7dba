"""The pure-Python hot path: the definition of framer's wire behaviour.

``framer/_fast.pyx`` is a compiled twin of this module with the same names
and signatures; the test suite runs against both and checks that they agree.
When the two disagree, this file is right.

What lives here: masking, frame header parsing, the receive state machine
that turns bytes into whole-message events while enforcing the limits, and
frame serialization for sending.

Why parsing is O(n) in the bytes received: ``FrameReader.feed`` walks its
input once, left to right, by offset.  Payload bytes are sliced out of the
input exactly once (then unmasked and, for text, decoded) and appended to a
list of parts joined once per message.  The only bytes ever carried from one
``feed`` to the next are an incomplete frame header (at most 13 bytes) and an
incomplete UTF-8 sequence (at most 3 bytes); to finish a carried header, at
most 14 new bytes are looked at again.  Nothing is ever re-scanned from the
start of a buffer, and no buffer grows by repeated concatenation.
"""

from __future__ import annotations

import os
from codecs import utf_8_decode
from collections import deque
from typing import Callable, Iterator, TypeVar, Union

from wsproto.events import BytesMessage, CloseConnection, Event, Ping, Pong, TextMessage
from wsproto.frame_protocol import Opcode

from ._close_frame import read_close
from ._deflate import COMPRESSED, DecompressionError, Inflater, rsv_error
from ._errors import ProtocolViolation

__all__ = [
    "FrameReader",
    "Shortcut",
    "drain",
    "mask",
    "mask_inplace",
    "serialize_frames",
    "serialize_parts",
    "serialize_text",
]

Buffer = Union[bytes, bytearray, memoryview]


# wsproto's Opcode members, bound to module names once: looking a member up
# on the Enum class per frame would cost the hot loop.
_CONTINUATION, _TEXT, _BINARY = Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY
_CLOSE, _PING, _PONG = Opcode.CLOSE, Opcode.PING, Opcode.PONG

_new = object.__new__


_M = TypeVar("_M", TextMessage, BytesMessage)


def _message_event(cls: type[_M], data: str | bytes) -> _M:
    # Same result as cls(data=data), without the frozen dataclass's __init__
    # (three object.__setattr__ calls): about 3x cheaper.
    event = _new(cls)
    fields = event.__dict__
    fields["data"] = data
    fields["frame_finished"] = True
    fields["message_finished"] = True
    return event


_XOR_TABLES: dict[int, bytes] = {}


def _xor_table(byte: int) -> bytes:
    table = _XOR_TABLES.get(byte)
    if table is None:
        table = _XOR_TABLES[byte] = bytes(b ^ byte for b in range(256))
    return table


def mask(data: Buffer, key: Buffer, offset: int = 0) -> bytes:
    """XOR ``data`` with the 4-byte ``key`` (RFC 6455 section 5.3).

    ``offset`` is how many payload bytes of the same frame came before
    ``data``: masking is position-dependent, so a payload unmasked in pieces
    needs it.  Masking and unmasking are the same operation.
    """
    if len(key) != 4:
        raise ValueError(f"mask key must be 4 bytes, got {len(key)}")
    n = len(data)
    if n == 0:
        return b""
    key = bytes(key)
    offset &= 3
    if offset:
        key = key[offset:] + key[:offset]
    if n < 512:
        # Small payloads: one big-integer XOR.
        repeated = key * ((n >> 2) + 1)
        value = int.from_bytes(data, "little") ^ int.from_bytes(repeated[:n], "little")
        return value.to_bytes(n, "little")
    # Larger ones: every 4th byte shares a key byte, so XOR is a translation
    # of 4 strided slices (about 2.5x faster than the integer XOR at 32 KiB).
    buf = bytearray(data)
    for i in range(4):
        buf[i::4] = buf[i::4].translate(_xor_table(key[i]))
    return bytes(buf)


def mask_inplace(buffer: bytearray | memoryview, key: Buffer, offset: int = 0) -> None:
    """XOR a writable buffer (bytearray, writable memoryview) with ``key`` in place."""
    view = memoryview(buffer)
    if view.readonly:
        raise TypeError(f"mask_inplace needs a writable buffer, got {type(buffer).__name__}")
    view[:] = mask(view, key, offset)


def _utf8_prefix_invalid(tail: bytes) -> bool:
    """True if an incomplete UTF-8 sequence can never become valid.

    CPython's decoder already rejects most impossible prefixes when called with
    ``final=False``; it lets ED A0..BF (a UTF-16 surrogate) wait for more bytes.
    """
    return len(tail) >= 2 and tail[0] == 0xED and tail[1] > 0x9F


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
        # COMPRESSED while a compressed message is being read, else 0; ORed
        # into each of its frames' opcode (see _deflate.COMPRESSED).
        self._msg_rsv1 = 0
        self._max_frame = max_frame_size
        self._max_message = max_message_size
        self._allow_binary = allow_binary
        # Incomplete frame header carried to the next feed (< 14 bytes).
        self._head = b""
        # The frame being read: opcode, FIN, mask key (b"" if unmasked),
        # payload bytes already read and still to come.
        self._opcode = 0
        self._fin = False
        self._key = b""
        self._done_bytes = 0
        self._remaining = 0
        # The data message in progress: its opcode (0 when none), the payload
        # size announced so far, a binary payload received so far (in one
        # bytearray, so a peer sending many tiny fragments costs their bytes
        # and nothing more), text decoded so far (joined in batches, for the
        # same reason), a message that arrived as a single piece (kept as it
        # is, no copy), and the incomplete UTF-8 sequence at the end of the
        # text so far.
        self._msg_opcode = 0
        self._msg_size = 0
        self._buf = bytearray()
        self._whole: bytes | None = None
        self._text: list[str] = []
        self._text_small: list[str] = []
        self._text_bytes = 0  # UTF-8 bytes behind _text, _text_small and _utf8_tail
        self._utf8_tail = b""
        # Control frame payload collected so far (at most 125 bytes).
        self._control = b""
        self.closed = False
        self.done = False
        self.violation_code = 0
        self.violation_reason = ""

    @property
    def buffered(self) -> int:
        """Bytes held between feeds: message so far, header, control payload."""
        return len(self._buf) + self._text_bytes + len(self._head) + len(self._control)

    def feed(self, data: Buffer) -> list[Event]:
        """Parse ``data`` and return the events it completes, in order."""
        out: list[Event] = []
        if self.done:
            return out
        if type(data) is not bytes:
            data = bytes(data)
        n = len(data)
        pos = 0
        if self._head:
            carried = len(self._head)
            head = self._head + data[:14]
            used = self._parse_header(head, 0, out)
            if used < 0:
                return out
            if used == 0:
                # A header is at most 14 bytes, so all of data is in head.
                self._head = head
                return out
            self._head = b""
            pos = used - carried
            if self._remaining == 0:
                self._end_frame(out)
        while not self.done:
            remaining = self._remaining
            if remaining:
                take = n - pos
                if take == 0:
                    break
                if take > remaining:
                    take = remaining
                self._payload(data[pos : pos + take], take == remaining, out)
                pos += take
                self._remaining = remaining - take
                if take == remaining and not self.done:
                    self._end_frame(out)
                continue
            if n - pos < 2:
                if pos < n:
                    self._head = data[pos:]
                break
            used = self._parse_header(data, pos, out)
            if used < 0:
                break
            if used == 0:
                self._head = data[pos:]
                break
            pos += used
            if self._remaining == 0:
                self._end_frame(out)
        return out

    def _fail(self, code: int, reason: str, out: list[Event]) -> int:
        self.done = True
        self.violation_code = code
        self.violation_reason = reason
        self._buf = bytearray()
        self._whole = None
        self._text = []
        self._text_small = []
        self._text_bytes = 0
        self._head = self._utf8_tail = self._control = b""
        out.append(CloseConnection(code=code, reason=reason))
        return -1

    def _parse_header(self, buf: bytes, pos: int, out: list[Event]) -> int:
        """Parse the header at ``buf[pos:]``: its length, 0 if incomplete, -1 on error.

        The checks run in a fixed order, each on bytes that precede the ones
        the next one needs, so the outcome does not depend on how the stream
        was split into reads.
        """
        avail = len(buf) - pos
        if avail < 2:
            return 0
        b0 = buf[pos]
        b1 = buf[pos + 1]
        opcode = b0 & 0x0F
        if b0 & 0x70:
            reason = rsv_error(b0, self._inflater is not None)
            if reason is not None:
                return self._fail(1002, reason, out)
            self._msg_rsv1 = COMPRESSED
        if opcode > 2 and opcode not in (_CLOSE, _PING, _PONG):
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
            length = (buf[pos + 2] << 8) | buf[pos + 3]
            if length < 126:
                return self._fail(1002, "2-byte length used for a payload under 126 bytes", out)
            size = 4
        elif length == 127:
            if avail < 10:
                return 0
            length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
            if length >> 63:
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
            self._key = buf[pos + size : pos + size + 4]
            size += 4
        if not control:
            if opcode:
                self._msg_opcode = opcode
            self._msg_size += length
            opcode |= self._msg_rsv1
        self._opcode = opcode
        self._fin = bool(b0 & 0x80)
        self._done_bytes = 0
        self._remaining = length
        return size

    def _payload(self, chunk: bytes, last: bool, out: list[Event]) -> None:
        """Take the next piece of the current frame's payload."""
        if self._key:
            chunk = mask(chunk, self._key, self._done_bytes)
        self._done_bytes += len(chunk)
        if self._opcode >= 8:
            if self._opcode < COMPRESSED:
                self._control += chunk
                return
            chunk = self._inflate(chunk, last and self._fin, out)
            if self.done:
                return
        elif (
            last
            and self._fin
            and not self._buf
            and not self._text_bytes
            and self._done_bytes == len(chunk)
        ):
            # The whole message is this one piece: no copy, validated (if
            # text) by the decode in _end_frame.
            self._whole = chunk
            return
        if self._msg_opcode != _TEXT:
            self._buf += chunk
            return
        # Text is decoded as it arrives (so bad bytes fail at once) and kept
        # decoded; pieces are joined in batches so a peer sending many tiny
        # fragments costs their characters, not an object each.
        text = self._decode_piece(chunk, out)
        if text is None:
            return
        self._text_bytes += len(chunk)
        if text:
            small = self._text_small
            small.append(text)
            if len(small) >= 64:
                self._text.append("".join(small))
                small.clear()
                if len(self._text) >= 64:
                    self._text = ["".join(self._text)]

    def _inflate(self, chunk: bytes, final: bool, out: list[Event]) -> bytes:
        """Decompress the next piece of a compressed message (its tail too if ``final``)."""
        inflater = self._inflater
        assert inflater is not None
        try:
            data = inflater.feed(chunk, final)
        except DecompressionError as exc:
            self._fail(exc.violation.code, exc.violation.reason, out)
            return b""
        if final:
            self._msg_rsv1 = 0
        return data

    def _decode_piece(self, chunk: bytes, out: list[Event]) -> str | None:
        """Decode the next piece of a text message; None (and a 1007) if bad."""
        if self._utf8_tail:
            chunk = self._utf8_tail + chunk
        try:
            text, used = utf_8_decode(chunk, "strict", False)
        except UnicodeDecodeError:
            self._fail(1007, "invalid UTF-8 in text message", out)
            return None
        self._utf8_tail = chunk[used:]
        if self._utf8_tail and _utf8_prefix_invalid(self._utf8_tail):
            self._fail(1007, "invalid UTF-8 in text message", out)
            return None
        return text

    def _end_frame(self, out: list[Event]) -> None:
        opcode = self._opcode
        if opcode >= 8:
            if opcode < COMPRESSED:
                payload = self._control
                self._control = b""
                if opcode == _PING:
                    out.append(Ping(payload=payload))
                elif opcode == _PONG:
                    out.append(Pong(payload=payload))
                else:
                    self._close(payload, out)
                return
            if self._fin and not self._done_bytes:
                # An empty final frame: the message's end still goes to the inflater.
                self._payload(b"", True, out)
                if self.done:
                    return
        if not self._fin:
            return
        whole = self._whole
        self._whole = None
        text = self._msg_opcode == _TEXT
        self._msg_opcode = 0
        self._msg_size = 0
        if not text:
            if whole is None:
                whole = bytes(self._buf)
                self._buf = bytearray()
            out.append(_message_event(BytesMessage, whole))
            return
        if whole is not None:
            try:
                out.append(_message_event(TextMessage, whole.decode("utf-8")))
            except UnicodeDecodeError:
                # Say what is wrong in the words used for pieces.
                if self._decode_piece(whole, out) is not None:
                    self._fail(1007, "text message ends inside a UTF-8 sequence", out)
            return
        parts = self._text
        parts.extend(self._text_small)
        self._text = []
        self._text_small = []
        self._text_bytes = 0
        if self._utf8_tail:
            self._fail(1007, "text message ends inside a UTF-8 sequence", out)
            return
        out.append(_message_event(TextMessage, parts[0] if len(parts) == 1 else "".join(parts)))

    def _close(self, payload: bytes, out: list[Event]) -> None:
        close = read_close(payload)
        if isinstance(close, ProtocolViolation):
            self._fail(close.code, close.reason, out)
            return
        self.closed = True
        self.done = True
        out.append(close)


def _header(opcode: int, fin: bool, length: int, masked: bool) -> bytes:
    b0 = opcode | 0x80 if fin else opcode
    m = 0x80 if masked else 0
    if length < 126:
        return bytes((b0, m | length))
    if length < 0x10000:
        return bytes((b0, m | 126, length >> 8, length & 0xFF))
    return bytes((b0, m | 127)) + length.to_bytes(8, "big")


def serialize_frames(
    opcode: int,
    payload: Buffer,
    fin: bool,
    max_frame_size: int,
    client: bool,
) -> bytes:
    """Serialize one message (or a piece of one) as frames of at most ``max_frame_size``.

    The first frame carries ``opcode`` (pass 0 to continue a message), the
    others are continuation frames, and only the last has FIN set, and only
    if ``fin``.  A client masks every frame with a fresh key from
    ``os.urandom`` (RFC 6455 section 5.3 asks for a strong entropy source).
    """
    n = len(payload)
    if n <= max_frame_size:
        if client:
            key = os.urandom(4)
            return _header(opcode, fin, n, True) + key + mask(payload, key)
        if type(payload) is not bytes:
            payload = bytes(payload)
        return _header(opcode, fin, n, False) + payload
    view = memoryview(payload)
    pieces: list[Buffer] = []
    start = 0
    while start < n:
        end = start + max_frame_size
        last = end >= n
        chunk = view[start:end]
        if client:
            key = os.urandom(4)
            pieces.append(_header(opcode, fin and last, len(chunk), True))
            pieces.append(key)
            pieces.append(mask(chunk, key))
        else:
            pieces.append(_header(opcode, fin and last, len(chunk), False))
            pieces.append(chunk)
        opcode = _CONTINUATION
        start = end
    return b"".join(pieces)


def serialize_parts(
    opcode: int,
    payload: Buffer,
    fin: bool,
    max_frame_size: int,
    client: bool,
) -> list[Buffer]:
    """Frames of a message as a list of buffers, for ``writelines``/``sendmsg``.

    Same frames as :func:`serialize_frames`, without copying the payload on
    the server side: the list alternates headers and views of ``payload``
    (a payload that fits one frame is passed through as it is).  A client
    must mask, which copies, so it gets one ``bytes``.
    """
    if client:
        return [serialize_frames(opcode, payload, fin, max_frame_size, client)]
    n = len(payload)
    if n <= max_frame_size:
        return [_header(opcode, fin, n, False), payload]
    view = memoryview(payload)
    parts: list[Buffer] = []
    for start in range(0, n, max_frame_size):
        chunk = view[start : start + max_frame_size]
        parts.append(_header(opcode, fin and start + max_frame_size >= n, len(chunk), False))
        parts.append(chunk)
        opcode = _CONTINUATION
    return parts


def serialize_text(
    text: str, max_frame_size: int, max_message_size: int, client: bool
) -> bytes | None:
    """Frames of one whole text message, or None if its UTF-8 exceeds ``max_message_size``."""
    payload = text.encode("utf-8")
    if len(payload) > max_message_size:
        return None
    return serialize_frames(_TEXT, payload, True, max_frame_size, client)


def drain(queue: deque[Event]) -> Iterator[Event]:
    """Iterate over ``queue``, removing each event as it is yielded.

    Events left when the caller stops iterating stay queued.
    """
    popleft = queue.popleft
    while queue:
        yield popleft()


class Shortcut:
    """Fast entry points a WSConnection binds as its own methods while open.

    While ``open`` is true (the connection is OPEN, no message is being sent
    in pieces, the reader has not ended), ``receive_data``, ``send_text`` and
    ``send_bytes`` do their work here, with no Python frame of the connection
    in the compiled twin; otherwise, and for anything unusual (over the
    limit, odd types), they call the connection's full methods, which raise
    the right errors.  When the reader ends on a close or a violation,
    ``on_done(events)`` lets the connection take the final CloseConnection.
    ``events`` drains the queue directly while ``drain_only`` is true (no
    handshake event or held-back close to hand out), else asks the connection.
    """

    def __init__(
        self,
        reader: FrameReader,
        queue: deque[Event],
        max_frame_size: int,
        max_message_size: int,
        client: bool,
        slow_receive: Callable[[Buffer | None], None],
        slow_send_text: Callable[[str], bytes],
        slow_send_bytes: Callable[[Buffer], bytes],
        on_done: Callable[[list[Event]], None],
        slow_events: Callable[[], Iterator[Event]],
    ) -> None:
        self._reader = reader
        self._queue = queue
        self._slow_events = slow_events
        self.drain_only = False
        self._extend = queue.extend
        self._max_frame = max_frame_size
        self._max_message = max_message_size
        self._client = client
        self._slow_receive = slow_receive
        self._slow_send_text = slow_send_text
        self._slow_send_bytes = slow_send_bytes
        self._on_done = on_done
        self.open = False

    def receive_data(self, data: Buffer | None) -> None:
        """See ``WSConnection.receive_data``."""
        if self.open and data is not None:
            events = self._reader.feed(data)
            if events:
                if self._reader.done:
                    self.open = False
                    self._on_done(events)
                self._extend(events)
            return None
        return self._slow_receive(data)

    def events(self) -> Iterator[Event]:
        """See ``WSConnection.events``."""
        if self.drain_only:
            return drain(self._queue)
        return self._slow_events()

    def send_text(self, text: str) -> bytes:
        """See ``WSConnection.send_text``."""
        if self.open and type(text) is str:
            frames = serialize_text(text, self._max_frame, self._max_message, self._client)
            if frames is not None:
                return frames
        return self._slow_send_text(text)

    def send_bytes(self, data: Buffer) -> bytes:
        """See ``WSConnection.send_bytes``."""
        if self.open and type(data) is bytes and len(data) <= self._max_message:
            return serialize_frames(_BINARY, data, True, self._max_frame, self._client)
        return self._slow_send_bytes(data)
