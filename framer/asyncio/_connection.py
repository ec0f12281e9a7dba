"""One client's WebSocket connection: driving the engine, timers and batched writes.

:class:`WebSocketProtocol` owns the transport once the upgrade is accepted:
it feeds received bytes to the engine, hands each whole text message to the
router (starting coroutine handlers inline), holds replies until the loop
iteration ends so one write carries them all, answers pings and closes, runs
``$disconnect`` and sends @connections posts.  Reading request heads and the
upgrade itself is :mod:`._http`'s subclass.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any, Coroutine, Optional, Union

from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from framer import WSConnection
from framer._limits import API_GATEWAY_MAX_MESSAGE_SIZE as MAX_MESSAGE_BYTES
from framer.router import Accept, Closed, Connection, Invoke, Raised, Reply, TimedOut
from framer.router._frames import INTERNAL_SERVER_ERROR, error_frame

from ._invoke import FunctionFailed, Outcome, finish, is_async_callable
from ._management import GoneException, LimitExceededException, current_registry
from ._shared import Shared

__all__ = ["WebSocketProtocol", "HTTP", "CONNECTING", "OPEN", "CLOSING", "CLOSED", "now_ms"]

log = logging.getLogger("framer.server")

# Connection states.  HTTP: reading request heads (plain HTTP or an upgrade).
# CONNECTING: upgrade received, authorizer/$connect running.  OPEN: WebSocket
# established.  CLOSING: a close frame was sent or received, waiting for the
# transport to go away.  CLOSED: transport gone.
HTTP, CONNECTING, OPEN, CLOSING, CLOSED = range(5)

_time_ns = time.time_ns
_perf_counter = time.perf_counter
_monotonic = time.monotonic
"""The clock of the idle timeout and the maximum duration (``opened_at``,
``last_active``): read on every message, so directly, not through
``loop.time()`` (the default loop's clock is the same one)."""


_SMALL_REPLY = MAX_MESSAGE_BYTES // 4
"""A reply of at most this many characters is within the 128 KiB limit
however it encodes (UTF-8: at most 4 bytes a character): only a longer one
is encoded to be measured."""


def _failure(outcome: Outcome) -> Union[BaseException, TimedOut, None]:
    """What a route's log line reports of an invocation that did not return."""
    if type(outcome) is Raised:
        return outcome.error
    if type(outcome) is TimedOut:
        return outcome
    return None


def now_ms() -> int:
    """Epoch milliseconds, the router's clock."""
    return _time_ns() // 1_000_000


class WebSocketProtocol(asyncio.BufferedProtocol):
    """One TCP connection; this class drives it once it is a WebSocket.

    A buffered protocol: the transport reads into the server's one read buffer
    (``get_buffer``) and this copies out what arrived (``buffer_updated``).  A
    plain protocol's transport allocates a 256 KiB ``bytes`` for every read and
    shrinks it to what arrived; depending on the state of glibc's malloc
    (its dynamic mmap and trim thresholds), that can cost an mmap/munmap pair
    or a heap trim per read, many times the cost of a small message.
    """

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.transport: Optional[asyncio.Transport] = None
        self.state = HTTP
        self.ws: Optional[WSConnection] = None
        self.conn: Optional[Connection] = None  # the router's Connection once accepted
        self.connection_id = ""
        self.stage = ""
        self.api = ""  # its API among the server's (@connections answers only through it)
        self.source_ip = ""
        self.pending: list[bytes] = []  # bytes that arrived before the WebSocket opened
        self.unsent: Optional[list[bytes]] = None  # replies held until the loop iteration ends
        self.opened_at = 0.0
        self.last_active = 0.0
        self.disconnected = False
        self.reading_paused = False
        self.close_timer: Optional[asyncio.TimerHandle] = None

    # -- asyncio.Protocol -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.source_ip = peer[0] if peer else ""
        transport.set_write_buffer_limits(high=self.shared.config.max_buffer)
        self.shared.protocols.add(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.shared.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        data = self.shared.read_buffer[:nbytes].tobytes()
        state = self.state
        if state == OPEN or state == CLOSING:  # data_received's first case, directly
            self._ws_data(data)
        else:
            self.data_received(data)

    def data_received(self, data: bytes) -> None:
        state = self.state
        if state == OPEN or state == CLOSING:
            self._ws_data(data)
        elif state == CONNECTING:
            # Frames sent before the 101 arrives wait for $connect to finish.
            self.pending.append(data)
            if sum(map(len, self.pending)) > self.shared.config.max_buffer:
                self._pause_reading()

    def eof_received(self) -> Optional[bool]:
        if self.ws is not None and self.state in (OPEN, CLOSING):
            self._ws_data(None)
        return None

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        state = self.state
        self.state = CLOSED
        self.shared.protocols.discard(self)
        if self.close_timer is not None:
            self.close_timer.cancel()
        if state == OPEN:
            # The peer vanished without a close frame: 1006 (RFC 6455 §7.1.5).
            self._disconnect(1006, "Connection closed abnormally")

    def pause_writing(self) -> None:
        # The client is not reading: stop reading from it so its replies stop
        # piling up (@connections posts get 429 meanwhile).
        self._pause_reading()

    def resume_writing(self) -> None:
        self._resume_reading()

    # -- the transport ------------------------------------------------------

    def _pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()

    def _write(self, data: bytes) -> None:
        if self.unsent is not None:
            self.flush()  # replies first: the client sees our bytes in order
        transport = self.transport
        if data and transport is not None and not transport.is_closing():
            transport.write(data)

    def flush(self) -> None:
        """Write the replies held back by ``_deliver`` (one write for all of them)."""
        unsent = self.unsent
        if unsent is None:
            return
        self.unsent = None
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(unsent[0] if len(unsent) == 1 else b"".join(unsent))

    def _close_transport(self) -> None:
        if self.unsent is not None:
            self.flush()
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the transport now, without a close handshake."""
        if self.transport is not None:
            self.transport.abort()

    def shut(self, code: int, reason: str) -> None:
        """Server shutdown: close an open WebSocket with *code*, drop a connection not yet one."""
        if self.state == OPEN:
            self.close(code, reason)
        elif self.state in (HTTP, CONNECTING):
            self._close_transport()

    # -- opening --------------------------------------------------------------

    def _open(self, step: Accept) -> None:
        """``$connect`` accepted: answer 101, register, and read what waited."""
        ws = self.ws
        assert ws is not None
        extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in step.headers]
        self._write(ws.send(AcceptConnection(subprotocol=step.subprotocol, extra_headers=extra)))
        self.state = OPEN
        opened = _monotonic()
        self.opened_at = opened
        self.last_active = opened
        self.shared.connections.live[self.connection_id] = self
        self._resume_reading()
        pending, self.pending = self.pending, []
        for chunk in pending:
            if self.state != OPEN:
                break
            self._ws_data(chunk)

    def is_open(self) -> bool:
        """Whether the WebSocket is OPEN (neither closing nor closed)."""
        return self.state == OPEN

    # -- receiving ------------------------------------------------------------

    def _ws_data(self, data: Optional[bytes]) -> None:
        ws = self.ws
        assert ws is not None
        try:
            ws.receive_data(data)
            # The engine (API Gateway limits, see _engine) yields whole text
            # messages only: fragments are joined, and binary or oversized
            # messages arrive as a CloseConnection (1003, 1009).
            for event in ws.events():
                if isinstance(event, TextMessage):
                    if self.state == OPEN:
                        self._on_text(event.data)
                elif isinstance(event, CloseConnection):
                    self._on_close(event)
                elif isinstance(event, Ping):
                    self._write(ws.send(event.response()))
        except (RemoteProtocolError, LocalProtocolError) as exc:
            if self.state == OPEN:
                self.close(1002, str(exc)[:120])
            else:
                self._close_transport()

    def _on_text(self, text: str) -> None:
        shared = self.shared
        self.last_active = _monotonic()
        started = _perf_counter() if shared.log_messages else 0.0  # for the log line
        conn = self.conn
        assert conn is not None
        # Delivered in the same call that received it: last_active (set above)
        # is already the delivery time.
        self._advance(conn.receive_text(text, now_ms=_time_ns() // 1_000_000), started, False, None)

    def _advance(self, step: Any, started: float, touch: bool,
                 failed: Union[BaseException, TimedOut, None]) -> None:
        """Run ``step``'s invocations until its reply, then deliver it: without
        a task where possible (inline coroutines, the worker runner's
        callbacks), else in one (``_message``)."""
        shared = self.shared
        # Run coroutine handlers eagerly: one that finishes without awaiting
        # (an echo, a lookup) costs no task and no extra loop iteration.
        while type(step) is Invoke:
            call = step.lambda_call
            if call is None:  # an HTTP integration
                shared.spawn(self._message(step, started))
                return
            handler, event, context = call
            try:
                inline = shared.inline[handler]
            except TypeError:  # unhashable: not remembered
                inline = is_async_callable(handler)
            if not inline:
                # In a worker process: resumed by a callback (_resume), or in a task.
                if not shared.invoker.start(step.invocation,
                                            functools.partial(self._resume, step, started)):
                    shared.spawn(self._message(step, started))
                return
            registry = shared.connections
            if current_registry.get() is not registry:
                # For management_api(). Left set: this runs in the context of
                # this connection's reader callback, which only ever runs this
                # server's code (a get per message instead of a set and a reset).
                current_registry.set(registry)
            try:
                coro = handler(event, context)
                yielded = coro.send(None)
            except StopIteration as stop:
                step = step.returned(stop.value)
                continue
            except Exception as exc:
                step = step.resume(Raised(error=exc))
                failed = exc
                continue
            shared.spawn(self._message_suspended(step, coro, yielded, started))
            return
        self._deliver(step, started, touch, failed)

    def _resume(self, step: Invoke, started: float, outcome: Outcome) -> None:
        """The outcome of ``step``'s invocation, from the invoker's callback."""
        self._advance(step.resume(outcome), started, True, _failure(outcome))

    async def _message(self, step: Any, started: float) -> None:
        current_registry.set(self.shared.connections)  # this task runs in its own copy of the context
        await self._finish(step, None, started)

    async def _message_suspended(self, step: Invoke, coro: Coroutine[Any, Any, Any],
                                 yielded: Any, started: float) -> None:
        current_registry.set(self.shared.connections)
        await self._finish(step, await finish(coro, yielded, step.invocation.timeout_s), started)

    async def _finish(self, step: Any, outcome: Optional[Outcome], started: float) -> None:
        """Resume ``step`` with ``outcome`` (or run it), run what follows, deliver."""
        run = self.shared.invoker.run
        failed: Union[BaseException, TimedOut, None] = None
        while type(step) is Invoke:
            if outcome is None:
                outcome = await run(step.invocation)
            failed = _failure(outcome)
            step, outcome = step.resume(outcome), None
        self._deliver(step, started, True, failed)

    def _deliver(self, reply: Reply, started: float, touch: bool = True,
                 failed: Union[BaseException, TimedOut, None] = None) -> None:
        frames = reply.frames
        if frames and self.state == OPEN:
            if max(map(len, frames)) > _SMALL_REPLY:
                frames = self._within_limit(reply, frames)
            if self.transport is not None:  # flush drops them if it is closing by then
                assert self.ws is not None
                send_text = self.ws.send_text  # whole text messages: no event object
                data = send_text(frames[0]) if len(frames) == 1 \
                    else b"".join(map(send_text, frames))
                # Held until the replies of every message read in this loop
                # iteration are ready, then written (Shared.hold): the client
                # is woken once per batch, not once per reply.
                unsent = self.unsent
                if unsent is None:
                    self.unsent = [data]
                    self.shared.hold(self)
                else:
                    unsent.append(data)
            if touch:
                self.last_active = _monotonic()
        if failed is not None:
            self._log_failure(reply, started, failed)
        elif self.shared.log_messages and log.isEnabledFor(logging.INFO):
            log.info(
                "message stage=%s route=%s id=%s status=%s latency=%.1fms",
                self.stage, reply.route_key, self.connection_id, "ok" if reply.frames is not None else "-",
                (time.perf_counter() - started) * 1000,
            )

    def _log_failure(self, reply: Reply, started: float,
                     failed: Union[BaseException, TimedOut]) -> None:
        """The route's log line for an invocation that did not return; an
        exception raised in this process comes with its traceback (a
        function's own is logged by its runner)."""
        error = failed if isinstance(failed, BaseException) else None
        log.error(
            "message stage=%s route=%s id=%s status=failed latency=%.1fms error=%s",
            self.stage, reply.route_key, self.connection_id,
            (time.perf_counter() - started) * 1000,
            "integration timed out" if error is None else f"{type(error).__name__}: {error}",
            exc_info=error if error is not None and not isinstance(error, FunctionFailed) else None,
        )

    def _within_limit(self, reply: Reply, frames: tuple[str, ...]) -> tuple[str, ...]:
        """``frames`` with each reply over API Gateway's 128 KiB message limit
        replaced by what it sends for a failed integration (the limit is the
        integration's to meet, not the client's: the connection stays open)."""
        kept = []
        for frame in frames:
            size = len(frame.encode("utf-8")) if len(frame) > _SMALL_REPLY else len(frame)
            if size > MAX_MESSAGE_BYTES:
                log.error(
                    "message stage=%s route=%s id=%s: the integration's reply of %d bytes "
                    "exceeds API Gateway's message limit of %d bytes; sent "
                    "'Internal server error' instead", self.stage, reply.route_key,
                    self.connection_id, size, MAX_MESSAGE_BYTES)
                frame = error_frame(INTERNAL_SERVER_ERROR, connection_id=self.connection_id or "",
                                    request_id=reply.request_id)
            kept.append(frame)
        return tuple(kept)

    # -- closing --------------------------------------------------------------

    def _on_close(self, event: CloseConnection) -> None:
        ws = self.ws
        assert ws is not None
        if self.state == OPEN:
            # Peer-initiated close (or the engine's own 1009/1003/1007/1002):
            # answer it, then drop the transport.
            try:
                self._write(ws.send(event.response()))
            except LocalProtocolError:
                pass
            self.state = CLOSING
            self._close_transport()
            code = event.code
            self._disconnect(None if code == 1005 else code, event.reason or "")
        else:
            # Reply to our own close frame: the handshake is complete.
            self._close_transport()

    def close(self, code: int, reason: str) -> None:
        """Start a server-side close: send a close frame and run ``$disconnect``."""
        if self.state != OPEN:
            return
        assert self.ws is not None
        try:
            self._write(self.ws.send(CloseConnection(code=code, reason=reason)))
        except LocalProtocolError:
            pass
        self.state = CLOSING
        self.close_timer = self.shared.loop.call_later(self.shared.config.close_timeout, self.abort)
        self._disconnect(code, reason)

    def _disconnect(self, code: Optional[int], reason: str) -> None:
        if self.disconnected or self.conn is None:
            return
        self.disconnected = True
        self.shared.connections.live.pop(self.connection_id, None)
        self.shared.spawn(self._run_disconnect(self.conn, code, reason))

    async def _run_disconnect(self, conn: Connection, code: Optional[int], reason: str) -> None:
        started = time.perf_counter()
        token = current_registry.set(self.shared.connections)
        try:
            step = await self.shared.invoker.drive(
                conn.disconnect(code=code, reason=reason, now_ms=now_ms()))
        finally:
            current_registry.reset(token)
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
        if self.state != OPEN or transport is None or transport.is_closing():
            raise GoneException(f"Connection {self.connection_id} is gone")
        assert self.ws is not None
        if self.unsent is not None:
            self.flush()  # earlier replies go first, and count in the buffer
        if transport.get_write_buffer_size() + len(data) > self.shared.config.max_buffer:
            raise LimitExceededException("Client side buffer is full")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            out = self.ws.send(BytesMessage(data=data))
        else:
            out = self.ws.send(TextMessage(data=text))
        transport.write(out)
        self.last_active = _monotonic()
