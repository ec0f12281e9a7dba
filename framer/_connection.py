"""``WSConnection``: wsproto's interface with API Gateway's limits and whole messages."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Union

from wsproto.connection import ConnectionState, ConnectionType
from wsproto.extensions import Extension
from wsproto.extensions import PerMessageDeflate as _WsprotoDeflate
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    Event,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.handshake import H11Handshake
from wsproto.utilities import LocalProtocolError as _WsprotoLocalProtocolError

from ._deflate import PerMessageDeflate, negotiated
from ._errors import LocalProtocolError, ProtocolViolation, RemoteProtocolError
from ._impl import implementation as _implementation
from ._impl import load, twin
from ._limits import Limits

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from wsproto.typing import Headers

    from ._open_py import OpenConnection

__all__ = ["WSConnection"]

Buffer = Union[bytes, bytearray, memoryview]

# This source is the pure twin's WSConnection and, compiled as
# framer._connection_c (setup.py), the compiled twin's: each class calls an
# open connection of its own twin directly (in C, for the compiled one).
_OWN_TWIN = "compiled" if __name__ == "framer._connection_c" else "pure"

# An HTTP head ends at an empty line; h11 accepts a bare LF as a line end, so
# the same is accepted here.
_HEAD_END = re.compile(b"\n\r?\n")


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
            self._twin = twin
            self.implementation = _implementation
        else:
            self._twin = load(implementation)
            self.implementation = implementation
        self.handshake = H11Handshake(connection_type)
        self._head = bytearray()  # handshake bytes before the end of the HTTP head
        self._after_head = b""  # bytes after the head, before the upgrade completes
        self._head_done = False
        self._request_seen = False  # server: a request head reached the handshake
        # The connection once the handshake is done: every call goes to it.
        # ``_own`` is the same object when it is this class's own twin's
        # (``_connection_c.pxd`` types it, so the compiled class calls it in
        # C); a connection asked for the other twin has only ``_phase``.
        self._phase: OpenConnection | None = None
        self._own: OpenConnection | None = None
        # The extensions this end offered or accepted.
        self._extensions: list[Extension] = []

    # -- state ------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """wsproto's ``ConnectionState``: the handshake's until it completes."""
        phase = self._phase
        if phase is None:
            return self.handshake.state
        return phase.state

    @property
    def violation(self) -> ProtocolViolation | None:
        """The peer's protocol or limit violation that closed the connection, if any."""
        phase = self._phase
        return None if phase is None else phase.violation

    @property
    def buffered(self) -> int:
        """Received bytes held by the connection and not yet delivered as events."""
        held = len(self._head) + len(self._after_head)
        phase = self._phase
        if phase is not None:
            held += phase.buffered
        return held

    def _open(self) -> None:
        """The handshake completed: from here on, every call goes to an ``OpenConnection``."""
        limits = self.limits
        deflate = negotiated(self._extensions)
        inflater = deflater = None
        if deflate is not None:
            inflater = deflate.inflater(self.client, limits.max_message_size)
            deflater = deflate.deflater(self.client)
        reader = self._twin.FrameReader(
            self.client,
            limits.max_frame_size,
            limits.max_message_size,
            limits.allow_binary,
            inflater,
        )
        # The handshake's events not yet handed out come out first.
        phase = self._phase = self._twin.OpenConnection(
            reader, self.client, limits, deflater, self.handshake.events()
        )
        if self.implementation == _OWN_TWIN:
            self._own = phase
        pending = self._after_head
        self._after_head = b""
        if pending:
            phase.receive_data(pending)

    # -- receiving --------------------------------------------------------

    def initiate_upgrade_connection(self, headers: Headers, path: bytes | str) -> None:
        """Start a server connection from an HTTP/1.1 upgrade request read elsewhere."""
        self.handshake.initiate_upgrade_connection(headers, path)
        self._request_seen = True

    def receive_data(self, data: Buffer | None) -> None:
        """Feed bytes read from the network; ``None`` means the peer closed the transport."""
        if self._own is not None:
            return self._own.receive_data(data)
        phase = self._phase
        if phase is not None:
            return phase.receive_data(data)
        self._receive_handshake(data)
        return None

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
        if self._phase is None and self.handshake.state is ConnectionState.REJECTING:
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
        if self._phase is None and self.handshake.connection is not None:
            self._open()

    def events(self) -> Iterator[Event]:
        """Iterate over the events received so far, in order.

        Each event is removed as it is yielded; events left when the caller
        stops iterating stay for the next call.
        """
        if self._own is not None:
            return self._own.events()
        phase = self._phase
        if phase is not None:
            return phase.events()
        return self._handshake_events()

    def _handshake_events(self) -> Generator[Event, None, None]:
        yield from self.handshake.events()
        phase = self._phase
        if phase is not None:
            # The handshake completed while the caller iterated (a server's
            # AcceptConnection): what came after it follows in this iteration.
            yield from phase.events()

    # -- sending ----------------------------------------------------------

    def send(self, event: Event) -> bytes:
        """Return the bytes that carry ``event`` to the peer."""
        if self._own is not None:
            return self._own.send(event)
        phase = self._phase
        if phase is not None:
            return phase.send(event)
        return self._send_handshake(event)

    def send_text(self, text: str) -> bytes:
        """Bytes for one whole text message: ``send(TextMessage(data=text))``, faster.

        The same frames, limits and errors, without building an event.
        """
        if self._own is not None:
            return self._own.send_text(text)
        phase = self._phase
        if phase is not None:
            return phase.send_text(text)
        return self._send_handshake(TextMessage(data=text))  # raises: not open yet

    def send_bytes(self, data: Buffer) -> bytes:
        """Bytes for one whole binary message: ``send(BytesMessage(data=data))``, faster."""
        if self._own is not None:
            return self._own.send_bytes(data)
        phase = self._phase
        if phase is not None:
            return phase.send_bytes(data)
        return self._send_handshake(BytesMessage(data=data))  # type: ignore[arg-type]

    def send_bytes_parts(self, data: Buffer) -> list[Buffer]:
        """One whole binary message as a list of buffers, for ``writelines``.

        On the server side the payload is not copied: the list alternates
        frame headers and views of ``data`` (so ``data`` must not change until
        written).  A client masks, which copies, and gets one ``bytes``; so
        does a compressed message.
        """
        phase = self._phase
        if phase is not None:
            return phase.send_bytes_parts(data)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
        return [self._send_handshake(BytesMessage(data=data))]  # type: ignore[arg-type]

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

    def __repr__(self) -> str:
        role = "client" if self.client else "server"
        return f"<framer.WSConnection {role} {self.state.name}>"
