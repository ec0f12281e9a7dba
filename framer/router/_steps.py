"""The driver's contract: connections, the steps the router returns, the outcomes it takes back.

Each ``Router`` call returns a *step*.  ``Invoke`` asks the driver to run an
``Invocation`` and hand back a ``Returned``, ``Raised`` or ``TimedOut`` outcome
through ``Invoke.resume``; the final step says what to do (``Accept``/``Refuse``
the upgrade, send a ``Reply``'s frames, or nothing after ``Closed``).  The
connect and disconnect flows are generators that yield invocations and receive
outcomes (``Flow``); a message ends in its route's ``PendingCall`` (``_message``), no flow.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any, Generator, Mapping, Optional, Protocol, Union

from framer.functions._context import LambdaContext

from ._errors import RouterUsageError
from ._model import Handler, Snapshot, Stage, flat_json
from ._plan import RouteCache
from ._time import iso_millis

NO_STATUS_CODE = 1005
NO_STATUS_REASON = "Client-side close frame status not set"
"""What API Gateway reports when the client closed without a status (capture)."""

_DEFAULT_REASONS = {1001: "Going away"}
"""Reasons filled in when the close frame had a code but no text (1001 observed)."""

# -- outcomes the driver hands back ------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpResponse:
    """What an HTTP_PROXY call returned (the driver builds it)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class Returned:
    """The handler returned ``value`` (an ``HttpResponse`` for HTTP calls)."""

    value: Any = None
    elapsed_ms: Optional[int] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Raised:
    """The handler raised ``error`` (or the HTTP call failed)."""

    error: BaseException
    elapsed_ms: Optional[int] = None


@dataclass(frozen=True, slots=True, kw_only=True)
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


@dataclass(frozen=True, slots=True, kw_only=True)
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


@dataclass(frozen=True, slots=True, kw_only=True)
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


# -- connections -------------------------------------------------------------------

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
_OPEN = ConnectionState.OPEN  # a plain global: receive_text compares with it per message


@dataclass(frozen=True, slots=True, kw_only=True)
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
        return flat_json(self.to_dict())

    def to_wire(self) -> dict[str, Any]:
        """camelCase body of GetConnection: ``to_dict`` with each key's first
        letter lowered."""
        return _camel(self.to_dict())


def _camel(value: dict[str, Any]) -> dict[str, Any]:
    return {key[:1].lower() + key[1:]: _camel(item) if isinstance(item, dict) else item
            for key, item in value.items()}


class Plane(Protocol):
    """What a ``Connection`` asks of its router (``Router`` is one)."""

    def _message(self, conn: Connection, text: str, now_ms: int) -> Step: ...

    def _disconnect(self, conn: Connection, code: int, reason: str, now_ms: int) -> Step: ...


class Connection:
    """One client connection. Made by ``Router.connect``; use it after ``Accept``."""

    def __init__(self, router: Plane, *, connection_id: str, stage: str,
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
        # What the message path (_message.MessagePath) keeps per connection:
        self._snapshot = snapshot  # the deployment its last message used
        self._stage: Optional[Stage] = None  # the Stage its last message saw
        self._last_route: Optional[RouteCache] = None
        # The requestContext template of its MESSAGE events, made on its first.
        self._event_template: Optional[dict[str, Any]] = None

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
        if self.state is not _OPEN:
            raise RouterUsageError(
                f"disconnect on connection {self.connection_id} in state "
                f"{self.state.value}; call it once, after Accept")
        self._move(ConnectionState.CLOSED)
        if code is None:
            code, reason = NO_STATUS_CODE, NO_STATUS_REASON
        elif not reason:
            reason = _DEFAULT_REASONS.get(code, "")
        return self._router._disconnect(self, code, reason, now_ms)

    def __repr__(self) -> str:
        return f"<Connection {self.connection_id} {self.stage} {self.state.value}>"


# -- final steps ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Accept:
    """Complete the upgrade. ``headers`` are extra response headers;
    ``subprotocol`` (from the handler's ``Sec-WebSocket-Protocol``) goes apart."""

    connection: Connection
    subprotocol: Optional[str] = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Refuse:
    """Refuse the upgrade with this HTTP response; ``reason`` is for logs."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    body: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """A message was handled: send ``frames`` (text) in order; the socket stays open."""

    request_id: str
    route_key: Optional[str]
    frames: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Closed:
    """``$disconnect`` is done; ``error`` is what its handler raised, if anything."""

    connection_id: str
    error: Optional[BaseException] = None


_new = object.__new__
_REPLY_FIELDS = ("request_id", "route_key", "frames")
if tuple(f.name for f in fields(Reply)) != _REPLY_FIELDS:
    raise AssertionError("Reply's fields changed: update reply()")
_set_request_id, _set_route_key, _set_frames = (
    Reply.__dict__[name].__set__ for name in _REPLY_FIELDS)


def reply(request_id: str, route_key: Optional[str], frames: tuple[str, ...]) -> Reply:
    """``Reply(request_id=..., route_key=..., frames=...)`` through its slots,
    without the dataclass ``__init__`` (one ``object.__setattr__`` per field):
    every message ends in one."""
    made = _new(Reply)
    _set_request_id(made, request_id)
    _set_route_key(made, route_key)
    _set_frames(made, frames)
    return made


Final = Union[Accept, Refuse, Reply, Closed]
Flow = Generator[Invocation, Outcome, Final]


class PendingCall(Protocol):
    """How a message's call ends (``_message.RouteReply``, one per route,
    made with its plan): it makes the call's ``Invocation`` when asked, the
    ``Reply`` for an outcome, and one carrying an in-band error frame, from
    the message's connection and request ids (the ``Invoke`` keeps them: no
    object is made per message)."""

    def invocation(self, connection_id: str, request_id: str,
                   call: Optional[LambdaCall], http: Optional[HttpCall]) -> Invocation: ...

    def finish(self, connection_id: str, request_id: str, outcome: Outcome) -> Reply: ...

    def returned(self, connection_id: str, request_id: str, value: Any) -> Reply: ...

    def error(self, connection_id: str, request_id: str, message: str) -> Reply: ...


LambdaCall = tuple[Handler, Mapping[str, Any], Optional[LambdaContext]]
"""``(handler, event, context)``: ``Invoke.lambda_call``."""


class Resume(Protocol):
    """What an ``Invoke`` hands its outcome to: the route's ``PendingCall``
    for a message, a flow's next step otherwise, and once it has been used,
    a refusal (``_Spent``)."""

    def finish(self, connection_id: str, request_id: str, outcome: Outcome) -> Step: ...

    def returned(self, connection_id: str, request_id: str, value: Any) -> Step: ...


class _FlowResume:
    """A flow's next step (``advance``) for an ``Invoke`` of that flow."""

    __slots__ = ("flow",)

    def __init__(self, flow: Flow) -> None:
        self.flow = flow

    def finish(self, connection_id: str, request_id: str, outcome: Outcome) -> Step:
        return advance(self.flow, outcome)

    def returned(self, connection_id: str, request_id: str, value: Any) -> Step:
        return advance(self.flow, Returned(value=value))


