"""HTTP request handling: reading request heads and bodies, answering them, the upgrade.

The WebSocket URL and the @connections management API share one port, as they do
on API Gateway's execute-api endpoint.  :class:`HttpProtocol` is where a request
head and body are read (with h11) and answered: an upgrade runs ``$connect``
and hands the connection to :class:`~._connection.WebSocketProtocol`;
``/{stage}/@connections/{id}`` goes to the registry; an app that serves plain
HTTP of its own (a control plane) answers the rest first.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Optional, Union
from urllib.parse import unquote

import h11
from wsproto.events import RejectConnection, RejectData, Request
from wsproto.utilities import RemoteProtocolError

from framer.router import Accept, Refuse

from ._connection import CLOSED, CLOSING, CONNECTING, HTTP, WebSocketProtocol, log, now_ms
from ._engine import new_server_connection
from ._app import HttpAnswer
from ._management import ForbiddenException, PayloadTooLargeException
from ._shared import Shared
from ._sigv4 import SigV4Error

__all__ = [
    "HttpProtocol",
    "Target",
    "parse_target",
    "render_response",
    "error_response",
    "reconstruct_head",
]


@dataclass(frozen=True)
class Target:
    """A request target split into what the server dispatches on.

    ``kind`` is ``"websocket"`` for ``/{stage}``, ``"connections"`` for
    ``/{stage}/@connections/{id}`` (either spelling of ``@``) and ``"other"``
    for anything else.
    """

    kind: str
    stage: str
    connection_id: str
    path: str
    query: str


def parse_target(raw: bytes) -> Target:
    """Classify an HTTP request target (path and query string)."""
    text = raw.decode("latin-1")
    path, _, query = text.partition("?")
    parts = path.split("/")
    # parts[0] is the empty string before the leading slash.
    if len(parts) == 2 or (len(parts) == 3 and parts[2] == ""):
        return Target("websocket", unquote(parts[1]), "", path, query)
    if len(parts) == 4 and parts[2] in ("@connections", "%40connections"):
        return Target("connections", unquote(parts[1]), unquote(parts[3]), path, query)
    # /{apiId}/{stage} and /{apiId}/{stage}/@connections/{id}: one stage among
    # several APIs on one server (framer.controlplane); the stage is "apiId/stage".
    if len(parts) == 3 or (len(parts) == 4 and parts[3] == ""):
        return Target("websocket", f"{unquote(parts[1])}/{unquote(parts[2])}", "", path, query)
    if len(parts) == 5 and parts[3] in ("@connections", "%40connections"):
        stage = f"{unquote(parts[1])}/{unquote(parts[2])}"
        return Target("connections", stage, unquote(parts[4]), path, query)
    return Target("other", "", "", path, query)


def render_response(
    status: int,
    headers: Optional[list[tuple[str, str]]] = None,
    body: bytes = b"",
    *,
    keep_alive: bool = True,
) -> bytes:
    """Serialize a complete HTTP/1.1 response with a Content-Length body."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    lines = [f"HTTP/1.1 {status} {phrase}"]
    for name, value in headers or ():
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    if not keep_alive:
        lines.append("Connection: close")
    lines.append("")
    lines.append("")
    return "\r\n".join(lines).encode("latin-1") + body


def error_response(
    status: int, error_type: str, message: Optional[str], *, keep_alive: bool = True
) -> bytes:
    """An AWS rest-json error: the type in ``x-amzn-ErrorType``, ``{"message"}`` body.

    ``message=None`` sends an empty body, as API Gateway does for GoneException
    (reference §5); boto3 relies on the header alone to name the exception.
    """
    headers = [("x-amzn-ErrorType", error_type)]
    body = b""
    if message is not None:
        headers.append(("Content-Type", "application/json"))
        body = json.dumps({"message": message}).encode()
    return render_response(status, headers, body, keep_alive=keep_alive)


