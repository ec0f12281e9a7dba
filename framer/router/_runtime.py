"""The data plane: ``Router`` turns requests and messages into decisions.

Each call returns a *step*. ``Invoke`` asks the driver to run an ``Invocation``
and hand back a ``Returned``, ``Raised`` or ``TimedOut`` outcome through
``Invoke.resume``; the final step says what to do (``Accept``/``Refuse`` the
upgrade, send a ``Reply``'s frames, or nothing after ``Closed``). Internally the
connect and disconnect flows are generators that yield invocations and receive
outcomes, so the rules read top to bottom in one function per flow; the
message flow, which runs for every message, is two plain functions instead
(``Router._message`` up to the integration call, ``_message_reply`` after it).

Choices where API Gateway's behaviour is not public (reference §9):

- unknown stage, or a stage without a deployment: the handshake is refused
  with 403 ``{"message":"Forbidden"}`` (what API Gateway answers for unknown
  REST paths);
- ``$connect`` integration timeout: 504 ``{"message":"Endpoint request timed out"}``;
- authorizer timeout: 500, like any other authorizer failure;
- a throttled message gets ``{"message": "Too Many Requests", ...}`` in API
  Gateway's in-band layout, and the connection stays open;
- a message route without an integration answers ``Internal server error``; a
  ``$connect`` route without one accepts the connection;
- a ``$connect`` handler returning ``None`` or a dict without ``statusCode``
  accepts the connection; any other non-dict result is a 502;
- open connections follow their stage: each message uses the deployment the
  stage points at *now* (so promotion reaches open sockets); if the stage is
  deleted, the connection keeps the last deployment it used. The authorizer
  result obtained at connect time stays with the connection;
- stage throttling: routes without route settings share the stage's default
  bucket; a route with throttling route settings gets its own bucket instead.
  The account bucket (10000 rps / 5000 burst) is shared by every API of the
  ``Gateway``; new connections also take a token from the account's
  new-connection bucket (500 per second).
"""

from __future__ import annotations

import base64
import enum
import fnmatch
import json
import re
from dataclasses import field, fields
from typing import Any, Callable, Generator, Mapping, Optional, Sequence, Union
from urllib.parse import parse_qsl, unquote

from framer.functions._context import LambdaContext

from . import _selection
from ._compat import record
from ._errors import GoneException, RouterUsageError
from ._events import (
    RequestFacts,
    authorizer_event,
    connect_event,
    disconnect_event,
    message_context_template,
)
from ._frames import (
    ENDPOINT_REQUEST_TIMED_OUT,
    FORBIDDEN,
    INTERNAL_SERVER_ERROR,
    TOO_MANY_REQUESTS,
    error_frame,
)
from ._gateway import Gateway
from ._model import (
    AuthorizationType,
    Authorizer,
    Handler,
    Integration,
    IntegrationType,
    Route,
    Snapshot,
    Stage,
)
from ._throttle import TokenBucket
from ._time import clf, iso_millis

Headers = Sequence[tuple[str, str]]

AUTHORIZER_TIMEOUT_S = 29.0
"""framer's authorizer timeout: the integration cap (API Gateway's is not public)."""

AUTHORIZER_RESULT_LIMIT = 8192
"""Lambda authorizer result size quota, 8 KB (reference §6.1)."""

NO_STATUS_CODE = 1005
NO_STATUS_REASON = "Client-side close frame status not set"
"""What API Gateway reports when the client closed without a status (capture)."""

_DEFAULT_REASONS = {1001: "Going away"}
"""Reasons filled in when the close frame had a code but no text (1001 observed)."""

_HOP_BY_HOP = frozenset({"connection", "upgrade", "sec-websocket-accept",
                         "content-length", "transfer-encoding"})


# -- outcomes the driver hands back ------------------------------------------------

