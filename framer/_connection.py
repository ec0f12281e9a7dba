"""``WSConnection``: wsproto's interface with API Gateway's limits and whole messages."""

from __future__ import annotations

import re
from collections import deque
from typing import TYPE_CHECKING

from wsproto.connection import ConnectionState, ConnectionType
from wsproto.extensions import Extension
from wsproto.extensions import PerMessageDeflate as _WsprotoDeflate
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason, Opcode
from wsproto.handshake import H11Handshake
from wsproto.utilities import LocalProtocolError as _WsprotoLocalProtocolError

from ._close_frame import MAX_CONTROL_PAYLOAD, close_payload
from ._deflate import COMPRESSED, Deflater, PerMessageDeflate, negotiated
from ._errors import LocalProtocolError, MessageTooBigError, ProtocolViolation, RemoteProtocolError
from ._impl import (
    FrameReader,
    Shortcut,
    drain,
    load,
    serialize_frames,
    serialize_parts,
    serialize_text,
)
from ._impl import implementation as _implementation
from ._limits import Limits

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from wsproto.typing import Headers

__all__ = ["WSConnection"]

# An HTTP head ends at an empty line; h11 accepts a bare LF as a line end, so
# the same is accepted here.
_HEAD_END = re.compile(b"\n\r?\n")

_OPEN = ConnectionState.OPEN
_CLOSED = ConnectionState.CLOSED
_LOCAL_CLOSING = ConnectionState.LOCAL_CLOSING
_REMOTE_CLOSING = ConnectionState.REMOTE_CLOSING

# The connection's state machine once the handshake is done, as one table:
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