def reconstruct_head(
    method: bytes, target: bytes, raw_headers: list[tuple[bytes, bytes]]
) -> bytes:
    """Rebuild an HTTP/1.1 request head from parsed parts for the WebSocket engine.

    The server parses every request head with h11 first (to tell upgrades from
    @connections calls); the engine runs its own handshake parser on these bytes.
    """
    out = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in raw_headers:
        out += [name, b": ", value, b"\r\n"]
    out.append(b"\r\n")
    return b"".join(out)


def head_size(request: h11.Request) -> int:
    """The size of *request*'s head as :func:`reconstruct_head` writes it (``max_handshake_size``)."""
    size = len(request.method) + len(request.target) + len(b"  HTTP/1.1\r\n\r\n")
    for name, value in request.headers.raw_items():
        size += len(name) + len(value) + 4
    return size


@dataclass(frozen=True)
class _StageNotServed:
    """A refusal decided by the server: the stage exists but ``--stage`` excluded it."""

    status: int = 403
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    body: bytes = b'{"message":"Forbidden"}'
    reason: str = "stage not served by this server"


class HttpProtocol(WebSocketProtocol):
    """One TCP connection: plain HTTP requests, or one WebSocket after an upgrade.

    Until an upgrade, bytes go to h11 (bounded by ``max_handshake_size`` for a
    head and ``max_request_body`` for a body; ``handshake_timeout`` for the
    whole head); afterwards, to the WebSocket engine.
    """

    def __init__(self, shared: Shared) -> None:
        super().__init__(shared)
        self.h11: Optional[h11.Connection] = h11.Connection(
            h11.SERVER, max_incomplete_event_size=shared.config.max_handshake_size
        )
        self.request: Optional[h11.Request] = None
        self.body = bytearray()
        self.body_size = 0
        self.handshake_timer: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_handshake_timer()

    def data_received(self, data: bytes) -> None:
        if self.state == HTTP:
            self._http_data(data)
        else:
            super().data_received(data)

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        if self.handshake_timer is not None:
            self.handshake_timer.cancel()
        super().connection_lost(exc)

    # -- timers ---------------------------------------------------------------

    def _arm_handshake_timer(self) -> None:
        if self.handshake_timer is not None:
            self.handshake_timer.cancel()
        self.handshake_timer = self.shared.loop.call_later(
            self.shared.config.handshake_timeout, self._handshake_timed_out
        )

    def _handshake_timed_out(self) -> None:
        """No complete request head (or upgrade) in time: 408 if one was started, then close."""
        self.handshake_timer = None
        if self.state != HTTP:
            return
        parser = self.h11
        if parser is not None and (parser.their_state is not h11.IDLE or parser.trailing_data[0]):
            self._write(render_response(408, keep_alive=False))
        self._close_transport()

    # -- reading requests -------------------------------------------------------

    def _http_data(self, data: bytes) -> None:
        parser = self.h11
        assert parser is not None
        parser.receive_data(data)
        while self.state == HTTP:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError as exc:
                # h11 refuses a coding other than one "chunked" with 501 itself.
                self._refuse_request(exc.error_status_hint, str(exc))
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                problem = self._framing_problem(event)
                if problem is not None:
                    self._refuse_request(*problem)
                    return
                self.request = event
                self.body = bytearray()
                self.body_size = 0
            elif isinstance(event, h11.Data):
                self.body_size += len(event.data)
                if self.body_size > self.shared.config.max_request_body:
                    self._too_large()
                    return
                self.body += event.data  # whole: a signature covers all of it
            elif isinstance(event, h11.EndOfMessage):
                self._dispatch(parser)
                if self.state == HTTP:
                    self._arm_handshake_timer()  # keep-alive: the next request gets its own time
            elif isinstance(event, h11.ConnectionClosed):
                self._close_transport()
                return

    def _framing_problem(self, request: h11.Request) -> Optional[tuple[int, str]]:
        """Why a request head cannot be served (status, reason), or None.

        RFC 9112 section 6.3: a message with both Transfer-Encoding and
        Content-Length is an error (a request smuggling vector), so it is
        refused and the connection closed rather than read as chunked.
        """
        limit = self.shared.config.max_handshake_size
        size = head_size(request)
        if size > limit:
            return 431, f"request head of {size} bytes exceeds max_handshake_size={limit}"
        names = {name for name, _ in request.headers}
        if b"transfer-encoding" in names and b"content-length" in names:
            return 400, "Content-Length and Transfer-Encoding together (RFC 9112 section 6.3)"
        for name, value in request.headers:
            if name == b"content-length" and int(value) > self.shared.config.max_request_body:
                return 413, self._body_limit_reason()
        return None

    def _body_limit_reason(self) -> str:
        return f"Request body over {self.shared.config.max_request_body} bytes"

    def _refuse_request(self, status: int, reason: str) -> None:
        """Answer a request that cannot be read on *status* with *reason*, and close."""
        if status == 413:  # API Gateway's error shape, as @connections answers it
            out = error_response(413, PayloadTooLargeException.error_type, reason, keep_alive=False)
        else:
            out = render_response(status, [("Content-Type", "text/plain")], reason.encode(),
                                  keep_alive=False)
        self._write(out)
        self._close_transport()

    def _too_large(self) -> None:
        """A body over ``max_request_body``: 413 before reading past the limit, then close."""
        self._refuse_request(413, self._body_limit_reason())

    def _respond(self, parser: h11.Connection, status: int, headers: list[tuple[str, str]],
                 body: bytes = b"") -> None:
        headers = headers + [("Content-Length", str(len(body)))]
        try:
            out = parser.send(h11.Response(status_code=status, headers=headers)) or b""
            if body:
                out += parser.send(h11.Data(data=body)) or b""
            out += parser.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:
            self._write(render_response(status, headers[:-1], body, keep_alive=False))
            self._close_transport()
            return
        self._write(out)
        if parser.our_state is h11.DONE and parser.their_state is h11.DONE:
            parser.start_next_cycle()
        else:
            self._close_transport()

    def _dispatch(self, parser: h11.Connection) -> None:
        """Answer one whole request (head and body read)."""
        request = self.request
        assert request is not None
        shared = self.shared
        target = parse_target(request.target)
        upgrade = b""
        for name, value in request.headers:
            if name == b"upgrade":
                upgrade = value.lower()
        if upgrade == b"websocket" and request.method == b"GET":
            self._begin_upgrade(request, parser.trailing_data[0])
            return
        refusal = self._refusal(request, target)
        if refusal is not None:
            self._respond(parser, *refusal)
            return
        if shared.http_app is not None:
            # The app serves other plain-HTTP calls too (the apigatewayv2 control plane).
            answer = shared.http_app.handle_http(
                request.method.decode("latin-1"), request.target.decode("latin-1"),
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers],
                bytes(self.body),
            )
            if answer is not None:
                status, headers, body = answer
                self._respond(parser, status, list(headers), body)
                return
        if target.kind == "connections":
            status, headers, body = shared.connections.answer(
                request.method, target.stage, target.connection_id, bytes(self.body), self.body_size
            )
            self._respond(parser, status, headers, body)
            return
        if target.kind == "websocket" and request.method == b"GET" \
                and shared.resolve_stage(request.target.decode("latin-1")) is not None:
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

    def _refusal(self, request: h11.Request, target: Target) -> Optional[HttpAnswer]:
        """Who calls: the Host check, then SigV4 (``--require-sigv4``) on the
        control plane and @connections; the refusal, or None to serve it."""
        shared = self.shared
        host_value = next((v for k, v in request.headers if k == b"host"), None)
        refusal = shared.host_check.refusal(
            host_value.decode("latin-1") if host_value is not None else None)
        if refusal is not None:
            log.warning("refused %s %s: %s", request.method.decode("latin-1"),
                        target.path, refusal)
            return ForbiddenException(refusal).to_wire()
        if shared.sigv4 is None:
            return None
        raw = request.target.decode("latin-1")
        if target.kind == "connections":
            service, targets = "execute-api", [raw]
            if "/" in target.stage:  # long form; a rewritten call signed the short one
                targets.append("/" + raw.split("/", 2)[2])
        elif shared.http_app is not None and shared.http_app.serves_http(raw):
            service, targets = "apigateway", [raw]
        else:
            return None
        try:
            shared.sigv4.verify(service, request.method.decode("latin-1"), targets,
                                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers],
                                bytes(self.body))
        except SigV4Error as error:
            log.info("refused %s %s: %s: %s", request.method.decode("latin-1"), target.path,
                     error.error_type, error.message)
            return error.to_wire()
        return None

    # -- the upgrade -------------------------------------------------------------

    def _begin_upgrade(self, request: h11.Request, trailing: bytes) -> None:
        self.state = CONNECTING
        self.h11 = None
        if self.handshake_timer is not None:
            self.handshake_timer.cancel()
            self.handshake_timer = None
        raw_headers = list(request.headers.raw_items())
        ws = new_server_connection()
        self.ws = ws
        head = reconstruct_head(request.method, request.target, raw_headers)
        try:
            ws.receive_data(head)
            events = list(ws.events())
        except (RemoteProtocolError, UnicodeError) as exc:
            # UnicodeError: defence in depth; the engine maps wsproto's decoding
            # errors on header values to RemoteProtocolError (400) itself.
            hint = getattr(exc, "event_hint", None)
            status = hint.status_code if isinstance(hint, RejectConnection) else 400
            self._write(render_response(status, [("Content-Type", "text/plain")], str(exc).encode(), keep_alive=False))
            self._close_transport()
            self.state = CLOSED
            return
        if not events or not isinstance(events[0], Request):
            self._write(render_response(400, keep_alive=False))
            self._close_transport()
            return
        if trailing:
            self.pending.append(trailing)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
        self.shared.spawn(self._connect(request.target.decode("latin-1"), headers))

    async def _connect(self, path: str, headers: list[tuple[str, str]]) -> None:
        """Run ``$connect`` (and its authorizer), then open or refuse."""
        shared = self.shared
        started = time.perf_counter()
        step: Union[Accept, Refuse, _StageNotServed]
        if shared.only_stages is not None and shared.resolve_stage(path) is None:
            step = _StageNotServed()
        else:
            step = await shared.invoker.drive(
                shared.app.connect(path=path, headers=headers, source_ip=self.source_ip, now_ms=now_ms())
            )
        latency = (time.perf_counter() - started) * 1000
        if isinstance(step, (Refuse, _StageNotServed)):
            stage = parse_target(path.encode("latin-1")).stage
            log.info("connect stage=%s route=$connect id=- status=%d latency=%.1fms reason=%s",
                     stage, step.status, latency, step.reason)
            if self.state != CONNECTING:
                return
            self._refuse(step)
            return
        assert isinstance(step, Accept)
        conn = step.connection
        self.conn = conn
        self.api = (shared.resolve_stage(path) or "").rpartition("/")[0]
        self.connection_id = conn.connection_id
        self.stage = conn.stage
        if self.state != CONNECTING:
            # The client went away while $connect ran: it never opened.
            self._disconnect(1006, "Connection closed abnormally")
            return
        log.info("connect stage=%s route=$connect id=%s status=101 latency=%.1fms",
                 self.stage, self.connection_id, latency)
        self._open(step)

    def _refuse(self, step: Union[Refuse, _StageNotServed]) -> None:
        ws = self.ws
        assert ws is not None
        out = ws.send(RejectConnection(
            status_code=step.status,
            headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in step.headers]
            + [(b"content-length", str(len(step.body)).encode())],
            has_body=True,
        ))
        out += ws.send(RejectData(data=step.body))
        self._write(out)
        self.state = CLOSING
        self._close_transport()