class _Spent:
    """An ``Invoke`` already resumed: it is resumed once."""

    __slots__ = ()

    def finish(self, connection_id: str, request_id: str, outcome: Outcome) -> Step:
        raise RouterUsageError("this Invoke step was already resumed")

    def returned(self, connection_id: str, request_id: str, value: Any) -> Step:
        raise RouterUsageError("this Invoke step was already resumed")


_SPENT = _Spent()


class Invoke:
    """Run ``invocation``, then call ``resume(outcome)`` (once) for the next step.

    ``lambda_call`` is ``(handler, event, context)`` when the invocation is a
    Lambda call (else ``None``): the same objects as the invocation's fields,
    for a driver that runs the handler itself.  A message's ``invocation`` is
    built only when read (most drivers run a message through ``lambda_call``).
    """

    __slots__ = ("_invocation", "_pending", "_next", "lambda_call",
                 "_connection_id", "_request_id")

    def __init__(self, invocation: Invocation, flow: Flow) -> None:
        self._invocation: Optional[Invocation] = invocation
        self._pending: Optional[PendingCall] = None
        self._next: Resume = _FlowResume(flow)
        self.lambda_call: Optional[LambdaCall] = \
            (invocation.handler, invocation.event, invocation.context) \
            if invocation.kind is InvocationKind.LAMBDA and invocation.handler is not None \
            else None
        self._connection_id = invocation.connection_id
        self._request_id = invocation.request_id

    @classmethod
    def _for_message(cls, pending: PendingCall, connection_id: str, request_id: str,
                     lambda_call: Optional[LambdaCall],
                     invocation: Optional[Invocation]) -> Invoke:
        """A message's step: ``pending`` (its route's) finishes it, no flow.
        ``invocation`` may be ``None`` when ``lambda_call`` is given: it is made
        from the call if read."""
        step = _new(cls)
        step._invocation = invocation
        step._pending = step._next = pending
        step.lambda_call = lambda_call
        step._connection_id = connection_id
        step._request_id = request_id
        return step

    @property
    def invocation(self) -> Invocation:
        """What to run."""
        invocation = self._invocation
        if invocation is None:
            assert self._pending is not None
            invocation = self._invocation = self._pending.invocation(
                self._connection_id, self._request_id, self.lambda_call, None)
        return invocation

    def resume(self, outcome: Outcome) -> Step:
        """Hand back what happened; returns the next step."""
        if not isinstance(outcome, (Returned, Raised, TimedOut)):
            raise RouterUsageError(
                f"resume() takes Returned, Raised or TimedOut, not {type(outcome).__name__}")
        resume, self._next = self._next, _SPENT
        return resume.finish(self._connection_id, self._request_id, outcome)

    def returned(self, value: Any) -> Step:
        """``resume(Returned(value=value))``, without building the outcome: for
        a driver that ran the handler inline and has its result in hand."""
        resume, self._next = self._next, _SPENT
        return resume.returned(self._connection_id, self._request_id, value)

    def __repr__(self) -> str:
        return f"Invoke({self.invocation.purpose.value} {self.invocation.route_key!r})"


Step = Union[Invoke, Accept, Refuse, Reply, Closed]


def advance(flow: Flow, outcome: Optional[Outcome]) -> Step:
    """Send ``outcome`` into ``flow`` (``None`` starts it): its next ``Invoke``,
    or its final step."""
    try:
        invocation = flow.send(outcome)  # type: ignore[arg-type]
    except StopIteration as stop:
        final: Final = stop.value
        return final
    return Invoke(invocation, flow)