class WSConnection:
    """One end of a WebSocket connection, sans I/O.

    The interface is ``wsproto.WSConnection``'s: feed bytes from the network
    to :meth:`receive_data`, read :meth:`events`, and turn events into bytes
    to write with :meth:`send`.  The events are wsproto's own classes.  What
    differs:

    * every ``TextMessage``/``BytesMessage`` received is a whole message
      (``message_finished=True``), however the peer fragmented it;
    * ``limits`` (API Gateway's by default) are enforced: a frame or message
      over the limit, or a binary frame in API Gateway mode, ends the
      connection with a ``CloseConnection`` event carrying 1009 or 1003, as
      does any RFC 6455 violation (1002, 1007 for bad UTF-8).  Answer it like
      a peer's close: ``conn.send(event.response())``, then close the
      transport.  :attr:`violation` says what happened;
    * outgoing messages longer than ``limits.max_frame_size`` are fragmented,
      and ones longer than ``limits.max_message_size`` raise
      :class:`framer.MessageTooBigError` before anything is produced;
    * permessage-deflate (RFC 7692) is the one extension, and only with
      ``limits.allow_deflate`` (``Limits.general()``; API Gateway offers
      none): pass ``framer.PerMessageDeflate()`` (or wsproto's
      ``PerMessageDeflate``) in ``Request.extensions`` or
      ``AcceptConnection.extensions``.  The limits then apply to each message
      as decompressed (decompression stops one byte past
      ``max_message_size``: 1009) and to each frame as sent.
    """

    def __init__(
        self,
        connection_type: ConnectionType,
        limits: Limits | None = None,
        *,
        implementation: str | None = None,
    ) -> None:
        """``implementation`` ("compiled" or "pure") picks the hot path for this
        connection only, e.g. to compare the two in one process; by default it
        is :data:`framer.implementation`."""
        if not isinstance(connection_type, ConnectionType):
            raise TypeError(
                f"connection_type must be a framer.ConnectionType, got {connection_type!r}"
            )
        if limits is None:
            limits = Limits.api_gateway()
        elif not isinstance(limits, Limits):
            raise TypeError(f"limits must be a framer.Limits, got {limits!r}")
        self.client = connection_type is ConnectionType.CLIENT
        self.limits = limits
        if implementation is None:
            self._reader_type, self._drain = FrameReader, drain
            self._serialize, self._serialize_text = serialize_frames, serialize_text
            self._serialize_parts = serialize_parts
            self._shortcut_type = Shortcut
            self.implementation = _implementation
        else:
            module = load(implementation)
            self._reader_type = module.FrameReader
            self._drain = module.drain
            self._serialize = module.serialize_frames
            self._serialize_text = module.serialize_text
            self._serialize_parts = module.serialize_parts
            self._shortcut_type = module.Shortcut
            self.implementation = implementation
        self.handshake = H11Handshake(connection_type)
        self._head = bytearray()  # handshake bytes before the end of the HTTP head
        self._after_head = b""  # bytes after the head, before the upgrade completes
        self._head_done = False
        self._request_seen = False  # server: a request head reached the handshake
        self._reader: FrameReader | None = None
        self._state = ConnectionState.CONNECTING
        self._events: deque[Event] = deque()
        self._out_opcode = 0  # opcode of the message being sent in pieces, or 0
        self._out_size = 0
        self._violation: ProtocolViolation | None = None
        self._handshake_events = True  # the handshake may still have events to give
        # The peer's close (or the violation's) and the transition it causes,
        # applied when events() hands that CloseConnection out, as wsproto
        # does: messages that arrived before it in the same read can still be
        # answered while the caller works through them.
        self._pending_close: tuple[Event, str] | None = None
        self._shortcut: Shortcut | None = None
        # The extensions this end offered or accepted, and the compressor of
        # what it sends once permessage-deflate is in force.
        self._extensions: list[Extension] = []
        self._deflater: Deflater | None = None

    # -- state ------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """wsproto's ``ConnectionState``: the handshake's until it completes."""
        if self._reader is None:
            return self.handshake.state
        return self._state

    @property
    def violation(self) -> ProtocolViolation | None:
        """The peer's protocol or limit violation that closed the connection, if any."""
        return self._violation

    @property
    def buffered(self) -> int:
        """Received bytes held by the connection and not yet delivered as events."""
        held = len(self._head) + len(self._after_head)
        if self._reader is not None:
            held += self._reader.buffered
        return held

    def _transition(self, happening: str) -> None:
        self._state = _TRANSITIONS.get((self._state, happening), self._state)
        self._sync_shortcut()

    def _sync_shortcut(self) -> None:
        """Let the shortcut handle calls only while nothing unusual can happen."""
        shortcut = self._shortcut
        if shortcut is not None:
            reader = self._reader
            shortcut.open = (
                self._state is _OPEN
                and not self._out_opcode
                and self._pending_close is None
                and reader is not None
                and not reader.done
            )
            shortcut.drain_only = not self._handshake_events and self._pending_close is None

    def _open(self) -> None:
        """The handshake completed: frames from here on."""
        limits = self.limits
        deflate = negotiated(self._extensions)
        inflater = None
        if deflate is not None:
            inflater = deflate.inflater(self.client, limits.max_message_size)
            self._deflater = deflate.deflater(self.client)
        reader = self._reader = self._reader_type(
            self.client,
            limits.max_frame_size,
            limits.max_message_size,
            limits.allow_binary,
            inflater,
        )
        self._state = _OPEN
        # From here on the hot calls go straight to the shortcut (compiled
        # code in the compiled twin), which falls back to the full methods
        # below for anything but the common case.
        shortcut = self._shortcut = self._shortcut_type(
            reader,
            self._events,
            limits.max_frame_size,
            limits.max_message_size,
            self.client,
            self._receive_data,
            self._send_text,
            self._send_bytes,
            self._shortcut_done,
            self._events_full,
        )
        self.receive_data = shortcut.receive_data  # type: ignore[method-assign]
        self.events = shortcut.events  # type: ignore[method-assign]
        if self._deflater is None:
            # (Compressed messages are sent by the methods below.)
            self.send_text = shortcut.send_text  # type: ignore[method-assign]
            self.send_bytes = shortcut.send_bytes  # type: ignore[method-assign]
        self._sync_shortcut()
        pending = self._after_head
        self._after_head = b""
        if pending:
            self._feed(pending)

    # -- receiving --------------------------------------------------------

    def initiate_upgrade_connection(self, headers: Headers, path: bytes | str) -> None:
        """Start a server connection from an HTTP/1.1 upgrade request read elsewhere."""
        self.handshake.initiate_upgrade_connection(headers, path)
        self._request_seen = True

    def receive_data(self, data: bytes | bytearray | memoryview | None) -> None:
        """Feed bytes read from the network; ``None`` means the peer closed the transport."""
        # Once open, the hot path is Shortcut.receive_data (bound in _open);
        # this is its fallback, and the handshake's entry point.
        if self._reader is not None:
            if data is None:
                self._flush_pending_close()
                # RFC 6455 section 7.1.5: no close frame seen means 1006.
                self._events.append(CloseConnection(code=CloseReason.ABNORMAL_CLOSURE))
                self._transition("eof")
                return
            if self._state is _CLOSED:
                raise LocalProtocolError("Connection already closed.")
            self._feed(data)
            return
        self._receive_handshake(data)

    # The shortcut falls back to the full method under this name.
    _receive_data = receive_data

    def _feed(self, data: bytes | bytearray | memoryview) -> None:
        reader = self._reader
        assert reader is not None
        if reader.done:
            return  # after a close or a violation the rest of the stream is ignored
        events = reader.feed(data)
        if reader.done:
            self._reader_done(reader, events)
        if events:
            self._events.extend(events)

    def _reader_done(self, reader: FrameReader, events: list[Event]) -> None:
        """The reader ended on the peer's close or a violation (the last event).

        That CloseConnection is held back and handed out, with its state
        change, after the events before it, as wsproto does: messages that
        arrived in the same read as a close can still be answered while the
        caller works through them.
        """
        close = events.pop()
        if reader.closed:
            self._pending_close = (close, "receive_close")
        else:
            self._violation = ProtocolViolation(reader.violation_code, reader.violation_reason)
            self._pending_close = (close, "violation")
        self._sync_shortcut()

    def _shortcut_done(self, events: list[Event]) -> None:
        assert self._reader is not None
        self._reader_done(self._reader, events)

    def _flush_pending_close(self) -> None:
        pending = self._pending_close
        if pending is not None:
            self._pending_close = None
            self._events.append(pending[0])
            self._transition(pending[1])

    def _receive_handshake(self, data: bytes | bytearray | memoryview | None) -> None:
        if data is None or self._head_done:
            # EOF, or the body of a rejection response: wsproto's handshake
            # takes it as it is.
            if self._head_done and data is not None:
                if self.handshake.state is ConnectionState.CONNECTING:
                    self._after_head += bytes(data)
                    return
            self._handshake_receive(None if data is None else bytes(data))
            self._check_open()
            return
        start = max(0, len(self._head) - 3)
        self._head += data
        found = _HEAD_END.search(self._head, start)
        limit = self.limits.max_handshake_size
        if found is None:
            if len(self._head) > limit:
                self._head_too_big(limit)
            return
        end = found.end()
        if end > limit:
            self._head_too_big(limit)
        head = bytes(self._head[:end])
        self._after_head = bytes(self._head[end:])
        self._head = bytearray()
        self._head_done = True
        self._request_seen = not self.client
        self._handshake_receive(head)
        self._check_open()
        if self._reader is None and self.handshake.state is ConnectionState.REJECTING:
            # A client reading a rejection: what follows the head is its body.
            rest = self._after_head
            self._after_head = b""
            if rest:
                self._handshake_receive(rest)

    def _handshake_receive(self, data: bytes | None) -> None:
        """Feed wsproto's handshake; a malformed head is the peer's error, always."""
        try:
            self.handshake.receive_data(data)
        except RemoteProtocolError:
            raise
        except (UnicodeError, ValueError) as exc:
            # wsproto decodes some header values (Host as IDNA, tokens as
            # ASCII) and lets the decoding error out; to the caller it is a
            # bad request like any other.
            raise RemoteProtocolError(
                f"malformed opening handshake: {exc}",
                event_hint=RejectConnection(status_code=400),
            ) from exc

    def _head_too_big(self, limit: int) -> None:
        self._head = bytearray()
        raise RemoteProtocolError(
            f"HTTP head of the opening handshake is longer than {limit} bytes",
            event_hint=RejectConnection(status_code=431 if not self.client else 400),
        )

    def _check_open(self) -> None:
        if self._reader is None and self.handshake.connection is not None:
            self._open()

    def events(self) -> Iterator[Event]:
        """Iterate over the events received so far, in order.

        Each event is removed as it is yielded; events left when the caller
        stops iterating stay for the next call.
        """
        if self._handshake_events or self._pending_close is not None:
            return self._events_slow()
        return self._drain(self._events)

    _events_full = events

    def _events_slow(self) -> Generator[Event, None, None]:
        if self._handshake_events:
            yield from self.handshake.events()
            if self._reader is not None:
                # The handshake is over: it has no more events to give.
                self._handshake_events = False
                self._sync_shortcut()
        yield from self._drain(self._events)
        pending = self._pending_close
        if pending is not None and not self._events:
            self._pending_close = None
            self._transition(pending[1])
            yield pending[0]

    # -- sending ----------------------------------------------------------

    def send(self, event: Event) -> bytes:
        """Return the bytes that carry ``event`` to the peer."""
        if type(event) is TextMessage and event.message_finished and type(event.data) is str:
            # A whole text message: send_text's fast path, same frames and errors.
            return self.send_text(event.data)
        if self._reader is None:
            return self._send_handshake(event)
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
            return self._serialize(opcode, payload, True, MAX_CONTROL_PAYLOAD, self.client)
        raise LocalProtocolError(f"Event {event} cannot be sent in state {self._state}.")

    def send_text(self, text: str) -> bytes:
        """Bytes for one whole text message: ``send(TextMessage(data=text))``, faster.

        The same frames, limits and errors, without building an event.
        """
        if self._state is _OPEN and not self._out_opcode and type(text) is str:
            limits = self.limits
            if self._deflater is not None:
                payload = text.encode("utf-8")
                if len(payload) <= limits.max_message_size:
                    return self._send_deflated(Opcode.TEXT, payload, True)
            else:
                frames = self._serialize_text(
                    text, limits.max_frame_size, limits.max_message_size, self.client
                )
                if frames is not None:
                    return frames
        if self._reader is None:
            return self._send_handshake(TextMessage(data=text))  # raises: not open yet
        return self._send_message(TextMessage(data=text))

    def send_bytes(self, data: bytes | bytearray | memoryview) -> bytes:
        """Bytes for one whole binary message: ``send(BytesMessage(data=data))``, faster."""
        if (
            self._state is _OPEN
            and not self._out_opcode
            and isinstance(data, (bytes, bytearray, memoryview))
            and len(data) <= self.limits.max_message_size
        ):
            if self._deflater is not None:
                return self._send_deflated(Opcode.BINARY, data, True)
            return self._serialize(
                Opcode.BINARY, data, True, self.limits.max_frame_size, self.client
            )
        return self.send(BytesMessage(data=data))  # type: ignore[arg-type]

    _send_text = send_text
    _send_bytes = send_bytes

    def send_bytes_parts(
        self, data: bytes | bytearray | memoryview
    ) -> list[bytes | bytearray | memoryview]:
        """One whole binary message as a list of buffers, for ``writelines``.

        On the server side the payload is not copied: the list alternates
        frame headers and views of ``data`` (so ``data`` must not change until
        written).  A client masks, which copies, and gets one ``bytes``; so
        does a compressed message.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
        if self._state is not _OPEN or self._out_opcode or self._deflater is not None:
            return [self.send(BytesMessage(data=data))]  # type: ignore[arg-type]
        limit = self.limits.max_message_size
        if len(data) > limit:
            raise MessageTooBigError(len(data), limit)
        return self._serialize_parts(
            Opcode.BINARY, data, True, self.limits.max_frame_size, self.client
        )

    def _send_handshake(self, event: Event) -> bytes:
        if isinstance(event, (Request, AcceptConnection)) and event.extensions:
            self._extensions = self._check_extensions(list(event.extensions))
        if isinstance(event, AcceptConnection) and not self.client and not self._request_seen:
            raise LocalProtocolError(
                "a server can accept only after the client's request has been received"
            )
        try:
            data = self.handshake.send(event)
        except _WsprotoLocalProtocolError as exc:
            if isinstance(exc, LocalProtocolError):
                raise
            raise LocalProtocolError(str(exc)) from exc
        self._check_open()
        return data

    def _check_extensions(self, extensions: list[Extension | str]) -> list[Extension]:
        if not self.limits.allow_deflate:
            raise LocalProtocolError(
                "these limits negotiate no WebSocket extensions (API Gateway offers none; "
                f"Limits.general() allows permessage-deflate); got extensions={extensions!r}"
            )
        for ext in extensions:
            if not isinstance(ext, (PerMessageDeflate, _WsprotoDeflate)):
                raise LocalProtocolError(
                    "framer's one extension is permessage-deflate: pass "
                    f"framer.PerMessageDeflate() or wsproto's PerMessageDeflate, got {ext!r}"
                )
        return extensions  # type: ignore[return-value]

    def _send_message(self, event: Message) -> bytes:  # type: ignore[type-arg]
        if self._state is not _OPEN:
            raise LocalProtocolError(f"Event {event} cannot be sent in state {self._state}.")
        if isinstance(event, TextMessage):
            if not isinstance(event.data, str):
                raise TypeError(f"TextMessage.data must be str, got {type(event.data).__name__}")
            payload: bytes | bytearray | memoryview = event.data.encode("utf-8")
            opcode = Opcode.TEXT
        elif isinstance(event, BytesMessage):
            payload = event.data
            if not isinstance(payload, (bytes, bytearray, memoryview)):
                raise TypeError(
                    f"BytesMessage.data must be bytes-like, got {type(payload).__name__}"
                )
            opcode = Opcode.BINARY
        else:
            raise LocalProtocolError(f"unsupported message event {event!r}")
        if self._out_opcode:
            if opcode != self._out_opcode:
                raise LocalProtocolError(
                    "a message sent in pieces must keep one type: "
                    f"started as {'text' if self._out_opcode == Opcode.TEXT else 'binary'}"
                )
            wire_opcode = int(Opcode.CONTINUATION)
        else:
            wire_opcode = int(opcode)
        size = self._out_size + len(payload)
        limit = self.limits.max_message_size
        if size > limit:
            raise MessageTooBigError(size, limit)
        finished = event.message_finished
        if self._deflater is not None:
            data = self._send_deflated(wire_opcode, payload, finished)
        else:
            data = self._serialize(
                wire_opcode, payload, finished, self.limits.max_frame_size, self.client
            )
        if finished:
            self._out_opcode = 0
            self._out_size = 0
        else:
            self._out_opcode = opcode
            self._out_size = size
        self._sync_shortcut()
        return data

    def _send_deflated(
        self, opcode: int, payload: bytes | bytearray | memoryview, finished: bool
    ) -> bytes:
        """Frames of a (piece of a) message compressed, its size already checked.

        RSV1 goes on the message's first frame only (``opcode`` 0 continues
        one); fragmentation at ``max_frame_size`` cuts the compressed bytes.
        """
        assert self._deflater is not None
        compressed = self._deflater.compress(payload, finished)
        if opcode:
            opcode |= COMPRESSED
        return self._serialize(opcode, compressed, finished, self.limits.max_frame_size, self.client)

    def _send_close(self, event: CloseConnection) -> bytes:
        if self._state not in (_OPEN, _REMOTE_CLOSING):
            raise LocalProtocolError(f"Event {event} cannot be sent in state {self._state}.")
        payload = close_payload(event.code, event.reason)
        self._transition("send_close")
        return self._serialize(Opcode.CLOSE, payload, True, MAX_CONTROL_PAYLOAD, self.client)

    def __repr__(self) -> str:
        role = "client" if self.client else "server"
        return f"<framer.WSConnection {role} {self.state.name}>"
