"""uvicorn's WebSocket protocol on framer's engine: ``uvicorn.run(app, ws=FramerWSProtocol)``.

uvicorn's HTTP protocol (h11 or httptools) reads the upgrade request, builds
the ``ws=`` class with ``(config=, server_state=, app_state=)``, hands it the
transport with ``connection_made`` and replays the request head through
``data_received``.  From there this class owns the connection: framer's
sans-IO :class:`framer.WSConnection` parses and frames, this class does the
I/O, the timers and the ASGI WebSocket interface (spec 2.4, with the
``websocket.http.response`` denial extension).

What comes from uvicorn's ``Config``:

* ``ws_max_size``: the largest message in either direction (framer's
  ``Limits.max_message_size`` and ``max_frame_size``); an incoming one over it
  closes with 1009, an outgoing one raises :class:`framer.MessageTooBigError`
  in the app and nothing is sent.
* ``ws_max_queue``: how many received messages may wait for the app before
  reading from the socket pauses (resumed as the app catches up).
* ``ws_ping_interval`` / ``ws_ping_timeout``: server keepalive pings; a pong
  that is late closes with 1011 "keepalive ping timeout".
* ``root_path``, ``headers`` (``server_state.default_headers``) and the
  ``uvicorn.error`` logger, as uvicorn's own classes use them.
* ``ws_per_message_deflate`` (true by default): permessage-deflate is accepted
  when the client offers it, with the client's parameters; ``ws_max_size`` then
  bounds each message as decompressed.  Limits without ``allow_deflate``
  (``Limits.api_gateway()``) never negotiate it, as API Gateway does not.

:meth:`FramerWSProtocol.with_limits` gives a subclass whose connections use a
:class:`framer.Limits` of your choice instead, e.g. API Gateway's rules::

    uvicorn.run(app, ws=FramerWSProtocol.with_limits(Limits.api_gateway()))
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, ClassVar, cast
from urllib.parse import unquote

from uvicorn.config import Config
from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.protocols.utils import (
    ClientDisconnected,
    get_client_addr,
    get_local_addr,
    get_path_with_query_string,
    get_remote_addr,
    is_ssl,
)
from uvicorn.server import ServerState
from wsproto.connection import ConnectionState, ConnectionType
from wsproto.extensions import Extension
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from . import WSConnection
from ._deflate import PerMessageDeflate
from ._limits import Limits

__all__ = ["FramerWSProtocol"]

#: An ASGI message, as the app sends or receives it.
ASGIMessage = MutableMapping[str, Any]
ASGIApp = Callable[
    [ASGIMessage, Callable[[], Awaitable[ASGIMessage]], Callable[[ASGIMessage], Awaitable[None]]],
    Awaitable[Any],
]

_INTERNAL_ERROR_BODY = b"Internal Server Error"
_INTERNAL_ERROR_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"connection", b"close"),
    (b"content-length", str(len(_INTERNAL_ERROR_BODY)).encode("ascii")),
]
#: Seconds to wait for the peer's close frame after ours (RFC 6455 section
#: 7.1.1 lets the server close the TCP connection once it is late).
DEFAULT_CLOSE_TIMEOUT = 10.0
#: Close code sent to every open connection when the server shuts down
#: (RFC 6455 section 7.4.1 registry: "Service Restart").
_SHUTDOWN_CODE = 1012
# Response headers that say where an HTTP/1.1 body ends (RFC 9112 section 6).
_BODY_FRAMING = frozenset((b"content-length", b"transfer-encoding"))
_KEEPALIVE_TIMEOUT_CODE = 1011


class FramerWSProtocol(asyncio.Protocol):
    """A uvicorn ``ws=`` protocol class whose connections run on framer's engine."""

    #: Limits for every connection of this class; ``None`` derives them from
    #: ``Config.ws_max_size`` (binary allowed).  Set by :meth:`with_limits`.
    limits: ClassVar[Limits | None] = None

    @classmethod
    def with_limits(cls, limits: Limits) -> type[FramerWSProtocol]:
        """A subclass whose connections enforce ``limits`` (``ws_max_size`` is then unused).

        ``FramerWSProtocol.with_limits(Limits.api_gateway())`` gives an ASGI
        app API Gateway's framing rules: 32 KiB frames, 128 KiB messages,
        binary frames closed with 1003.
        """
        if not isinstance(limits, Limits):
            raise TypeError(f"with_limits() takes a framer.Limits, got {limits!r}")
        return type(cls.__name__, (cls,), {"limits": limits, "__module__": cls.__module__})

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.app: ASGIApp = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.logger = logging.getLogger("uvicorn.error")
        self.root_path = config.root_path
        self.app_state = app_state
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.default_headers = server_state.default_headers

        limits = self.limits
        if limits is None:
            limits = Limits.general(config.ws_max_size, config.ws_max_size)
        self.conn = WSConnection(ConnectionType.SERVER, limits)

        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.server: tuple[str, int | None] | None = None
        self.client: tuple[str, int] | None = None
        self.scheme = "ws"
        self.scope: ASGIMessage = {}

        # What the app has not received yet, and the receive() waiting for it.
        self.inbox: deque[ASGIMessage] = deque()
        self.inbox_waiter: asyncio.Future[None] | None = None
        self.max_queue = max(1, config.ws_max_queue)  # 0 would pause for good
        self.read_paused = False
        self.writable = asyncio.Event()
        self.writable.set()

        self.handshake_complete = False  # accepted, denied or given up: no handshake left
        self.response_started = False  # a denial response is being sent
        self.response_head: RejectConnection | None = None  # its head, before the body
        self.close_sent = False  # our close frame (or a final response) is out
        # The connection ended without the app's close (the peer's close or
        # violation, a keepalive timeout, shutdown): the app's sends raise
        # ClientDisconnected.
        self.interrupted = False
        self.disconnected = False  # the transport is gone
        self.disconnect_delivered = False  # the app has its websocket.disconnect
        self.close_timeout = DEFAULT_CLOSE_TIMEOUT
        self.close_timer: asyncio.TimerHandle | None = None

        self.ping_interval = config.ws_ping_interval
        self.ping_timeout = config.ws_ping_timeout
        self.ping_timer: asyncio.TimerHandle | None = None
        self.pong_timer: asyncio.TimerHandle | None = None
        self.ping_payload: bytes | None = None
        self.ping_sent_at = 0.0
        self.last_ping_rtt = 0.0

    # -- asyncio.Protocol -------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvicorn's ServerState types its set with uvicorn's own protocol classes.
        self.connections.add(self)  # type: ignore[arg-type]
        self.transport = transport
        self.server = get_local_addr(transport)
        self.client = get_remote_addr(transport)
        self.scheme = "wss" if is_ssl(transport) else "ws"
        self._trace("WebSocket connection made")

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop_keepalive()
        self._cancel_close_timer()
        self.disconnected = True
        self._disconnect(1006)
        self.handshake_complete = True
        self.connections.discard(self)
        # asyncio never calls resume_writing() on a transport lost while paused.
        self.writable.set()
        self._trace("WebSocket connection lost")
        if exc is None:
            self.transport.close()

    def eof_received(self) -> None:
        """Half-close from the peer: connection_lost follows."""

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def data_received(self, data: bytes) -> None:
        conn = self.conn
        try:
            conn.receive_data(data)
        except RemoteProtocolError as exc:
            # A malformed opening handshake: the engine says which response.
            self.logger.warning("Invalid WebSocket upgrade request: %s", exc)
            hint = exc.event_hint
            if isinstance(hint, RejectConnection):
                self.transport.write(conn.send(hint))
            self.handshake_complete = True
            self.close_sent = True
            self.transport.close()
            return
        except LocalProtocolError:
            # Bytes after the closing handshake ended (e.g. a late pong).
            self.transport.close()
            return
        for event in conn.events():
            kind = type(event)
            if self.close_sent:
                if kind is CloseConnection:
                    self.handle_close(event)  # type: ignore[arg-type]
            elif kind is TextMessage:
                self._deliver({"type": "websocket.receive", "text": event.data})  # type: ignore[attr-defined]
            elif kind is BytesMessage:
                self._deliver({"type": "websocket.receive", "bytes": bytes(event.data)})  # type: ignore[attr-defined]
            elif kind is Request:
                self.handle_connect(event)  # type: ignore[arg-type]
            elif kind is CloseConnection:
                self.handle_close(event)  # type: ignore[arg-type]
            elif kind is Ping:
                self.transport.write(conn.send(event.response()))  # type: ignore[attr-defined]
            elif kind is Pong:
                self.handle_pong(event)  # type: ignore[arg-type]

    # -- events from the peer --------------------------------------------

    def handle_connect(self, event: Request) -> None:
        raw_path, _, query_string = event.target.partition("?")
        headers = [(b"host", event.host.encode())]
        headers += [(name.lower(), value) for name, value in event.extra_headers]
        # wsproto's handshake takes these two out of extra_headers; an ASGI
        # scope has every request header.
        if event.subprotocols:
            headers.append((b"sec-websocket-protocol", ", ".join(event.subprotocols).encode()))
        if event.extensions:
            offers = ", ".join(str(offer) for offer in event.extensions)
            headers.append((b"sec-websocket-extensions", offers.encode()))
        self.scope = {
            "type": "websocket",
            "asgi": {"version": self.config.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": self.scheme,
            "server": self.server,
            "client": self.client,
            "root_path": self.root_path,
            "path": self.root_path + unquote(raw_path),
            "raw_path": self.root_path.encode("ascii") + raw_path.encode("ascii"),
            "query_string": query_string.encode("ascii"),
            "headers": headers,
            "subprotocols": event.subprotocols,
            "state": self.app_state.copy(),
            "extensions": {"websocket.http.response": {}},
        }
        self._deliver({"type": "websocket.connect"})
        task = self.loop.create_task(self.run_asgi())
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    def handle_close(self, event: CloseConnection) -> None:
        """The peer's close frame, or the engine's close for a peer's violation."""
        if self.close_sent:
            # The peer answered our close: the closing handshake is complete.
            self._cancel_close_timer()
            self.transport.close()
            return
        self.interrupted = True
        if self.conn.state is ConnectionState.REMOTE_CLOSING:
            self.transport.write(self.conn.send(event.response()))
        violation = self.conn.violation
        if violation is not None:
            self._log_request(f"closed {violation.code}: {violation.reason}")
        self._disconnect(event.code, event.reason)
        self.transport.close()

    def handle_pong(self, event: Pong) -> None:
        if self.ping_payload is None or bytes(event.payload) != self.ping_payload:
            return  # unsolicited, or the answer to an older ping
        self.last_ping_rtt = self.loop.time() - self.ping_sent_at
        self.ping_payload = None
        if self.pong_timer is not None:
            self.pong_timer.cancel()
            self.pong_timer = None
            self.schedule_ping()

    # -- keepalive ----------------------------------------------------------

    def start_keepalive(self) -> None:
        if self.ping_interval is not None and self.ping_interval > 0:
            self.schedule_ping()

    def stop_keepalive(self) -> None:
        for timer in (self.ping_timer, self.pong_timer):
            if timer is not None:
                timer.cancel()
        self.ping_timer = self.pong_timer = None
        self.ping_payload = None

    def schedule_ping(self) -> None:
        assert self.ping_interval is not None
        delay = max(0.0, self.ping_interval - self.last_ping_rtt)
        self.ping_timer = self.loop.call_later(delay, self.send_keepalive_ping)

    def send_keepalive_ping(self) -> None:
        self.ping_timer = None
        if self.close_sent or self.transport.is_closing():
            return
        # A fresh payload tells this ping's pong from a stale one.
        self.ping_payload = os.urandom(4)
        self.ping_sent_at = self.loop.time()
        self.transport.write(self.conn.send(Ping(payload=self.ping_payload)))
        if self.ping_timeout is not None:
            self.pong_timer = self.loop.call_later(self.ping_timeout, self.keepalive_timeout)
        else:
            self.schedule_ping()

    def keepalive_timeout(self) -> None:
        self.pong_timer = None
        self.ping_payload = None
        if self.close_sent or self.transport.is_closing():
            return
        self._trace("WebSocket keepalive ping timeout")
        reason = "keepalive ping timeout"
        self.transport.write(
            self.conn.send(CloseConnection(code=_KEEPALIVE_TIMEOUT_CODE, reason=reason))
        )
        self.close_sent = self.interrupted = True
        self._disconnect(_KEEPALIVE_TIMEOUT_CODE, reason)
        self.transport.close()

    # -- server ---------------------------------------------------------------

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: close open connections with 1012."""
        self.stop_keepalive()
        if self.close_sent or self.response_started:
            self._cancel_close_timer()
        elif self.handshake_complete:
            self.close_sent = self.interrupted = True
            self._disconnect(_SHUTDOWN_CODE)
            self.transport.write(self.conn.send(CloseConnection(code=_SHUTDOWN_CODE)))
        else:
            self.send_500_response()
        self.transport.close()

    def send_500_response(self) -> None:
        if self.response_started or self.handshake_complete:
            return  # too late for a response
        self.handshake_complete = True
        self.close_sent = True
        output = self.conn.send(
            RejectConnection(status_code=500, headers=_INTERNAL_ERROR_HEADERS, has_body=True)
        )
        output += self.conn.send(RejectData(data=_INTERNAL_ERROR_BODY))
        self.transport.write(output)

    async def run_asgi(self) -> None:
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self.send_500_response()
        else:
            if not self.handshake_complete:
                self.logger.error("ASGI callable returned without completing handshake.")
                self.send_500_response()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self.response_head is not None:
            # The app started a denial response and returned without its body.
            self._send_response_body({"body": b""})
        if self.close_timer is None:
            self.transport.close()

    # -- ASGI receive and send -------------------------------------------------

    def _deliver(self, message: ASGIMessage) -> None:
        self.inbox.append(message)
        waiter = self.inbox_waiter
        if waiter is not None:
            self.inbox_waiter = None
            if not waiter.done():
                waiter.set_result(None)
        if (
            len(self.inbox) >= self.max_queue
            and not self.read_paused
            and not self.disconnect_delivered
        ):
            self.read_paused = True
            self.transport.pause_reading()

    def _disconnect(self, code: int, reason: str | None = None) -> None:
        """Give the app its one ``websocket.disconnect``."""
        if not self.disconnect_delivered:
            self.disconnect_delivered = True
            message: ASGIMessage = {"type": "websocket.disconnect", "code": code}
            if reason is not None:
                message["reason"] = reason
            self._deliver(message)

    async def receive(self) -> ASGIMessage:
        inbox = self.inbox
        while not inbox:
            waiter = self.inbox_waiter = self.loop.create_future()
            await waiter
        message = inbox.popleft()
        if self.read_paused and len(inbox) < self.max_queue:
            self._resume_reading()
        return message

    def _resume_reading(self) -> None:
        self.read_paused = False
        if not self.disconnected:
            self.transport.resume_reading()

    async def send(self, message: ASGIMessage) -> None:
        if not self.writable.is_set():
            await self.writable.wait()
        if self.disconnected or self.interrupted:
            raise ClientDisconnected()
        kind = message["type"]
        if self.close_sent:
            if self.response_started and kind == "websocket.http.response.body":
                self._send_response_body(message)
                return
            if self.response_started:
                raise RuntimeError(
                    f"Expected ASGI message 'websocket.http.response.body' but got '{kind}'."
                )
            raise RuntimeError(f"Unexpected ASGI message '{kind}', after sending 'websocket.close'.")
        if not self.handshake_complete:
            if kind == "websocket.accept":
                self._accept(message)
            elif kind == "websocket.close":
                self._deny(403)
                self.transport.write(self.conn.send(RejectConnection(status_code=403)))
                self._disconnect(1006)
                self.transport.close()
            elif kind == "websocket.http.response.start":
                self._start_response(message)
            else:
                raise RuntimeError(
                    "Expected ASGI message 'websocket.accept', 'websocket.close' "
                    f"or 'websocket.http.response.start' but got '{kind}'."
                )
            return
        try:
            if kind == "websocket.send":
                data = message.get("bytes")
                if data is None:
                    output = self.conn.send_text(message["text"])
                else:
                    output = self.conn.send_bytes(data)
                if not self.transport.is_closing():
                    self.transport.write(output)
            elif kind == "websocket.close":
                self._close(message.get("code", 1000), message.get("reason") or "")
            else:
                raise RuntimeError(
                    "Expected ASGI message 'websocket.send' or 'websocket.close', "
                    f"but got '{kind}'."
                )
        except LocalProtocolError as exc:
            if self.conn.state is ConnectionState.OPEN:
                raise  # the app's mistake (e.g. a message over the limit), not a disconnect
            raise ClientDisconnected() from exc

    def _accept(self, message: ASGIMessage) -> None:
        self._log_request("[accepted]")
        headers = self.default_headers + list(message.get("headers", []))
        self.handshake_complete = True
        if self.transport.is_closing():
            return
        extensions: list[Extension] = []
        if self.config.ws_per_message_deflate and self.conn.limits.allow_deflate:
            extensions.append(PerMessageDeflate())
        accept = AcceptConnection(
            subprotocol=message.get("subprotocol"), extra_headers=headers, extensions=extensions
        )
        self.transport.write(self.conn.send(accept))
        self.start_keepalive()

    def _deny(self, status: int) -> None:
        """End the handshake without a WebSocket: no frame may follow."""
        self._log_request(str(status))
        self.handshake_complete = True
        self.close_sent = True

    def _start_response(self, message: ASGIMessage) -> None:
        """``websocket.http.response.start``.

        When the app says nothing of the body's length, the head waits for the
        first body part, so a body sent in one part gets a ``content-length``
        rather than chunked encoding.
        """
        status = message["status"]
        if not 100 <= status < 600:
            raise RuntimeError(f"Invalid HTTP status code '{status}' in response.")
        self._deny(status)
        self.response_started = True
        headers = list(message.get("headers", []))
        head = RejectConnection(status_code=status, headers=headers, has_body=True)
        if any(name.lower() in _BODY_FRAMING for name, _ in headers):
            self.transport.write(self.conn.send(head))
        else:
            self.response_head = head

    def _send_response_body(self, message: ASGIMessage) -> None:
        body = message["body"]
        finished = not message.get("more_body", False)
        output = b""
        head = self.response_head
        if head is not None:
            self.response_head = None
            if finished:
                head.headers.append((b"content-length", str(len(body)).encode("ascii")))
            output = self.conn.send(head)
        output += self.conn.send(RejectData(data=body, body_finished=finished))
        self.transport.write(output)
        if finished:
            self.response_started = False
            self._disconnect(1006)
            self.transport.close()

    def _close(self, code: int, reason: str) -> None:
        """The app closes: send our close frame and wait for the peer's."""
        self.close_sent = True
        self._disconnect(code, reason)
        output = self.conn.send(CloseConnection(code=code, reason=reason))
        if self.transport.is_closing():
            return
        self.transport.write(output)
        if self.read_paused:
            self._resume_reading()  # the peer's close frame must get through
        self.close_timer = self.loop.call_later(self.close_timeout, self._close_timed_out)

    def _close_timed_out(self) -> None:
        self.close_timer = None
        self.transport.close()

    def _cancel_close_timer(self) -> None:
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None

    def _log_request(self, outcome: str) -> None:
        """uvicorn's access line for a WebSocket: ``client - "WebSocket /path" outcome``."""
        scope = cast(Any, self.scope)
        self.logger.info(
            '%s - "WebSocket %s" %s',
            get_client_addr(scope),
            get_path_with_query_string(scope),
            outcome,
        )

    def _trace(self, what: str) -> None:
        if self.logger.isEnabledFor(TRACE_LOG_LEVEL):
            prefix = "%s:%d - " % self.client if self.client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%s%s", prefix, what)