@record
class HttpResponse:
    """What an HTTP_PROXY call returned (the driver builds it)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@record
class Returned:
    """The handler returned ``value`` (an ``HttpResponse`` for HTTP calls)."""

    value: Any = None
    elapsed_ms: Optional[int] = None


@record
class Raised:
    """The handler raised ``error`` (or the HTTP call failed)."""

    error: BaseException
    elapsed_ms: Optional[int] = None


@record
class TimedOut:
    """The handler ran past ``Invocation.timeout_s``."""

    elapsed_ms: Optional[int] = None


Outcome = Union[Returned, Raised, TimedOut]


# -- what the driver runs ----------------------------------------------------------

class InvocationKind(enum.Enum):
    """How to run an invocation."""

    LAMBDA = "LAMBDA"
    """Call ``handler(event, context)``; it may return an awaitable."""
    HTTP = "HTTP"
    """Make the HTTP request ``http`` and return an ``HttpResponse``."""


class Purpose(enum.Enum):
    """Why the router asks for an invocation."""

    AUTHORIZER = "AUTHORIZER"
    CONNECT = "CONNECT"
    MESSAGE = "MESSAGE"
    DISCONNECT = "DISCONNECT"


@record
class HttpCall:
    """An HTTP_PROXY request to make.

    ``$connect`` forwards the client's headers with an empty body; a message is
    POSTed as the body with no headers; ``$disconnect`` sends neither (API
    Gateway's exact HTTP_PROXY mapping for WebSocket is not documented).
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@record
class Invocation:
    """Something the driver must run, then report with ``Invoke.resume``."""

    kind: InvocationKind
    purpose: Purpose
    timeout_s: float
    route_key: str
    connection_id: str
    request_id: str
    handler: Optional[Handler] = None
    event: Mapping[str, Any] = field(default_factory=dict)
    context: Optional[LambdaContext] = None
    http: Optional[HttpCall] = None


# -- steps ---------------------------------------------------------------------------

class ConnectionState(enum.Enum):
    """A connection's life. Allowed moves (the only ones):

    CONNECTING -> OPEN    ($connect accepted)
    CONNECTING -> CLOSED  (refused: the connection is dropped)
    OPEN       -> CLOSED  (disconnect)
    """

    CONNECTING = "CONNECTING"
    OPEN = "OPEN"
    CLOSED = "CLOSED"


_TRANSITIONS = {
    ConnectionState.CONNECTING: frozenset({ConnectionState.OPEN, ConnectionState.CLOSED}),
    ConnectionState.OPEN: frozenset({ConnectionState.CLOSED}),
    ConnectionState.CLOSED: frozenset(),
}

# Enum members the message path compares with, as plain globals: reading a
# member through its class (``ConnectionState.OPEN``) is a descriptor lookup
# costing ~0.15 us on Python 3.11.
_OPEN = ConnectionState.OPEN
_MOCK = IntegrationType.MOCK
_AWS_PROXY = IntegrationType.AWS_PROXY


@record
class Accept:
    """Complete the upgrade. ``headers`` are extra response headers;
    ``subprotocol`` (from the handler's ``Sec-WebSocket-Protocol``) goes apart."""

    connection: Connection
    subprotocol: Optional[str] = None
    headers: tuple[tuple[str, str], ...] = ()


@record
class Refuse:
    """Refuse the upgrade with this HTTP response; ``reason`` is for logs."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    body: bytes = b""


@record
class Reply:
    """A message was handled: send ``frames`` (text) in order; the socket stays open."""

    request_id: str
    route_key: Optional[str]
    frames: tuple[str, ...] = ()


def _slot_setters(cls: type, names: tuple[str, ...]) -> Optional[tuple[Any, ...]]:
    """The slot setters of a frozen slotted record, in field order, for building
    one on the message path without its dataclass ``__init__`` (which makes one
    ``object.__setattr__`` call per field); ``None`` where records have no slots."""
    if "__slots__" not in cls.__dict__:
        return None
    if tuple(f.name for f in fields(cls)) != names:
        raise AssertionError(f"{cls.__name__} fields changed: update its fast constructor")
    return tuple(cls.__dict__[name].__set__ for name in names)


_new = object.__new__
_REPLY_SET = _slot_setters(Reply, ("request_id", "route_key", "frames"))


def _reply(request_id: str, route_key: Optional[str], frames: tuple[str, ...]) -> Reply:
    """``Reply(request_id=..., route_key=..., frames=...)``, faster."""
    setters = _REPLY_SET
    if setters is None:
        return Reply(request_id=request_id, route_key=route_key, frames=frames)
    reply = _new(Reply)
    setters[0](reply, request_id)
    setters[1](reply, route_key)
    setters[2](reply, frames)
    return reply


@record
class Closed:
    """``$disconnect`` is done; ``error`` is what its handler raised, if anything."""

    connection_id: str
    error: Optional[BaseException] = None


Final = Union[Accept, Refuse, Reply, Closed]
Flow = Generator[Invocation, Outcome, Final]


class Invoke:
    """Run ``invocation``, then call ``resume(outcome)`` (once) for the next step.

    ``lambda_call`` is ``(handler, event, context)`` when the invocation is a
    Lambda call (else ``None``): the same objects as the invocation's fields,
    for a driver that runs the handler itself.  A message's ``invocation`` is
    built only when read (most drivers run a message through ``lambda_call``).
    """

    __slots__ = ("_invocation", "_flow", "_used", "_plan", "lambda_call", "_message")

    def __init__(self, invocation: Invocation, flow: Optional[Flow]) -> None:
        self._invocation: Optional[Invocation] = invocation
        self._flow = flow
        self._used = False
        self._plan: Optional[tuple[Any, ...]] = None
        self.lambda_call: Optional[tuple[Handler, Mapping[str, Any], Optional[LambdaContext]]] = \
            (invocation.handler, invocation.event, invocation.context) \
            if invocation.kind is InvocationKind.LAMBDA and invocation.handler is not None \
            else None
        self._message: Optional[tuple[str, str]] = None

    @classmethod
    def _for_message(cls, plan: tuple[Any, ...], handler: Handler, event: dict[str, Any],
                     context: LambdaContext, connection_id: str, request_id: str) -> Invoke:
        """A message's Lambda call: ``plan`` (``Router._plan``) and the call;
        the ``Invocation`` is made from them if ``invocation`` is read.  The
        message path is a plain function, with ``_message_reply`` as its second
        half (no flow)."""
        step = _new(cls)
        step._invocation = None
        step._flow = None
        step._used = False
        step._plan = plan
        step.lambda_call = (handler, event, context)
        step._message = (connection_id, request_id)
        return step

    @classmethod
    def _for_message_invocation(cls, plan: tuple[Any, ...], invocation: Invocation) -> Invoke:
        """A message's step with its ``Invocation`` made already (HTTP_PROXY)."""
        step = cls(invocation, None)
        step._plan = plan
        step._message = (invocation.connection_id, invocation.request_id)
        return step

    @property
    def invocation(self) -> Invocation:
        """What to run."""
        invocation = self._invocation
        if invocation is None:
            plan, message, call = self._plan, self._message, self.lambda_call
            assert plan is not None and message is not None and call is not None
            invocation = self._invocation = _lambda_invocation(
                Purpose.MESSAGE, plan[4], plan[0].route_key, message[0], message[1],
                call[0], call[1], call[2])
        return invocation

    def resume(self, outcome: Outcome) -> Step:
        """Hand back what happened; returns the next step."""
        if self._used:
            raise RouterUsageError("this Invoke step was already resumed")
        if not isinstance(outcome, (Returned, Raised, TimedOut)):
            raise RouterUsageError(
                f"resume() takes Returned, Raised or TimedOut, not {type(outcome).__name__}")
        self._used = True
        flow = self._flow
        if flow is None:
            assert self._plan is not None and self._message is not None
            return _message_reply(self._message, self._plan, outcome)
        return _advance(flow, outcome)

    def returned(self, value: Any) -> Step:
        """``resume(Returned(value=value))``, without building the outcome: for
        a driver that ran the handler inline and has its result in hand."""
        if self._used:
            raise RouterUsageError("this Invoke step was already resumed")
        self._used = True
        plan = self._plan
        if plan is None:
            assert self._flow is not None
            return _advance(self._flow, Returned(value=value))
        message = self._message
        assert message is not None
        if not plan[8]:  # one-way route: the result is dropped
            return _reply(message[1], plan[0].route_key, ())
        if type(value) is dict:
            # _result_body's usual case, inline: a dict with a text body.
            body = value.get("body")
            if type(body) is str and not value.get("isBase64Encoded"):
                return _reply(message[1], plan[0].route_key, (body,))
        return _message_value(message, plan[0].route_key, value)

    def __repr__(self) -> str:
        return f"Invoke({self.invocation.purpose.value} {self.invocation.route_key!r})"


Step = Union[Invoke, Accept, Refuse, Reply, Closed]

_INVOCATION_SET = _slot_setters(Invocation, (
    "kind", "purpose", "timeout_s", "route_key", "connection_id", "request_id",
    "handler", "event", "context", "http"))


def _lambda_invocation(purpose: Purpose, timeout_s: float, route_key: str,
                       connection_id: str, request_id: str, handler: Handler,
                       event: Mapping[str, Any], context: Optional[LambdaContext]) -> Invocation:
    """``Invocation(kind=InvocationKind.LAMBDA, ...)``, faster (it is made for
    every message)."""
    setters = _INVOCATION_SET
    if setters is None:
        return Invocation(kind=InvocationKind.LAMBDA, purpose=purpose, timeout_s=timeout_s,
                          route_key=route_key, connection_id=connection_id,
                          request_id=request_id, handler=handler, event=event,
                          context=context)
    inv = _new(Invocation)
    setters[0](inv, InvocationKind.LAMBDA)
    setters[1](inv, purpose)
    setters[2](inv, timeout_s)
    setters[3](inv, route_key)
    setters[4](inv, connection_id)
    setters[5](inv, request_id)
    setters[6](inv, handler)
    setters[7](inv, event)
    setters[8](inv, context)
    setters[9](inv, None)
    return inv


def _advance(flow: Flow, outcome: Optional[Outcome]) -> Step:
    try:
        invocation = flow.send(outcome)  # type: ignore[arg-type]
    except StopIteration as stop:
        final: Final = stop.value
        return final
    return Invoke(invocation, flow)


def _json_body(message: str) -> bytes:
    return json.dumps({"message": message}, separators=(",", ":")).encode()


# -- the connection registry entry ---------------------------------------------------

@record
class ConnectionInfo:
    """What ``@connections`` GetConnection reports."""

    connection_id: str
    stage: str
    connected_at_ms: int
    last_active_at_ms: int
    source_ip: str
    user_agent: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        """The CLI's shape (``UserAgent`` left out when the client sent none)."""
        ident: dict[str, str] = {"SourceIp": self.source_ip}
        if self.user_agent is not None:
            ident["UserAgent"] = self.user_agent
        return {"ConnectedAt": iso_millis(self.connected_at_ms), "Identity": ident,
                "LastActiveAt": iso_millis(self.last_active_at_ms)}

    def to_json(self) -> str:
        """``to_dict`` as one-line JSON."""
        from ._model import flat_json
        return flat_json(self.to_dict())

    def to_wire(self) -> dict[str, Any]:
        """camelCase body of GetConnection."""
        ident: dict[str, str] = {"sourceIp": self.source_ip}
        if self.user_agent is not None:
            ident["userAgent"] = self.user_agent
        return {"connectedAt": iso_millis(self.connected_at_ms), "identity": ident,
                "lastActiveAt": iso_millis(self.last_active_at_ms)}


class Connection:
    """One client connection. Made by ``Router.connect``; use it after ``Accept``."""

    def __init__(self, router: Router, *, connection_id: str, stage: str,
                 connected_at_ms: int, source_ip: str, user_agent: Optional[str],
                 snapshot: Snapshot) -> None:
        self._router = router
        self.connection_id = connection_id
        self.stage = stage
        self.connected_at_ms = connected_at_ms
        self.last_active_at_ms = connected_at_ms
        self.source_ip = source_ip
        self.user_agent = user_agent
        self.authorizer: Optional[dict[str, Any]] = None
        self.state = ConnectionState.CONNECTING
        self._snapshot = snapshot
        # The requestContext template of this connection's MESSAGE events
        # (message_context_template), made on its first message.
        self._event_template: Optional[dict[str, Any]] = None
        self._stage: Optional[Stage] = None  # the Stage its last message saw
        # (route, snapshot, stage, plan, admission entry) of its last message
        self._last_route: Optional[tuple[Any, ...]] = None

    def _move(self, new: ConnectionState) -> None:
        if new not in _TRANSITIONS[self.state]:
            raise RouterUsageError(
                f"connection {self.connection_id} cannot go from {self.state.value} "
                f"to {new.value}")
        self.state = new

    def info(self) -> ConnectionInfo:
        """A snapshot of the registry fields."""
        return ConnectionInfo(
            connection_id=self.connection_id, stage=self.stage,
            connected_at_ms=self.connected_at_ms,
            last_active_at_ms=self.last_active_at_ms,
            source_ip=self.source_ip, user_agent=self.user_agent)

    def receive_text(self, text: str, *, now_ms: int) -> Step:
        """Route one text message; returns ``Invoke`` or ``Reply``."""
        if self.state is not _OPEN:
            raise RouterUsageError(
                f"receive_text on connection {self.connection_id} in state "
                f"{self.state.value}; only OPEN connections take messages")
        if now_ms > self.last_active_at_ms:
            self.last_active_at_ms = now_ms
        return self._router._message(self, text, now_ms)

    def disconnect(self, *, code: Optional[int], reason: str = "", now_ms: int) -> Step:
        """Run ``$disconnect`` once the socket is closed (any side, any cause).

        ``code=None``: the client sent no status (reported as 1005)."""
        if self.state is not ConnectionState.OPEN:
            raise RouterUsageError(
                f"disconnect on connection {self.connection_id} in state "
                f"{self.state.value}; call it once, after Accept")
        self._move(ConnectionState.CLOSED)
        self._router._forget(self.connection_id)
        if code is None:
            code, reason = NO_STATUS_CODE, NO_STATUS_REASON
        elif not reason:
            reason = _DEFAULT_REASONS.get(code, "")
        return _advance(self._router._disconnect_flow(self, code, reason, now_ms), None)

    def __repr__(self) -> str:
        return f"<Connection {self.connection_id} {self.stage} {self.state.value}>"


# -- the router ------------------------------------------------------------------

class Router:
    """The data plane of one API of a ``Gateway``: stages, connections, routing."""

    def __init__(
        self,
        gateway: Gateway,
        api_id: str,
        *,
        domain_name: Optional[str] = None,
        forwarded_port: str = "443",
        forwarded_proto: str = "https",
        clock_ms: Optional[Callable[[], int]] = None,
    ) -> None:
        """``domain_name`` goes into events (``Host`` of $disconnect,
        ``requestContext.domainName``); it defaults to the AWS host name.
        ``clock_ms`` is only handed to ``LambdaContext`` for
        ``get_remaining_time_in_millis``; the router never calls it."""
        gateway.get_api(api_id)
        self.gateway = gateway
        self.api_id = api_id
        self.domain_name = domain_name or \
            f"{api_id}.execute-api.{gateway.region}.amazonaws.com"
        self.forwarded_port = forwarded_port
        self.forwarded_proto = forwarded_proto
        self._clock_ms = clock_ms
        self._connections: dict[str, Connection] = {}
        self._buckets: dict[tuple[str, Optional[str]], TokenBucket] = {}
        self._expressions: dict[str, _selection.SelectionExpression] = {}
        # Per-message caches (none changes what a message gets):
        self._evaluators: dict[str, Callable[[str], Optional[str]]] = {}
        self._stage_snapshots: dict[str, tuple[Stage, Snapshot]] = {}
        self._functions: dict[tuple[str, str, str], tuple[str, str, str, str, str]] = {}
        self._request_time: tuple[int, str] = (-1 << 64, "")  # requestTime of one second
        self._account: Optional[_AccountBuckets] = None
        self._plans: dict[int, tuple[Any, ...]] = {}
        self._admissions: dict[tuple[str, str], tuple[Stage, TokenBucket,
                                                      Optional[TokenBucket]]] = {}

    # -- stages and registry -----------------------------------------------------

    def resolve_stage(self, path: str) -> Optional[str]:
        """The stage name a request target (``/prod``, ``/prod?x=1``) names, or None."""
        raw = path.split("?", 1)[0]
        name = unquote(raw.strip("/"))
        if name == "":
            name = "$default"
        try:
            self.gateway.get_stage(self.api_id, name)
        except Exception:
            return None
        return name

    def connection(self, connection_id: str) -> Connection:
        """The OPEN connection with this id, else ``GoneException`` (410)."""
        conn = self._connections.get(connection_id)
        if conn is None or conn.state is not ConnectionState.OPEN:
            raise GoneException(f"Connection {connection_id} is gone")
        return conn

    def get_connection(self, connection_id: str) -> ConnectionInfo:
        """GetConnection's data for an OPEN connection, else ``GoneException``."""
        return self.connection(connection_id).info()

    def connections(self) -> list[ConnectionInfo]:
        """Every OPEN connection."""
        return [c.info() for c in self._connections.values()
                if c.state is ConnectionState.OPEN]

    def mark_active(self, connection_id: str, now_ms: int) -> None:
        """Record outbound activity (a PostToConnection) for ``lastActiveAt``."""
        conn = self.connection(connection_id)
        conn.last_active_at_ms = max(conn.last_active_at_ms, now_ms)

    def _forget(self, connection_id: str) -> None:
        self._connections.pop(connection_id, None)

    # -- connect --------------------------------------------------------------------

    def connect(self, *, path: str, headers: Headers, source_ip: str, now_ms: int) -> Step:
        """Start a WebSocket handshake; returns ``Invoke``, ``Accept`` or ``Refuse``."""
        return _advance(self._connect_flow(path, list(headers), source_ip, now_ms), None)

    def _connect_flow(self, path: str, headers: list[tuple[str, str]],
                      source_ip: str, now_ms: int) -> Flow:
        stage_name = self.resolve_stage(path)
        if stage_name is None:
            return Refuse(status=403, body=_json_body("Forbidden"),
                          reason=f"no stage for path {path!r}")
        stage = self.gateway.get_stage(self.api_id, stage_name)
        if stage.deployment_id is None:
            return Refuse(status=403, body=_json_body("Forbidden"),
                          reason=f"stage {stage_name} has no deployment")
        snapshot = self.gateway.get_snapshot(self.api_id, stage.deployment_id)
        if not self._admit_connection(stage, now_ms):
            return Refuse(status=429, body=_json_body("Too Many Requests"),
                          reason="throttled at connect")
        query = parse_qsl(path.split("?", 1)[1], keep_blank_values=True) \
            if "?" in path else []
        headers = self._with_gateway_headers(headers, source_ip, now_ms)
        user_agent = _header(headers, "User-Agent")
        ids = self.gateway.ids
        connection_id = ids.wire_id()
        while connection_id in self._connections:
            connection_id = ids.wire_id()
        conn = Connection(self, connection_id=connection_id, stage=stage_name,
                          connected_at_ms=now_ms, source_ip=source_ip,
                          user_agent=user_agent, snapshot=snapshot)
        self._connections[connection_id] = conn
        final = yield from self._connect_steps(conn, stage, snapshot, headers, query,
                                               now_ms)
        if isinstance(final, Accept):
            conn._move(ConnectionState.OPEN)
        else:
            conn._move(ConnectionState.CLOSED)
            self._forget(connection_id)
        return final

    def _connect_steps(self, conn: Connection, stage: Stage, snapshot: Snapshot,
                       headers: list[tuple[str, str]], query: list[tuple[str, str]],
                       now_ms: int) -> Generator[Invocation, Outcome, Union[Accept, Refuse]]:
        route = snapshot.routes.get("$connect")
        request_id = self.gateway.ids.wire_id()
        facts = self._facts(conn, request_id, now_ms)
        if route is not None and route.authorization_type is AuthorizationType.CUSTOM \
                and route.authorizer_id is not None:
            authorizer = snapshot.authorizers[route.authorizer_id]
            missing = _missing_identity(authorizer, headers, query, stage)
            if missing is not None:
                return Refuse(status=401, body=_json_body("Unauthorized"),
                              reason=f"identity source {missing} missing or empty")
            assert authorizer.handler is not None
            event = authorizer_event(
                facts, method_arn=self._method_arn(stage.stage_name), headers=headers,
                query=query, stage_variables=stage.stage_variables)
            outcome = yield self._lambda(
                Purpose.AUTHORIZER, authorizer.handler, event, AUTHORIZER_TIMEOUT_S,
                route_key="$connect", conn=conn, request_id=request_id, now_ms=now_ms,
                function_name=authorizer.name)
            decision = _authorize(outcome, self._method_arn(stage.stage_name))
            if isinstance(decision, Refuse):
                return decision
            conn.authorizer = decision
            facts = self._facts(conn, request_id, now_ms)
        if route is None or route.integration_id is None:
            return Accept(connection=conn)
        integration = snapshot.integrations[route.integration_id]
        if integration.integration_type is IntegrationType.MOCK:
            return _connect_result(conn, Returned(value=_mock_status(integration)))
        event = connect_event(facts, headers=headers, query=query,
                              stage_variables=stage.stage_variables)
        outcome = yield self._integration_call(
            Purpose.CONNECT, integration, event, route_key="$connect", conn=conn,
            request_id=request_id, now_ms=now_ms,
            http=HttpCall(method=integration.integration_method or "POST",
                          url=integration.integration_uri or "",
                          headers=tuple((n, v) for n, v in headers
                                        if n.lower() not in _HOP_BY_HOP)))
        return _connect_result(conn, outcome)

    def _with_gateway_headers(self, headers: list[tuple[str, str]], source_ip: str,
                              now_ms: int) -> list[tuple[str, str]]:
        """Add the headers API Gateway's front end adds, unless present."""
        out = list(headers)
        present = {n.lower() for n, _ in out}
        if "x-amzn-trace-id" not in present:
            ids = self.gateway.ids
            out.append(("X-Amzn-Trace-Id",
                        f"Root=1-{now_ms // 1000:08x}-{ids.hex(24)}"))
        if "x-forwarded-for" not in present:
            out.append(("X-Forwarded-For", source_ip))
        if "x-forwarded-port" not in present:
            out.append(("X-Forwarded-Port", self.forwarded_port))
        if "x-forwarded-proto" not in present:
            out.append(("X-Forwarded-Proto", self.forwarded_proto))
        return out

    def _method_arn(self, stage_name: str) -> str:
        gw = self.gateway
        return (f"arn:aws:execute-api:{gw.region}:{gw.account_id}:"
                f"{self.api_id}/{stage_name}/$connect")

    # -- messages ---------------------------------------------------------------------

    def _current(self, conn: Connection) -> tuple[Optional[Stage], Snapshot]:
        try:
            stage: Optional[Stage] = self.gateway.get_stage(self.api_id, conn.stage)
        except Exception:
            return None, conn._snapshot
        assert stage is not None
        if stage.deployment_id is not None:
            # Stages are immutable (an update replaces the object), and a
            # deployment a stage points at cannot be deleted: the same Stage
            # object always means the same snapshot.
            cached = self._stage_snapshots.get(conn.stage)
            if cached is not None and cached[0] is stage:
                conn._snapshot = cached[1]
            else:
                conn._snapshot = self.gateway.get_snapshot(self.api_id, stage.deployment_id)
                self._stage_snapshots[conn.stage] = (stage, conn._snapshot)
        return stage, conn._snapshot

    def select_route(self, snapshot: Snapshot, text: str) -> Optional[Route]:
        """The route a message takes in a deployment, or None (no match, no $default).

        Non-JSON goes to ``$default``; an evaluated key naming ``$connect`` or
        ``$disconnect`` is not a match (those run only on connect/disconnect).
        """
        source = snapshot.route_selection_expression
        evaluate = self._evaluators.get(source)
        if evaluate is None:
            expression = self._expressions.get(source)
            if expression is None:
                expression = _selection.parse(source)
                self._expressions[source] = expression
            evaluate = self._evaluators[source] = _selection.evaluator(expression)
        key = evaluate(text)
        if key is not None and key not in ("$connect", "$disconnect"):
            route = snapshot.routes.get(key)
            if route is not None:
                return route
        return snapshot.routes.get("$default")

    def _message(self, conn: Connection, text: str, now_ms: int) -> Step:
        """A message up to its integration call: a ``Reply`` or an ``Invoke``
        whose ``resume`` finishes in ``_message_reply``. A plain function, not a
        flow generator: it runs for every message."""
        gateway = self.gateway
        request_id, message_id, aws_request_id = gateway.ids.message_ids()
        # _current(conn), without its calls when the stage is the Stage object
        # this connection's last message saw (stages are replaced, never
        # changed, so its snapshot is the one that message used).
        state = gateway._apis.get(self.api_id)
        stage = state.stages.get(conn.stage) if state is not None else None
        if stage is not None and stage is conn._stage:
            snapshot = conn._snapshot
        else:
            stage, snapshot = self._current(conn)
            conn._stage = stage
        # select_route(snapshot, text), its evaluator looked up directly.
        evaluate = self._evaluators.get(snapshot.route_selection_expression)
        if evaluate is None:
            route = self.select_route(snapshot, text)
        else:
            key = evaluate(text)
            routes = snapshot.routes
            route = routes.get(key) if key is not None \
                and key != "$connect" and key != "$disconnect" else None
            if route is None:
                route = routes.get("$default")
        if route is None:
            return _reply(request_id, None, (error_frame(
                FORBIDDEN, connection_id=conn.connection_id, request_id=request_id),))
        route_key = route.route_key
        # The plan and the throttle buckets of the route, as this connection's
        # last message on it found them while stage, snapshot and route are
        # the same objects (all three are replaced, never changed).
        last = conn._last_route
        if last is not None and last[0] is route and last[1] is snapshot and last[2] is stage:
            plan, entry = last[3], last[4]
        else:
            plan = self._plans.get(id(route))
            if plan is None or plan[0] is not route or plan[1] is not snapshot:
                plan = self._plan(route, snapshot)
            entry = None
            if stage is not None:
                entry = self._admissions.get((stage.stage_name, route_key))
                if entry is None or entry[0] is not stage:
                    entry = self._admission(stage, route_key)
            conn._last_route = (route, snapshot, stage, plan, entry)
        if entry is not None:
            # _admit(stage, route_key, now_ms), inlined: throttling is checked
            # on every message.
            bucket = entry[2]
            if not entry[1].take(now_ms) or (bucket is not None and not bucket.take(now_ms)):
                return _reply(request_id, route_key, (error_frame(
                    TOO_MANY_REQUESTS, connection_id=conn.connection_id,
                    request_id=request_id),))
        integration = plan[2]
        if integration is None:
            return _reply(request_id, route_key, (error_frame(
                INTERNAL_SERVER_ERROR, connection_id=conn.connection_id,
                request_id=request_id),))
        kind = plan[3]
        if kind is _MOCK:
            body = _mock_body(snapshot, integration) if route.two_way else None
            return _reply(request_id, route_key, (body,) if body is not None else ())
        if kind is _AWS_PROXY:
            # The event: a copy of the connection's requestContext template with
            # this message's fields set (build_message_event's dict, key for key).
            template = conn._event_template
            if template is None or template["domainName"] is not self.domain_name:
                template = conn._event_template = message_context_template(
                    self.api_id, conn.stage, self.domain_name, conn.connection_id,
                    conn.connected_at_ms)
            ctx = template.copy()
            ctx["routeKey"] = route_key
            ctx["messageId"] = message_id
            ctx["extendedRequestId"] = request_id
            second = now_ms // 1000
            request_time = self._request_time
            if request_time[0] != second:
                request_time = self._request_time = (second, clf(now_ms))
            ctx["requestTime"] = request_time[1]
            ctx["requestTimeEpoch"] = now_ms
            user_agent = conn.user_agent
            ctx["identity"] = {"sourceIp": conn.source_ip} if user_agent is None \
                else {"userAgent": user_agent, "sourceIp": conn.source_ip}
            ctx["requestId"] = request_id
            if conn.authorizer is not None:
                ctx["authorizer"] = dict(conn.authorizer)
            event = {"requestContext": ctx, "body": text, "isBase64Encoded": False}
            if stage is not None and stage.stage_variables:
                event["stageVariables"] = dict(stage.stage_variables)
            # What _lambda does, with the names and timeout from the plan.
            gw = self.gateway
            names = plan[6]
            if names[2] is not gw.region or names[3] is not gw.account_id:
                names = self._function_names(plan[5])
            timeout_ms = plan[7]
            if aws_request_id is None:
                aws_request_id = _uuid(gw.ids.hex(32))
            context = LambdaContext._make(
                names[0], names[1], names[4], aws_request_id, timeout_ms,
                now_ms + timeout_ms, self._clock_ms)
            return Invoke._for_message(plan, integration.handler, event, context,
                                       conn.connection_id, request_id)
        invocation = Invocation(
            kind=InvocationKind.HTTP, purpose=Purpose.MESSAGE, timeout_s=plan[4],
            route_key=route_key, connection_id=conn.connection_id,
            request_id=request_id, event={},
            http=HttpCall(method=integration.integration_method or "POST",
                          url=integration.integration_uri or "",
                          body=text.encode("utf-8")))
        return Invoke._for_message_invocation(plan, invocation)

    def _plan(self, route: Route, snapshot: Snapshot) -> tuple[Any, ...]:
        """What a message on ``route`` of ``snapshot`` needs, looked up once:
        ``(route, snapshot, integration or None, its type, timeout_s,
        handler name, _function_names of it, timeout in ms, route.two_way)``.
        Both are immutable, and the cache holds them, so an ``id()`` is not
        reused while its entry lives."""
        integration_id = route.integration_id
        if integration_id is None:
            plan: tuple[Any, ...] = (route, snapshot, None, None, 0.0, "", None, 0,
                                     route.two_way)
        else:
            integration = snapshot.integrations[integration_id]
            timeout_s = integration.timeout_in_millis / 1000.0
            function_name = getattr(integration.handler, "__name__", "handler")
            plan = (route, snapshot, integration, integration.integration_type,
                    timeout_s, function_name, self._function_names(function_name),
                    int(timeout_s * 1000), route.two_way)
            if integration.integration_type is IntegrationType.AWS_PROXY:
                assert integration.handler is not None
        if len(self._plans) >= 4096:
            self._plans.clear()
        self._plans[id(route)] = plan
        return plan

    # -- disconnect ----------------------------------------------------------------

    def _disconnect_flow(self, conn: Connection, code: int, reason: str,
                         now_ms: int) -> Flow:
        stage, snapshot = self._current(conn)
        route = snapshot.routes.get("$disconnect")
        if route is None or route.integration_id is None:
            return Closed(connection_id=conn.connection_id)
        integration = snapshot.integrations[route.integration_id]
        if integration.integration_type is IntegrationType.MOCK:
            return Closed(connection_id=conn.connection_id)
        request_id = self.gateway.ids.wire_id()
        facts = self._facts(conn, request_id, now_ms)
        variables = stage.stage_variables if stage is not None else {}
        event = disconnect_event(facts, status_code=code, reason=reason,
                                 stage_variables=variables)
        outcome = yield self._integration_call(
            Purpose.DISCONNECT, integration, event, route_key="$disconnect", conn=conn,
            request_id=request_id, now_ms=now_ms,
            http=HttpCall(method=integration.integration_method or "POST",
                          url=integration.integration_uri or ""))
        error: Optional[BaseException] = None
        if isinstance(outcome, Raised):
            error = outcome.error
        elif isinstance(outcome, TimedOut):
            error = TimeoutError("$disconnect integration timed out")
        return Closed(connection_id=conn.connection_id, error=error)

    # -- building blocks -------------------------------------------------------------

    def _facts(self, conn: Connection, request_id: str, now_ms: int) -> RequestFacts:
        return RequestFacts(
            api_id=self.api_id, stage=conn.stage, domain_name=self.domain_name,
            connection_id=conn.connection_id, connected_at_ms=conn.connected_at_ms,
            request_id=request_id, request_time_ms=now_ms, source_ip=conn.source_ip,
            user_agent=conn.user_agent, authorizer=conn.authorizer)

    def _lambda(self, purpose: Purpose, handler: Handler, event: dict[str, Any],
                timeout_s: float, *, route_key: str, conn: Connection, request_id: str,
                now_ms: int, function_name: str,
                uuid_hex: Optional[str] = None) -> Invocation:
        gw = self.gateway
        timeout_ms = int(timeout_s * 1000)
        names = self._function_names(function_name)
        if uuid_hex is None:
            uuid_hex = gw.ids.hex(32)
        context = LambdaContext(
            function_name=names[0], invoked_function_arn=names[1],
            aws_request_id=_uuid(uuid_hex), timeout_ms=timeout_ms,
            deadline_ms=now_ms + timeout_ms, clock_ms=self._clock_ms)
        return _lambda_invocation(purpose, timeout_s, route_key, conn.connection_id,
                                  request_id, handler, event, context)

    def _function_names(self, function_name: str) -> tuple[str, str, str, str, str]:
        """``(Lambda function name, its ARN, region, account id, log group)`` for
        a handler name."""
        gw = self.gateway
        key = (function_name, gw.region, gw.account_id)
        names = self._functions.get(key)
        if names is None:
            name = re.sub(r"[^A-Za-z0-9_-]", "-", function_name)
            names = (name, f"arn:aws:lambda:{gw.region}:{gw.account_id}:function:{name}",
                     gw.region, gw.account_id, f"/aws/lambda/{name}")
            if len(self._functions) < 1024:
                self._functions[key] = names
        return names

    def _integration_call(self, purpose: Purpose, integration: Integration,
                          event: dict[str, Any], *, route_key: str, conn: Connection,
                          request_id: str, now_ms: int, http: HttpCall) -> Invocation:
        timeout_s = integration.timeout_in_millis / 1000.0
        if integration.integration_type is IntegrationType.AWS_PROXY:
            assert integration.handler is not None
            return self._lambda(
                purpose, integration.handler, event, timeout_s, route_key=route_key,
                conn=conn, request_id=request_id, now_ms=now_ms,
                function_name=getattr(integration.handler, "__name__", "handler"))
        return Invocation(kind=InvocationKind.HTTP, purpose=purpose, timeout_s=timeout_s,
                          route_key=route_key, connection_id=conn.connection_id,
                          request_id=request_id, event={}, http=http)

    def _bucket(self, key: tuple[str, Optional[str]], rate: float,
                burst: int) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            bucket = TokenBucket(rate=rate, burst=burst)
            self._buckets[key] = bucket
        return bucket

    def _admit(self, stage: Stage, route_key: str, now_ms: int) -> bool:
        """Take a token from the account bucket and the stage's or route's bucket."""
        entry = self._admissions.get((stage.stage_name, route_key))
        if entry is None or entry[0] is not stage:
            entry = self._admission(stage, route_key)
        if not entry[1].take(now_ms):
            return False
        bucket = entry[2]
        return bucket is None or bucket.take(now_ms)

    def _admission(self, stage: Stage, route_key: str) -> tuple[Stage, TokenBucket,
                                                                 Optional[TokenBucket]]:
        """``(stage, account bucket, stage or route bucket or None)`` for a route
        key, kept until the stage changes (a new ``Stage`` object): the buckets
        depend only on the stage's settings."""
        entry = (stage, self.gateway_buckets().request, self._stage_bucket(stage, route_key))
        if len(self._admissions) >= 4096:
            self._admissions.clear()
        self._admissions[(stage.stage_name, route_key)] = entry
        return entry

    def _stage_bucket(self, stage: Stage, route_key: str) -> Optional[TokenBucket]:
        """The stage's or the route's bucket, or None when neither is limited."""
        defaults = stage.default_route_settings
        own = stage.route_settings.get(route_key)
        if own is not None and (own.throttling_burst_limit is not None
                                or own.throttling_rate_limit is not None):
            burst = own.throttling_burst_limit
            rate = own.throttling_rate_limit
            key: tuple[str, Optional[str]] = (stage.stage_name, route_key)
        else:
            burst, rate, key = None, None, (stage.stage_name, None)
        if burst is None:
            burst = defaults.throttling_burst_limit
        if rate is None:
            rate = defaults.throttling_rate_limit
        if burst is None or rate is None:
            return None
        return self._bucket(key, rate, burst)

    def _admit_connection(self, stage: Stage, now_ms: int) -> bool:
        if not self.gateway_buckets().connect.take(now_ms):
            return False
        return self._admit(stage, "$connect", now_ms)

    def gateway_buckets(self) -> _AccountBuckets:
        """The account-level buckets, shared by every Router of the Gateway."""
        buckets = self._account
        if buckets is not None:
            return buckets
        buckets = getattr(self.gateway, "_framer_account_buckets", None)
        if buckets is None:
            buckets = _AccountBuckets(self.gateway)
            setattr(self.gateway, "_framer_account_buckets", buckets)
        assert isinstance(buckets, _AccountBuckets)
        self._account = buckets
        return buckets


class _AccountBuckets:
    """Account-level throttles (reference §6.1): requests and new connections."""

    def __init__(self, gateway: Gateway) -> None:
        q = gateway.quotas
        self.request = TokenBucket(rate=q.account_rate_limit, burst=q.account_burst_limit)
        self.connect = TokenBucket(rate=q.new_connections_per_second,
                                   burst=int(q.new_connections_per_second))


# -- pure decision helpers ----------------------------------------------------------

def _header(headers: Headers, name: str) -> Optional[str]:
    wanted = name.lower()
    found = None
    for n, v in headers:
        if n.lower() == wanted:
            found = v
    return found


def _missing_identity(authorizer: Authorizer, headers: Headers,
                      query: Sequence[tuple[str, str]], stage: Stage) -> Optional[str]:
    """The first identity source absent or empty on this request, if any."""
    for source in authorizer.identity_source:
        value: Optional[str]
        if source.startswith("route.request.header."):
            value = _header(headers, source[len("route.request.header."):])
        elif source.startswith("route.request.querystring."):
            name = source[len("route.request.querystring."):]
            value = None
            for n, v in query:
                if n == name:
                    value = v
        elif source.startswith("stageVariables."):
            value = stage.stage_variables.get(source[len("stageVariables."):])
        else:
            continue  # context.* values always exist at connect time
        if value is None or value == "":
            return source
    return None


def _authorize(outcome: Outcome, method_arn: str) -> Union[Refuse, dict[str, Any]]:
    """Turn an authorizer outcome into a refusal or ``requestContext.authorizer``.

    401: "Unauthorized" (raised or returned); 403: explicit Deny or no Allow
    matching the method ARN; 500: crash, timeout, malformed or oversized result.
    """
    def refuse(status: int, message: str, why: str) -> Refuse:
        return Refuse(status=status, body=_json_body(message), reason=why)

    if isinstance(outcome, TimedOut):
        return refuse(500, "Internal server error", "authorizer timed out")
    if isinstance(outcome, Raised):
        if str(outcome.error) == "Unauthorized":
            return refuse(401, "Unauthorized", "authorizer raised Unauthorized")
        return refuse(500, "Internal server error",
                      f"authorizer raised {type(outcome.error).__name__}: {outcome.error}")
    result = outcome.value
    if result == "Unauthorized":
        return refuse(401, "Unauthorized", "authorizer returned Unauthorized")
    problem = _policy_problem(result)
    if problem is not None:
        return refuse(500, "Internal server error", f"invalid authorizer result: {problem}")
    statements = result["policyDocument"]["Statement"]
    if isinstance(statements, Mapping):
        statements = [statements]
    allowed = False
    for statement in statements:
        if not (_any_match(statement["Action"], "execute-api:Invoke", fold=True)
                and _any_match(statement["Resource"], method_arn, fold=False)):
            continue
        if statement["Effect"] == "Deny":
            return refuse(403, "Forbidden", "authorizer policy denies $connect")
        allowed = True
    if not allowed:
        return refuse(403, "Forbidden", f"no Allow statement matches {method_arn}")
    context: dict[str, Any] = {"principalId": result["principalId"]}
    context.update(result.get("context") or {})
    context["integrationLatency"] = outcome.elapsed_ms or 0
    return context


def _policy_problem(result: Any) -> Optional[str]:
    if not isinstance(result, Mapping):
        return f"expected an object, got {type(result).__name__}"
    try:
        size = len(json.dumps(result))
    except (TypeError, ValueError):
        return "not JSON-serialisable"
    if size > AUTHORIZER_RESULT_LIMIT:
        return f"{size} bytes, over the {AUTHORIZER_RESULT_LIMIT}-byte limit"
    if not isinstance(result.get("principalId"), str):
        return "principalId missing or not a string"
    policy = result.get("policyDocument")
    if not isinstance(policy, Mapping):
        return "policyDocument missing"
    statements = policy.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return "policyDocument.Statement missing or empty"
    for s in statements:
        if not isinstance(s, Mapping) or s.get("Effect") not in ("Allow", "Deny"):
            return "a statement's Effect is not Allow or Deny"
        for member in ("Action", "Resource"):
            value = s.get(member)
            if not (isinstance(value, str) or (
                    isinstance(value, list) and value
                    and all(isinstance(v, str) for v in value))):
                return f"a statement's {member} is not a string or list of strings"
    context = result.get("context")
    if context is not None:
        if not isinstance(context, Mapping):
            return "context is not an object"
        for k, v in context.items():
            if not isinstance(v, (str, int, float, bool)):
                return f"context[{k!r}] is not a string, number or boolean"
    return None


def _any_match(patterns: Union[str, list[str]], value: str, *, fold: bool) -> bool:
    items = [patterns] if isinstance(patterns, str) else patterns
    for pattern in items:
        p, v = (pattern.lower(), value.lower()) if fold else (pattern, value)
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                        for c in p)
        if re.fullmatch(regex, v, flags=re.DOTALL):
            return True
    return False


