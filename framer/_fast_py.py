"""The pure-Python hot path: the pure twin's interface, and its send side.

``framer/_fast.pyx`` is the compiled twin with the same names and
signatures; the test suite runs against both and checks that they agree.

The receive side is written once: ``FrameReader`` is ``_reader_py``'s, whose
source is also the compiled twin's reader (see that module), and ``mask``
and ``mask_inplace`` are the Python byte kernels of ``_kernels_py``.  The
send side below (frame serialization) and ``Shortcut`` still have a
hand-written compiled twin in ``_fast.pyx``; when the two disagree, this file
is right.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Callable, Iterator, Union

from wsproto.events import Event
from wsproto.frame_protocol import Opcode

from ._kernels_py import mask, mask_inplace
from ._kernels_py import xor_key as _xor_key  # (the send side's own keys are 4 bytes)
from ._reader_py import FrameReader

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
            return _header(opcode, fin, n, True) + key + _xor_key(payload, key)
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
            pieces.append(_xor_key(chunk, key))
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
