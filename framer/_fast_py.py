"""The pure-Python hot path: the pure twin's interface, and its send side.

``framer/_fast.pyx`` is the compiled twin with the same names and
signatures; the test suite runs against both and checks that they agree.

The frame rules are written once: ``FrameReader`` is ``_reader_py``'s and the
serializers are ``_writer_py``'s, whose sources are also the compiled twin's
reader and writer (see those modules), and ``mask`` and ``mask_inplace`` are
the Python byte kernels of ``_kernels_py``.  ``drain`` and ``Shortcut``
below still have a hand-written compiled twin in ``_fast.pyx``; when the two
disagree, this file is right.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Iterator, Union

from wsproto.events import Event
from wsproto.frame_protocol import Opcode

from ._kernels_py import mask, mask_inplace
from ._reader_py import FrameReader
from ._writer_py import build_frames as _build_frames
from ._writer_py import serialize_frames, serialize_parts, serialize_text

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


_BINARY = Opcode.BINARY


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
            return _build_frames(_BINARY, data, len(data), True, self._max_frame, self._client)
        return self._slow_send_bytes(data)
