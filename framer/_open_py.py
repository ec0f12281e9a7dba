"""The connection once the handshake is done: ``OpenConnection``, for both engine twins.

``WSConnection`` drives the opening handshake, then hands every call to the
``OpenConnection`` it makes, as wsproto's ``WSConnection`` hands its calls
to its ``Connection``.  This module holds that phase's rules, once: the
state machine of the closing handshake (RFC 6455 section 7), the order in
which events come out (a peer's close after the messages before it), what
may be sent in which state, and the message limit on what is sent.

As ``_reader_py`` and ``_writer_py`` are, this module is the pure twin's as
it stands and the source of the compiled one: setup.py compiles this very
file with Cython, as ``framer._open_c``, through ``_open_c.pxd``, which
types the class and cimports the compiled reader and writer over the Python
ones imported here.  So in the compiled twin a whole message goes from
``receive_data`` to the reader, or from ``send_text`` to the frames, in C.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Iterable, Union

from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Event, Message, Ping, Pong, TextMessage
from wsproto.frame_protocol import CloseReason, Opcode

from ._close_frame import MAX_CONTROL_PAYLOAD, close_payload
from ._deflate import COMPRESSED, Deflater
from ._errors import LocalProtocolError, MessageTooBigError, ProtocolViolation
from ._kernels_py import drain, utf8, utf8_size
from ._writer_py import build_frames, serialize_frames, serialize_parts

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from ._limits import Limits
    from ._reader_py import FrameReader

__all__ = ["OpenConnection"]

Buffer = Union[bytes, bytearray, memoryview]

_OPEN = ConnectionState.OPEN
_CLOSED = ConnectionState.CLOSED
_LOCAL_CLOSING = ConnectionState.LOCAL_CLOSING
_REMOTE_CLOSING = ConnectionState.REMOTE_CLOSING

# wsproto's Opcode members, bound to module names once (C ints when compiled).
_CONTINUATION, _TEXT, _BINARY = Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY
_COMPRESSED = COMPRESSED

# The state machine once the handshake is done, as one table:
# (state, what happened) -> next state.  Rules (RFC 6455 section 7):
# * sending a close frame starts the closing handshake, or completes it if the
#   peer's close frame came first;
# * receiving a close frame does the same from the other side;
# * a protocol violation by the peer puts us where a peer's close would: we
#   owe the peer one close frame (with the violation's code), then we are done;
# * the transport's EOF ends everything.
# Anything not in the table leaves the state unchanged.
_TRANSITIONS: dict[tuple[ConnectionState, str], ConnectionState] = {
    (_OPEN, "send_close"): _LOCAL_CLOSING,
    (_REMOTE_CLOSING, "send_close"): _CLOSED,
    (_OPEN, "receive_close"): _REMOTE_CLOSING,
    (_LOCAL_CLOSING, "receive_close"): _CLOSED,
    (_OPEN, "violation"): _REMOTE_CLOSING,
    (_LOCAL_CLOSING, "violation"): _CLOSED,
    (_OPEN, "eof"): _CLOSED,
    (_LOCAL_CLOSING, "eof"): _CLOSED,
    (_REMOTE_CLOSING, "eof"): _CLOSED,
    (_CLOSED, "eof"): _CLOSED,
}


class OpenConnection:
    """One end of a WebSocket connection after its opening handshake.

    ``WSConnection`` makes one when its handshake completes and calls it for
    everything from then on; see ``WSConnection`` for what each method does.
    ``reader`` is the twin's ``FrameReader`` for the frames that arrive;
    ``deflater`` compresses what is sent when permessage-deflate was
    negotiated.  ``events`` are the handshake's events not yet handed out:
    they come out first.
    """

    def __init__(
        self,
        reader: FrameReader,
        client: bool,
        limits: Limits,
        deflater: Deflater | None,
        events: Iterable[Event],
    ) -> None:
        self._reader = reader
        self._events: deque[Event] = deque(events)
        self._extend = self._events.extend
        self._state = _OPEN
        self._client = client
        self._max_frame = limits.max_frame_size
        self._max_message = limits.max_message_size
        self._deflater = deflater
        # The opcode of the message being sent in pieces (0 when none), and
        # its size so far.
        self._out_opcode = 0
        self._out_size = 0
        # The peer's close (or the violation's) and what it does to the
        # state, applied when events() hands that CloseConnection out, as
        # wsproto does: messages that arrived before it in the same read can
        # still be answered while the caller works through them.
        self._pending_close: CloseConnection | None = None
        self._pending_happening = ""
        self.violation: ProtocolViolation | None = None

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def buffered(self) -> int:
        return self._reader.buffered

    def _transition(self, happening: str) -> None:
        self._state = _TRANSITIONS.get((self._state, happening), self._state)

    # -- receiving --------------------------------------------------------

    def receive_data(self, data: Buffer | None) -> None:
        if data is None:
            self._flush_pending_close()
            # RFC 6455 section 7.1.5: no close frame seen means 1006.
            self._events.append(CloseConnection(code=CloseReason.ABNORMAL_CLOSURE))
            self._transition("eof")
            return
        if self._state is _CLOSED:
            raise LocalProtocolError("Connection already closed.")
        reader = self._reader
        if reader.done:
            return  # after a close or a violation the rest of the stream is ignored
        events = reader.feed(data)
        if events:
            if reader.done:
                self._reader_done(events)
            self._extend(events)

    def _reader_done(self, events: list[Event]) -> None:
        """The reader ended on the peer's close or a violation (the last event):
        hold that CloseConnection back until the events before it are out."""
        close = events.pop()
        reader = self._reader
        if reader.closed:
            self._pending_happening = "receive_close"
        else:
            self.violation = ProtocolViolation(reader.violation_code, reader.violation_reason)
            self._pending_happening = "violation"
        self._pending_close = close  # type: ignore[assignment]

    def _flush_pending_close(self) -> None:
        close = self._pending_close
        if close is not None:
            self._pending_close = None
            self._events.append(close)
            self._transition(self._pending_happening)

    def events(self) -> Iterator[Event]:
        if self._pending_close is None:
            return drain(self._events)
        return self._events_then_close()

    def _events_then_close(self) -> Generator[Event, None, None]:
        events = self._events
        while events:
            yield events.popleft()
        close = self._pending_close
        if close is not None and not events:
            self._pending_close = None
            self._transition(self._pending_happening)
            yield close

    # -- sending ----------------------------------------------------------

    def send(self, event: Event) -> bytes:
        if type(event) is TextMessage and event.message_finished and type(event.data) is str:
            return self.send_text(event.data)
        if isinstance(event, Message):
            return self._send_message(event)
        if isinstance(event, CloseConnection):
            return self._send_close(event)
        if isinstance(event, (Ping, Pong)):
            if self._state is not _OPEN:
                raise LocalProtocolError(f"Event {event} cannot be sent in state {self._state}.")
            payload = bytes(event.payload)
            if len(payload) > MAX_CONTROL_PAYLOAD:
                raise LocalProtocolError(
                    f"{type(event).__name__} payload of {len(payload)} bytes exceeds "
                    f"the 125-byte control frame limit (RFC 6455 section 5.5)"
                )
            opcode = Opcode.PING if isinstance(event, Ping) else Opcode.PONG
            return serialize_frames(opcode, payload, True, MAX_CONTROL_PAYLOAD, self._client)
        raise LocalProtocolError(f"Event {event} cannot be sent in state {self._state}.")

    def send_text(self, text: str) -> bytes:
        if (
            self._state is _OPEN
            and not self._out_opcode
            and self._deflater is None
            and type(text) is str
        ):
            payload = utf8(text)
            n = utf8_size(payload)
            if n <= self._max_message:
                return build_frames(_TEXT, payload, n, True, self._max_frame, self._client)
        return self._send_message(TextMessage(data=text))

    def send_bytes(self, data: Buffer) -> bytes:
        if (
            self._state is _OPEN
            and not self._out_opcode
            and self._deflater is None
            and type(data) is bytes
        ):
            n = len(data)
            if n <= self._max_message:
                return build_frames(_BINARY, data, n, True, self._max_frame, self._client)
        return self._send_message(BytesMessage(data=data))  # type: ignore[arg-type]

    def send_bytes_parts(self, data: Buffer) -> list[Buffer]:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
        if self._state is not _OPEN or self._out_opcode or self._deflater is not None:
            return [self._send_message(BytesMessage(data=data))]  # type: ignore[arg-type]
        limit = self._max_message
        if len(data) > limit:
            raise MessageTooBigError(len(data), limit)
        return serialize_parts(_BINARY, data, True, self._max_frame, self._client)

    def _send_message(self, event: Message) -> bytes:  # type: ignore[type-arg]
        if self._state is not _OPEN:
            raise LocalProtocolError(f"Event {event} cannot be sent in state {self._state}.")
        payload: Buffer
        opcode: int
        wire_opcode: int
        if isinstance(event, TextMessage):
            if not isinstance(event.data, str):
                raise TypeError(f"TextMessage.data must be str, got {type(event.data).__name__}")
            payload = event.data.encode("utf-8")
            opcode = _TEXT
        elif isinstance(event, BytesMessage):
            payload = event.data
            if not isinstance(payload, (bytes, bytearray, memoryview)):
                raise TypeError(
                    f"BytesMessage.data must be bytes-like, got {type(payload).__name__}"
                )
            opcode = _BINARY
        else:
            raise LocalProtocolError(f"unsupported message event {event!r}")
        if self._out_opcode:
            if opcode != self._out_opcode:
                raise LocalProtocolError(
                    "a message sent in pieces must keep one type: "
                    f"started as {'text' if self._out_opcode == _TEXT else 'binary'}"
                )
            wire_opcode = _CONTINUATION
        else:
            wire_opcode = opcode
        size = self._out_size + len(payload)
        limit = self._max_message
        if size > limit:
            raise MessageTooBigError(size, limit)
        finished = event.message_finished
        if self._deflater is not None:
            # RSV1 goes on the message's first frame only; fragmentation at
            # max_frame_size cuts the compressed bytes.
            payload = self._deflater.compress(payload, finished)
            if wire_opcode != _CONTINUATION:
                wire_opcode |= _COMPRESSED
        data = serialize_frames(wire_opcode, payload, finished, self._max_frame, self._client)
        if finished:
            self._out_opcode = 0
            self._out_size = 0
        else:
            self._out_opcode = opcode
            self._out_size = size
        return data

    def _send_close(self, event: CloseConnection) -> bytes:
        if self._state is not _OPEN and self._state is not _REMOTE_CLOSING:
            raise LocalProtocolError(f"Event {event} cannot be sent in state {self._state}.")
        payload = close_payload(event.code, event.reason)
        self._transition("send_close")
        return serialize_frames(Opcode.CLOSE, payload, True, MAX_CONTROL_PAYLOAD, self._client)