def _connect_result(conn: Connection, outcome: Outcome) -> Union[Accept, Refuse]:
    """The handshake decision from a ``$connect`` integration outcome."""
    if isinstance(outcome, TimedOut):
        return Refuse(status=504, body=_json_body("Endpoint request timed out"),
                      reason="$connect integration timed out")
    if isinstance(outcome, Raised):
        return Refuse(status=502, body=_json_body("Internal server error"),
                      reason=f"$connect integration raised "
                             f"{type(outcome.error).__name__}: {outcome.error}")
    value = outcome.value
    headers: list[tuple[str, str]] = []
    body = b""
    if isinstance(value, HttpResponse):
        status = value.status
        headers = list(value.headers)
        body = value.body
    elif value is None:
        status = 200
    elif isinstance(value, Mapping):
        raw = value.get("statusCode", 200)
        try:
            status = int(raw)
        except (TypeError, ValueError):
            return Refuse(status=502, body=_json_body("Internal server error"),
                          reason=f"$connect statusCode {raw!r} is not an integer")
        for name, item in (value.get("headers") or {}).items():
            headers.append((str(name), str(item)))
        for name, items in (value.get("multiValueHeaders") or {}).items():
            for item in items:
                if (str(name), str(item)) not in headers:
                    headers.append((str(name), str(item)))
        raw_body = value.get("body")
        if isinstance(raw_body, str):
            body = raw_body.encode("utf-8")
    else:
        return Refuse(status=502, body=_json_body("Internal server error"),
                      reason=f"$connect handler returned a {type(value).__name__}")
    if not 200 <= status < 300:
        return Refuse(status=status, headers=tuple(headers), body=body,
                      reason=f"$connect integration answered {status}")
    subprotocol = None
    extra: list[tuple[str, str]] = []
    for name, item in headers:
        if name.lower() == "sec-websocket-protocol":
            subprotocol = item
        elif name.lower() not in _HOP_BY_HOP:
            extra.append((name, item))
    return Accept(connection=conn, subprotocol=subprotocol, headers=tuple(extra))


