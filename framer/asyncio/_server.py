"""The asyncio gateway server: sockets, clocks and handler calls around the router.

One :class:`Server` serves one API (a :class:`framer.router.Router`) on one
port: ``ws://HOST:PORT/{stage}`` for clients and ``/{stage}/@connections/{id}``
for the management API, as API Gateway's execute-api endpoint does.

Layering: the WebSocket engine turns bytes into events, the router turns events
into decisions (steps), and this module owns everything with a side effect:
the listening socket, per-connection transports, timers (idle timeout and
maximum duration), running handlers with their timeout, the bounded outgoing
buffer, logging and graceful shutdown.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

import h11
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from framer.router import (
    Accept,
    Closed,
    GoneException as RouterGone,
    HttpCall,
    Invocation,
    InvocationKind,
    Invoke,
    Raised,
    Refuse,
    Reply,
    Returned,
    Router,
    TimedOut,
)

from . import _http
from ._engine import MAX_MESSAGE_BYTES, new_server_connection
from ._invoke import call_handler, is_async_callable
from ._management import (
    MAX_POST_BYTES,
    BadRequestException,
    ForbiddenException,
    GoneException,
    LimitExceededException,
    ManagementError,
    PayloadTooLargeException,
    _current,
)

__all__ = ["Server", "ServerConfig", "serve"]

log = logging.getLogger("framer.server")

_GOING_AWAY = (1001, "Going away")


_time_ns = time.time_ns
_perf_counter = time.perf_counter
_monotonic = time.monotonic
"""The clock of the idle timeout and the maximum duration (``opened_at``,
``last_active``): read on every message, so directly, not through
``loop.time()`` (the default loop's clock is the same one)."""


def _now_ms() -> int:
    return _time_ns() // 1_000_000


def _iso_ms(ms: int) -> str:
    """Epoch milliseconds as ISO-8601 with milliseconds and ``Z`` (GetConnection's format)."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


@dataclass(frozen=True)
class ServerConfig:
    """Runtime knobs, with API Gateway's values as defaults (reference §6).

    ``idle_timeout`` and ``max_duration`` are in seconds; both close the
    connection with 1001 "Going away" and run ``$disconnect``.
    ``max_buffer`` bounds the bytes queued for one client that is not reading:
    above it, @connections answers 429 and the server stops reading from that
    client until it drains.
    ``handshake_timeout`` (seconds) closes a connection that has not
    completed a request head, or an upgrade, that long after it opened (or
    after its last plain-HTTP request): a client that connects and sends
    nothing holds a socket no longer.  ``max_handshake_size`` bounds a request
    head (431 above it; the engine's ``Limits.max_handshake_size``, 16 KiB,
    also applies to upgrades).
    """

    idle_timeout: float = 600.0
    max_duration: float = 7200.0
    max_buffer: int = 1024 * 1024
    close_timeout: float = 2.0
    shutdown_timeout: float = 10.0
    max_request_body: int = 16 * 1024 * 1024
    handshake_timeout: float = 10.0
    max_handshake_size: int = 16 * 1024

    def __post_init__(self) -> None:
        for name in ("idle_timeout", "max_duration", "close_timeout", "shutdown_timeout", "handshake_timeout"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"ServerConfig.{name} must be > 0 seconds, got {value!r}")
        if not 1 <= self.max_handshake_size <= 2**31:
            raise ValueError(
                "ServerConfig.max_handshake_size must be between 1 and 2**31 bytes, "
                f"got {self.max_handshake_size!r}"
            )
        if self.max_buffer < MAX_MESSAGE_BYTES:
            raise ValueError(
                f"ServerConfig.max_buffer must be at least {MAX_MESSAGE_BYTES} bytes "
                f"(one whole message), got {self.max_buffer!r}"
            )


async def _http_request(call: HttpCall) -> Any:
    """Make an HTTP_PROXY integration call (plain HTTP/1.1, one request per connection)."""
    from urllib.parse import urlsplit

    from framer.router import HttpResponse

    parts = urlsplit(call.url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"HTTP integration URL must be http(s): {call.url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reader, writer = await asyncio.open_connection(
        parts.hostname, port, ssl=parts.scheme == "https"
    )
    try:
        conn = h11.Connection(h11.CLIENT)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [(k, v) for k, v in call.headers if k.lower() not in ("host", "content-length", "connection")]
        headers += [("Host", parts.netloc), ("Content-Length", str(len(call.body))), ("Connection", "close")]
        writer.write(conn.send(h11.Request(method=call.method, target=target, headers=headers)) or b"")
        writer.write(conn.send(h11.Data(data=call.body)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()
        status, resp_headers, body = 0, [], bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                chunk = await reader.read(65536)
                conn.receive_data(chunk)
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                resp_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers]
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
        return HttpResponse(status=status, headers=tuple(resp_headers), body=bytes(body))
    finally:
        writer.close()


async def _run(invocation: Invocation) -> Any:
    """Run one invocation and describe what happened as the router expects."""
    try:
        if invocation.kind is InvocationKind.LAMBDA:
            assert invocation.handler is not None
            value = await call_handler(
                invocation.handler,
                invocation.event,
                invocation.timeout_s,
                context=invocation.context,
            )
        else:
            assert invocation.http is not None
            value = await asyncio.wait_for(_http_request(invocation.http), invocation.timeout_s)
        return Returned(value=value)
    except asyncio.TimeoutError:
        return TimedOut()
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the handler's own failure: the router decides what it means
        return Raised(error=exc)


async def _drive(step: Any) -> Any:
    """Run invocations until the router returns a final step."""
    while isinstance(step, Invoke):
        step = step.resume(await _run(step.invocation))
    return step


@dataclass(frozen=True)
class _StageNotServed:
    """A refusal decided by the server: the stage exists but ``--stage`` excluded it."""

    status: int = 403
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    body: bytes = b'{"message":"Forbidden"}'
    reason: str = "stage not served by this server"


async def _finish(coro: Any, yielded: Any) -> Any:
    """Finish a coroutine that was started by hand and suspended on *yielded*.

    Does what ``asyncio.Task`` would have done: wait for the future the
    coroutine yielded, resume it, repeat; cancellation is thrown into it.
    """
    while True:
        try:
            if yielded is None:
                await asyncio.sleep(0)  # a bare ``yield``: give the loop one turn
            else:
                await asyncio.wait((yielded,))  # never raises the future's own error
        except asyncio.CancelledError as cancel:
            # We were cancelled (timeout): cancel what it waits for, tell it.
            if yielded is not None:
                yielded.cancel()
            try:
                yielded = coro.throw(cancel)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            return stop.value


# Connection protocol states.  HTTP: reading request heads (plain HTTP or an
# upgrade).  CONNECTING: upgrade received, authorizer/$connect running.
# OPEN: WebSocket established.  CLOSING: a close frame was sent or received,
# waiting for the transport to go away.  CLOSED: transport gone.
_HTTP, _CONNECTING, _OPEN, _CLOSING, _CLOSED = range(5)


_READ_BUFFER_SIZE = 64 * 1024
"""Bytes read from a socket at most at once (the transport's own reads ask for
256 KiB, see ``_Protocol.get_buffer``)."""


class _Protocol(asyncio.BufferedProtocol):
    """One TCP connection: plain HTTP requests, or one WebSocket after an upgrade.

    A buffered protocol: the transport reads into the server's one read buffer
    (``get_buffer``) and this copies out what arrived (``buffer_updated``).  A
    plain protocol's transport allocates a 256 KiB ``bytes`` for every read and
    shrinks it to what arrived; depending on the state of glibc's malloc
    (its dynamic mmap and trim thresholds), that can cost an mmap/munmap pair
    or a heap trim per read, many times the cost of a small message.
    """

    def __init__(self, server: "Server") -> None:
        self.server = server
        self.transport: Optional[asyncio.Transport] = None
        self.state = _HTTP
        self.h11: Optional[h11.Connection] = h11.Connection(
            h11.SERVER, max_incomplete_event_size=server.config.max_handshake_size
        )
        self.request: Optional[h11.Request] = None
        self.body = bytearray()
        self.body_size = 0
        self.ws: Any = None
        self.conn: Any = None  # the router's Connection once accepted
        self.connection_id = ""
        self.stage = ""
        self.source_ip = ""
        self.pending: list[bytes] = []
        self.unsent: Optional[list[bytes]] = None  # replies held until the loop iteration ends
        self.fragments: list[str] = []
        self.fragments_size = 0
        self.opened_at = 0.0
        self.last_active = 0.0
        self.disconnected = False
        self.reading_paused = False
        self.close_timer: Optional[asyncio.TimerHandle] = None
        self.handshake_timer: Optional[asyncio.TimerHandle] = None

    # -- asyncio.Protocol -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.source_ip = peer[0] if peer else ""
        transport.set_write_buffer_limits(high=self.server.config.max_buffer)
        self.server._protocols.add(self)
        self._arm_handshake_timer()

    def get_buffer(self, sizehint: int) -> memoryview:
        # Shared by every connection of the server: the loop reads one socket
        # at a time, and buffer_updated copies the bytes out before returning.
        return self.server._read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        data = self.server._read_buffer[:nbytes].tobytes()
        state = self.state
        if state == _OPEN or state == _CLOSING:  # data_received's first case, directly
            self._ws_data(data)
        else:
            self.data_received(data)

    def data_received(self, data: bytes) -> None:
        state = self.state
        if state == _OPEN or state == _CLOSING:
            self._ws_data(data)
        elif state == _HTTP:
            self._http_data(data)
        elif state == _CONNECTING:
            # Frames sent before the 101 arrives wait for $connect to finish.
            self.pending.append(data)
            if sum(map(len, self.pending)) > self.server.config.max_buffer:
                self._pause_reading()

    def eof_received(self) -> Optional[bool]:
        if self.ws is not None and self.state in (_OPEN, _CLOSING):
            self._ws_data(None)
        return None

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        state = self.state
        self.state = _CLOSED
        self.server._protocols.discard(self)
        if self.close_timer is not None:
            self.close_timer.cancel()
        if self.handshake_timer is not None:
            self.handshake_timer.cancel()
        if state == _OPEN:
            # The peer vanished without a close frame: 1006 (RFC 6455 §7.1.5).
            self._disconnect(1006, "Connection closed abnormally")

    def pause_writing(self) -> None:
        # The client is not reading: stop reading from it so its replies stop
        # piling up (@connections posts get 429 meanwhile).
        self._pause_reading()

    def resume_writing(self) -> None:
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()

    # -- helpers ----------------------------------------------------------

    def _pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def _write(self, data: bytes) -> None:
        if self.unsent is not None:
            self._flush()  # replies first: the client sees our bytes in order
        transport = self.transport
        if data and transport is not None and not transport.is_closing():
            transport.write(data)

    def _flush(self) -> None:
        """Write the replies held back by ``_deliver`` (one write for all of them)."""
        unsent = self.unsent
        if unsent is None:
            return
        self.unsent = None
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(unsent[0] if len(unsent) == 1 else b"".join(unsent))

    def _abort_later(self) -> None:
        loop = self.server.loop
        self.close_timer = loop.call_later(self.server.config.close_timeout, self._abort)

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _arm_handshake_timer(self) -> None:
        if self.handshake_timer is not None:
            self.handshake_timer.cancel()
        self.handshake_timer = self.server.loop.call_later(
            self.server.config.handshake_timeout, self._handshake_timed_out
        )

    def _handshake_timed_out(self) -> None:
        """No complete request head (or upgrade) in time: 408 if one was started, then close."""
        self.handshake_timer = None
        if self.state != _HTTP:
            return
        parser = self.h11
        if parser is not None and (parser.their_state is not h11.IDLE or parser.trailing_data[0]):
            self._write(_http.render_response(408, keep_alive=False))
        self._close_transport()

    # -- plain HTTP -------------------------------------------------------

    def _http_data(self, data: bytes) -> None:
        parser = self.h11
        assert parser is not None
        parser.receive_data(data)
        while self.state == _HTTP:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError as exc:
                self._write(_http.render_response(exc.error_status_hint, keep_alive=False))
                self._close_transport()
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self.request = event
                self.body = bytearray()
                self.body_size = 0
            elif isinstance(event, h11.Data):
                self.body_size += len(event.data)
                if self.body_size > self.server.config.max_request_body:
                    self._write(_http.error_response(413, PayloadTooLargeException.error_type, "Request Entity Too Large", keep_alive=False))
                    self._close_transport()
                    return
                if self.body_size <= MAX_POST_BYTES:
                    self.body += event.data
            elif isinstance(event, h11.EndOfMessage):
                self._dispatch_http(parser)
                if self.state == _HTTP:
                    self._arm_handshake_timer()  # keep-alive: the next request gets its own time
            elif isinstance(event, h11.ConnectionClosed):
                self._close_transport()
                return

    def _close_transport(self) -> None:
        if self.unsent is not None:
            self._flush()
        if self.transport is not None:
            self.transport.close()

    def _respond(self, parser: h11.Connection, status: int, headers: list[tuple[str, str]], body: bytes = b"") -> None:
        headers = headers + [("Content-Length", str(len(body)))]
        try:
            out = parser.send(h11.Response(status_code=status, headers=headers)) or b""
            if body:
                out += parser.send(h11.Data(data=body)) or b""
            out += parser.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:
            self._write(_http.render_response(status, headers[:-1], body, keep_alive=False))
            self._close_transport()
            return
        self._write(out)
        if parser.our_state is h11.DONE and parser.their_state is h11.DONE:
            parser.start_next_cycle()
        else:
            self._close_transport()

    def _dispatch_http(self, parser: h11.Connection) -> None:
        request = self.request
        assert request is not None
        target = _http.parse_target(request.target)
        upgrade = b""
        for name, value in request.headers:
            if name == b"upgrade":
                upgrade = value.lower()
        if upgrade == b"websocket" and request.method == b"GET":
            self._begin_upgrade(request, parser.trailing_data[0])
            return
        handle_http = getattr(self.server.router, "handle_http", None)
        if handle_http is not None:
            # The app serves other plain-HTTP calls too (the apigatewayv2 control plane).
            answer = handle_http(
                request.method.decode("latin-1"), request.target.decode("latin-1"),
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers],
                bytes(self.body),
            )
            if answer is not None:
                self._respond(parser, answer[0], list(answer[1]), answer[2])
                return
        if target.kind == "connections":
            status, headers, body = self.server._management_http(
                request.method, target, bytes(self.body), self.body_size
            )
            self._respond(parser, status, headers, body)
            return
        if target.kind == "websocket" and self.server.resolve_stage(request.target.decode("latin-1")) is not None:
            if request.method == b"GET":
                self._respond(
                    parser,
                    426,
                    [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Content-Type", "text/plain")],
                    b"Upgrade Required",
                )
                return
        self._respond(
            parser,
            403,
            [("x-amzn-ErrorType", "ForbiddenException"), ("Content-Type", "application/json")],
            b'{"message":"Forbidden"}',
        )

    # -- WebSocket --------------------------------------------------------

    def _begin_upgrade(self, request: h11.Request, trailing: bytes) -> None:
        self.state = _CONNECTING
        self.h11 = None
        if self.handshake_timer is not None:
            self.handshake_timer.cancel()
            self.handshake_timer = None
        raw_headers = list(request.headers.raw_items())
        ws = new_server_connection()
        self.ws = ws
        head = _http.reconstruct_head(request.method, request.target, raw_headers)
        limit = self.server.config.max_handshake_size
        try:
            if len(head) > limit:
                raise RemoteProtocolError(
                    f"request head of {len(head)} bytes exceeds max_handshake_size={limit}",
                    event_hint=RejectConnection(status_code=431),
                )
            ws.receive_data(head)
            events = list(ws.events())
        except (RemoteProtocolError, UnicodeError) as exc:
            # UnicodeError: defence in depth; the engine maps wsproto's decoding
            # errors on header values to RemoteProtocolError (400) itself.
            hint = getattr(exc, "event_hint", None)
            status = hint.status_code if isinstance(hint, RejectConnection) else 400
            self._write(_http.render_response(status, [("Content-Type", "text/plain")], str(exc).encode(), keep_alive=False))
            self._close_transport()
            self.state = _CLOSED
            return
        if not events or not isinstance(events[0], Request):
            self._write(_http.render_response(400, keep_alive=False))
            self._close_transport()
            return
        if trailing:
            self.pending.append(trailing)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
        self.server._spawn(self._connect(request.target.decode("latin-1"), headers))

    async def _connect(self, path: str, headers: list[tuple[str, str]]) -> None:
        server = self.server
        started = time.perf_counter()
        step: Any
        if server.only_stages is not None and server.resolve_stage(path) is None:
            step = _StageNotServed()
        else:
            step = await _drive(
                server.router.connect(path=path, headers=headers, source_ip=self.source_ip, now_ms=_now_ms())
            )
        latency = (time.perf_counter() - started) * 1000
        ws = self.ws
        if isinstance(step, (Refuse, _StageNotServed)):
            stage = _http.parse_target(path.encode("latin-1")).stage
            log.info("connect stage=%s route=$connect id=- status=%d latency=%.1fms reason=%s", stage, step.status, latency, step.reason)
            if self.state != _CONNECTING:
                return
            out = ws.send(RejectConnection(
                status_code=step.status,
                headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in step.headers]
                + [(b"content-length", str(len(step.body)).encode())],
                has_body=True,
            ))
            out += ws.send(RejectData(data=step.body))
            self._write(out)
            self.state = _CLOSING
            self._close_transport()
            return
        assert isinstance(step, Accept)
        conn = step.connection
        self.conn = conn
        self.connection_id = conn.connection_id
        self.stage = conn.stage
        if self.state != _CONNECTING:
            # The client went away while $connect ran: it never opened.
            self._disconnect(1006, "Connection closed abnormally")
            return
        extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in step.headers]
        self._write(ws.send(AcceptConnection(subprotocol=step.subprotocol, extra_headers=extra)))
        self.state = _OPEN
        opened = _monotonic()
        self.opened_at = opened
        self.last_active = opened
        server._live[self.connection_id] = self
        log.info("connect stage=%s route=$connect id=%s status=101 latency=%.1fms", self.stage, self.connection_id, latency)
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()
        pending, self.pending = self.pending, []
        for chunk in pending:
            if self.state != _OPEN:
                break
            self._ws_data(chunk)

    def _ws_data(self, data: Optional[bytes]) -> None:
        ws = self.ws
        try:
            ws.receive_data(data)
            events = ws.events()
            for event in events:
                kind = type(event)
                if kind is TextMessage:
                    if self.state != _OPEN:
                        continue
                    if event.message_finished and not self.fragments:
                        self._on_text(event.data)
                    else:
                        self._on_fragment(event)
                elif kind is CloseConnection:
                    self._on_close(event)
                elif kind is Ping:
                    self._write(ws.send(event.response()))
                elif kind is BytesMessage:
                    # API Gateway does not support binary frames (reference §6.2).
                    self.close(1003, "Binary frames are not supported")
        except (RemoteProtocolError, LocalProtocolError) as exc:
            if self.state == _OPEN:
                self.close(1002, str(exc)[:120])
            else:
                self._close_transport()

    def _on_fragment(self, event: TextMessage) -> None:
        # Only reached with an engine that yields partial messages.
        self.fragments.append(event.data)
        self.fragments_size += len(event.data)
        if self.fragments_size > MAX_MESSAGE_BYTES:
            self.fragments = []
            self.close(1009, "Message too big")
            return
        if event.message_finished:
            text = "".join(self.fragments)
            self.fragments = []
            self.fragments_size = 0
            if len(text.encode()) > MAX_MESSAGE_BYTES:
                self.close(1009, "Message too big")
                return
            self._on_text(text)

    def _on_text(self, text: str) -> None:
        server = self.server
        self.last_active = _monotonic()
        started = _perf_counter() if server.log_messages else 0.0  # for the log line
        step = self.conn.receive_text(text, now_ms=_time_ns() // 1_000_000)
        # Run coroutine handlers eagerly: one that finishes without awaiting
        # (an echo, a lookup) costs no task and no extra loop iteration.
        while type(step) is Invoke:
            call = step.lambda_call  # (handler, event, context), or None for HTTP
            if call is None:
                server._spawn(self._message(step, started))
                return
            handler = call[0]
            try:
                inline = server._async_handlers[handler]
            except (KeyError, TypeError):  # not seen yet, or unhashable
                inline = server._learn_handler(handler)
            if not inline:
                server._spawn(self._message(step, started))
                return
            if _current.get() is not server:
                # For management_api(). Left set: this runs in the context of
                # this connection's reader callback, which only ever runs this
                # server's code (a get per message instead of a set and a reset).
                _current.set(server)
            try:
                coro = handler(call[1], call[2])
                yielded = coro.send(None)
            except StopIteration as stop:
                step = step.returned(stop.value)
                continue
            except Exception as exc:
                step = step.resume(Raised(error=exc))
                continue
            server._spawn(self._message_suspended(step, coro, yielded, started))
            return
        # Delivered in the same call that received it: last_active (set above)
        # is already the delivery time.
        self._deliver(step, started, False)

    async def _message(self, step: Any, started: float) -> None:
        _current.set(self.server)  # this task runs in its own copy of the context
        self._deliver(await _drive(step), started)

    async def _message_suspended(self, step: Any, coro: Any, yielded: Any, started: float) -> None:
        _current.set(self.server)
        try:
            value = await asyncio.wait_for(_finish(coro, yielded), step.invocation.timeout_s)
            outcome: Any = Returned(value=value)
        except asyncio.TimeoutError:
            outcome = TimedOut()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcome = Raised(error=exc)
        self._deliver(await _drive(step.resume(outcome)), started)

    def _deliver(self, reply: Reply, started: float, touch: bool = True) -> None:
        frames = reply.frames
        if frames and self.state == _OPEN:
            if self.transport is not None:  # _flush drops them if it is closing by then
                send_text = self.ws.send_text  # whole text messages: no event object
                data = send_text(frames[0]) if len(frames) == 1 \
                    else b"".join(map(send_text, frames))
                # Held until the replies of every message read in this loop
                # iteration are ready, then written (Server._flush_replies):
                # the client is woken once per batch, not once per reply.
                unsent = self.unsent
                if unsent is None:
                    self.unsent = [data]
                    self.server._hold(self)
                else:
                    unsent.append(data)
            if touch:
                self.last_active = _monotonic()
        if self.server.log_messages and log.isEnabledFor(logging.INFO):
            log.info(
                "message stage=%s route=%s id=%s status=%s latency=%.1fms",
                self.stage, reply.route_key, self.connection_id, "ok" if reply.frames is not None else "-",
                (time.perf_counter() - started) * 1000,
            )

    def _on_close(self, event: CloseConnection) -> None:
        ws = self.ws
        if self.state == _OPEN:
            # Peer-initiated close (or the engine's own 1009/1003/1007/1002):
            # answer it, then drop the transport.
            try:
                self._write(ws.send(event.response()))
            except LocalProtocolError:
                pass
            self.state = _CLOSING
            self._close_transport()
            code = event.code
            self._disconnect(None if code == 1005 else code, event.reason or "")
        else:
            # Reply to our own close frame: the handshake is complete.
            self._close_transport()

    def close(self, code: int, reason: str) -> None:
        """Start a server-side close: send a close frame and run ``$disconnect``."""
        if self.state != _OPEN:
            return
        try:
            self._write(self.ws.send(CloseConnection(code=code, reason=reason)))
        except LocalProtocolError:
            pass
        self.state = _CLOSING
        self._abort_later()
        self._disconnect(code, reason)

    def _disconnect(self, code: Optional[int], reason: str) -> None:
        if self.disconnected or self.conn is None:
            return
        self.disconnected = True
        self.server._live.pop(self.connection_id, None)
        self.server._spawn(self._run_disconnect(code, reason))

    async def _run_disconnect(self, code: Optional[int], reason: str) -> None:
        started = time.perf_counter()
        token = _current.set(self.server)
        try:
            step = await _drive(self.conn.disconnect(code=code, reason=reason, now_ms=_now_ms()))
        finally:
            _current.reset(token)
        error = getattr(step, "error", None) if isinstance(step, Closed) else None
        log.info(
            "disconnect stage=%s route=$disconnect id=%s status=%s code=%s latency=%.1fms%s",
            self.stage, self.connection_id, "error" if error else "ok", code if code is not None else 1005,
            (time.perf_counter() - started) * 1000, f" error={error!r}" if error else "",
        )

    # -- @connections delivery ---------------------------------------------

    def post(self, data: bytes) -> None:
        """Queue one message for this client, or raise LimitExceededException when its buffer is full."""
        transport = self.transport
        if self.state != _OPEN or transport is None or transport.is_closing():
            raise GoneException()
        if self.unsent is not None:
            self._flush()  # earlier replies go first, and count in the buffer
        if transport.get_write_buffer_size() + len(data) > self.server.config.max_buffer:
            raise LimitExceededException("Client side buffer is full")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            out = self.ws.send(BytesMessage(data=data))
        else:
            out = self.ws.send(TextMessage(data=text))
        transport.write(out)
        self.last_active = _monotonic()


class Server:
    """A running (or startable) gateway server for one API.

    Use it as an async context manager inside your own event loop::

        async with Server(router, host="127.0.0.1", port=0) as server:
            print(server.url("dev"))
            await server.serve_forever()

    ``app`` is a :class:`framer.router.Router`, or anything with a ``router``
    attribute or a ``build_router()`` method returning one.
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        config: Optional[ServerConfig] = None,
        stages: Optional[Iterable[str]] = None,
        log_messages: bool = True,
    ) -> None:
        self.router: Router = _as_router(app)
        self.only_stages: Optional[frozenset[str]] = None
        if stages:
            self.only_stages = frozenset(stages)
            for name in sorted(self.only_stages):
                if self.router.resolve_stage("/" + name) != name:
                    known = ", ".join(self.stages()) or "none"
                    raise ValueError(f"stage {name!r} does not exist in the API (stages: {known})")
        self.host = host
        self.port = port
        self.config = config or ServerConfig()
        self.log_messages = log_messages
        self._server: Optional[asyncio.base_events.Server] = None
        self._protocols: set[_Protocol] = set()
        self._live: dict[str, _Protocol] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._held: list[_Protocol] = []  # protocols with replies to write (see _hold)
        self._read_buffer = memoryview(bytearray(_READ_BUFFER_SIZE))  # see _Protocol.get_buffer
        # handler -> whether it is a coroutine function (run inline on the message path)
        self._async_handlers: dict[Any, bool] = {}
        self._sweeper: Optional[asyncio.Task[None]] = None
        self._closed: Optional[asyncio.Event] = None
        self.loop_thread_id = 0
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    # -- lifecycle ---------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the server runs on (set by :meth:`start`)."""
        if self._loop is None:
            raise RuntimeError("the server is not started")
        return self._loop

    async def start(self) -> "Server":
        """Bind and start accepting; ``port=0`` picks a free port (see :attr:`port`)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.loop_thread_id = threading.get_ident()
        self._closed = asyncio.Event()
        self._server = await loop.create_server(lambda: _Protocol(self), self.host, self.port)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        self._sweeper = loop.create_task(self._sweep())
        log.info("serving on ws://%s:%d/{stage} (stages: %s)", self.host, self.port, ", ".join(self.stages()) or "none")
        return self

    def stages(self) -> list[str]:
        """Names of the stages this server routes to (best effort, for messages)."""
        try:
            names = [s.stage_name for s in self.router.gateway.get_stages(self.router.api_id)]
        except Exception:  # the API was deleted from the gateway meanwhile
            return []
        return [n for n in names if self.only_stages is None or n in self.only_stages]

    def resolve_stage(self, path: str) -> Optional[str]:
        """The stage a request target addresses, or None if unknown or not served."""
        stage = self.router.resolve_stage(path)
        if stage is not None and self.only_stages is not None and stage not in self.only_stages:
            return None
        return stage

    def url(self, stage: str) -> str:
        """The WebSocket URL of *stage*, e.g. ``ws://127.0.0.1:8080/dev``."""
        return f"ws://{self.host}:{self.port}/{stage}"

    def connections_url(self, stage: str) -> str:
        """The @connections endpoint URL to give boto3 as ``endpoint_url``."""
        return f"http://{self.host}:{self.port}/{stage}"

    async def __aenter__(self) -> "Server":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.shutdown()

    async def serve_forever(self) -> None:
        """Wait until :meth:`shutdown` completes."""
        assert self._closed is not None
        await self._closed.wait()

    async def shutdown(self, code: int = 1001, reason: str = "Going away") -> None:
        """Stop accepting, close every connection with *code*, run every ``$disconnect``.

        Waits up to ``config.shutdown_timeout`` for close handshakes and
        disconnect handlers, then drops whatever is left.
        """
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for proto in list(self._protocols):
            if proto.state == _OPEN:
                proto.close(code, reason)
            elif proto.state in (_HTTP, _CONNECTING):
                proto._close_transport()
        deadline = self.loop.time() + self.config.shutdown_timeout
        while (self._protocols or self._tasks) and self.loop.time() < deadline:
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=max(0.0, deadline - self.loop.time()))
            else:
                await asyncio.sleep(0.01)
        for proto in list(self._protocols):
            proto._abort()
        for task in list(self._tasks):
            task.cancel()
        await server.wait_closed() if not self._protocols else None
        assert self._closed is not None
        self._closed.set()
        log.info("server stopped")

    def _hold(self, proto: _Protocol) -> None:
        """``proto`` has replies to write: write them once this loop iteration's
        callbacks (the reads that arrived together) have run."""
        if not self._held:
            self.loop.call_soon(self._flush_replies)
        self._held.append(proto)

    def _flush_replies(self) -> None:
        held, self._held = self._held, []
        for proto in held:
            proto._flush()

    def _learn_handler(self, handler: Any) -> bool:
        """Whether ``_on_text`` may run ``handler`` inline (a coroutine
        function), remembered for hashable handlers (a few, one per integration)."""
        inline = handler is not None and is_async_callable(handler)
        try:
            if len(self._async_handlers) >= 1024:
                self._async_handlers.clear()
            self._async_handlers[handler] = inline
        except TypeError:  # unhashable: asked again next time
            pass
        return inline

    def _spawn(self, coro: Any) -> None:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: "asyncio.Task[Any]") -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("internal error in a connection task", exc_info=task.exception())

    async def _sweep(self) -> None:
        """Enforce the idle timeout and the maximum duration (one timer for all)."""
        cfg = self.config
        tick = min(1.0, max(0.02, min(cfg.idle_timeout, cfg.max_duration) / 10))
        while True:
            await asyncio.sleep(tick)
            now = _monotonic()
            for proto in list(self._live.values()):
                if now - proto.opened_at >= cfg.max_duration or now - proto.last_active >= cfg.idle_timeout:
                    proto.close(*_GOING_AWAY)

    # -- @connections --------------------------------------------------------

    def _lookup(self, connection_id: str) -> _Protocol:
        if not _http.is_valid_connection_id(connection_id):
            raise BadRequestException(f"Invalid connectionId: {connection_id}")
        proto = self._live.get(connection_id)
        if proto is None or proto.state != _OPEN:
            raise GoneException()
        return proto

    def post_to_connection(self, connection_id: str, data: bytes) -> None:
        """Send *data* to a connected client as one message (frames of at most 32 KiB)."""
        proto = self._lookup(connection_id)
        if len(data) > MAX_POST_BYTES:
            raise PayloadTooLargeException(
                f"Message too long. Max size is {MAX_POST_BYTES} bytes, got {len(data)}"
            )
        proto.post(data)
        try:
            self.router.mark_active(connection_id, _now_ms())
        except RouterGone:
            pass

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        """GetConnection as boto3 returns it: ``ConnectedAt``, ``Identity``, ``LastActiveAt``."""
        self._lookup(connection_id)
        try:
            info = self.router.get_connection(connection_id)
        except RouterGone:
            raise GoneException() from None
        identity: dict[str, Any] = {"SourceIp": info.source_ip}
        if info.user_agent is not None:
            identity["UserAgent"] = info.user_agent
        return {
            "ConnectedAt": _iso_ms(info.connected_at_ms),
            "Identity": identity,
            "LastActiveAt": _iso_ms(info.last_active_at_ms),
        }

    def delete_connection(self, connection_id: str) -> None:
        """Close the connection from the server side; ``$disconnect`` runs."""
        proto = self._lookup(connection_id)
        proto.close(1000, "")

    def _management_http(
        self, method: bytes, target: _http.Target, body: bytes, body_size: int
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Answer one ``/{stage}/@connections/{id}`` request: (status, headers, body)."""
        try:
            if self.resolve_stage("/" + target.stage) is None:
                raise ForbiddenException("Forbidden")
            if method == b"POST":
                if not _http.is_valid_connection_id(target.connection_id):
                    raise BadRequestException(f"Invalid connectionId: {target.connection_id}")
                if body_size > MAX_POST_BYTES:
                    raise PayloadTooLargeException(
                        f"Message too long. Max size is {MAX_POST_BYTES} bytes, got {body_size}"
                    )
                self.post_to_connection(target.connection_id, body)
                return 200, [], b""
            if method == b"GET":
                self._lookup(target.connection_id)
                info = self.router.get_connection(target.connection_id)
                payload = {
                    "connectedAt": _iso_ms(info.connected_at_ms),
                    "identity": {"sourceIp": info.source_ip, **({"userAgent": info.user_agent} if info.user_agent is not None else {})},
                    "lastActiveAt": _iso_ms(info.last_active_at_ms),
                }
                return 200, [("Content-Type", "application/json")], json.dumps(payload).encode()
            if method == b"DELETE":
                self.delete_connection(target.connection_id)
                return 204, [], b""
            raise ForbiddenException(
                f"No method found matching route {target.stage}/@connections/{target.connection_id} "
                f"for http method {method.decode('latin-1')}."
            )
        except RouterGone:
            error: ManagementError = GoneException()
        except ManagementError as exc:
            error = exc
        headers = [("x-amzn-ErrorType", error.error_type)]
        if isinstance(error, GoneException):
            return error.status, headers, b""
        headers.append(("Content-Type", "application/json"))
        return error.status, headers, json.dumps({"message": error.message}).encode()


#: What the server calls on its router; an object with all of these is served as one.
_ROUTER_METHODS = ("resolve_stage", "connect", "connection", "get_connection", "mark_active")


def _as_router(app: Any) -> Router:
    if isinstance(app, Router):
        return app
    router = getattr(app, "router", None)
    if isinstance(router, Router):
        return router
    build = getattr(app, "build_router", None)
    if callable(build):
        built = build()
        if isinstance(built, Router):
            return built
    if all(callable(getattr(app, name, None)) for name in _ROUTER_METHODS):
        # Router-like: several APIs behind one object (framer.controlplane.LocalGateway).
        return app  # type: ignore[no-any-return]
    raise TypeError(
        f"expected a framer.router.Router (or an object with .router / .build_router()), got {type(app).__name__}"
    )


def serve(app: Any, host: str = "127.0.0.1", port: int = 8080, **options: Any) -> Server:
    """Create a :class:`Server`; use ``async with serve(app, host, port) as server:``.

    Keyword options are :class:`ServerConfig` fields (``idle_timeout=5``) or
    ``log_messages``.
    """
    log_messages = options.pop("log_messages", True)
    config = options.pop("config", None) or ServerConfig(**options)
    return Server(app, host, port, config=config, log_messages=log_messages)


async def run_until_signal(
    server: Server,
    signals: Iterable[int] = (signal.SIGINT, signal.SIGTERM),
    started: Optional[Callable[[], None]] = None,
) -> None:
    """Start *server* (then call *started*, if given) and run it until
    SIGINT/SIGTERM, then shut down gracefully."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    for sig in signals:
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            pass
    try:
        await server.start()
        if started is not None:
            started()
        await stop.wait()
        log.info("shutting down: closing %d connection(s) with 1001", len(server._live))
        await server.shutdown()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