def _result_body(value: Any) -> Optional[str]:
    """The frame a two-way route sends for a handler result, or None for nothing.

    A dict's ``body`` (base64-decoded when ``isBase64Encoded``); a string as it
    is; an ``HttpResponse``'s body; anything else JSON-encoded.
    """
    if value is None:
        return None
    if type(value) is not dict:  # the usual result: skip the typing.Mapping check
        if isinstance(value, HttpResponse):
            return value.body.decode("utf-8", errors="replace") if value.body else None
        if isinstance(value, str):
            return value
        if not isinstance(value, Mapping):
            return json.dumps(value)
    body = value.get("body")  # a mapping
    if body is None:
        return None
    if not isinstance(body, str):
        return json.dumps(body)
    if value.get("isBase64Encoded"):
        return base64.b64decode(body).decode("utf-8", errors="replace")
    return body


def _message_reply(message: tuple[str, str], plan: tuple[Any, ...],
                   outcome: Outcome) -> Reply:
    """The second half of ``Router._message``: the reply for the outcome.
    ``message`` is ``(connection id, request id)``."""
    route_key = plan[0].route_key
    if isinstance(outcome, Returned):
        if not plan[8]:
            return _reply(message[1], route_key, ())
        return _message_value(message, route_key, outcome.value)
    if isinstance(outcome, TimedOut):
        text = ENDPOINT_REQUEST_TIMED_OUT
    else:
        text = INTERNAL_SERVER_ERROR
    return _reply(message[1], route_key, (error_frame(
        text, connection_id=message[0], request_id=message[1]),))


def _message_value(message: tuple[str, str], route_key: str, value: Any) -> Reply:
    """The reply of a two-way route whose handler returned ``value``."""
    try:
        body = _result_body(value)
    except (TypeError, ValueError):
        return _reply(message[1], route_key, (error_frame(
            INTERNAL_SERVER_ERROR, connection_id=message[0], request_id=message[1]),))
    return _reply(message[1], route_key, (body,) if body is not None else ())


def _mock_status(integration: Integration) -> dict[str, Any]:
    template = integration.request_templates.get("$default")
    if template:
        try:
            parsed = json.loads(template)
        except ValueError:
            parsed = None
        if isinstance(parsed, Mapping) and "statusCode" in parsed:
            return {"statusCode": parsed["statusCode"]}
    return {"statusCode": 200}


def _mock_body(snapshot: Snapshot, integration: Integration) -> Optional[str]:
    responses = snapshot.integration_responses.get(integration.integration_id, {})
    for response in responses.values():
        if response.integration_response_key == "$default":
            templates = response.response_templates
            if templates:
                return templates.get("$default", next(iter(templates.values())))
    return None


def _uuid(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"
