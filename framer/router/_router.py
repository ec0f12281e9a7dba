"""The data plane: ``Router`` turns handshakes, messages and disconnects into steps.

The connect and disconnect flows are generators that yield invocations and
receive outcomes, so their rules read top to bottom in one function each
(``_steps.advance`` drives them); messages take ``_message.MessagePath``.

Choices where API Gateway's behaviour is not public (reference §9):

- unknown stage, or a stage without a deployment: the handshake is refused
  with 403 ``{"message":"Forbidden"}`` (what API Gateway answers for unknown
  REST paths);
- ``$connect`` integration timeout: 504 ``{"message":"Endpoint request timed out"}``;
- a throttled message gets ``{"message": "Too Many Requests", ...}`` in API
  Gateway's in-band layout, and the connection stays open; a message route
  without an integration answers ``Internal server error``;
- open connections follow their stage (``MessagePath``); the authorizer
  result obtained at connect time stays with the connection;
- throttling as ``_throttle`` describes it: the account buckets are shared by
  every API of the ``Gateway``.
"""

from __future__ import annotations

from typing import Any, Callable, Generator, Optional, Sequence, Union
from urllib.parse import parse_qsl, unquote

from ._connect import (
    AUTHORIZER_TIMEOUT_S,
    HOP_BY_HOP,
    authorize,
    connect_result,
    header,
    missing_identity,
    mock_status,
    refuse,
)
from ._errors import GoneException
from ._events import RequestFacts, authorizer_event, connect_event, disconnect_event
from ._gateway import Gateway
from ._lambda import handler_name, lambda_context
from ._message import MessagePath
from ._model import AuthorizationType, Handler, Integration, IntegrationType, Snapshot, Stage
from ._steps import (
    Accept,
    Closed,
    Connection,
    ConnectionInfo,
    ConnectionState,
    Flow,
    HttpCall,
    Invocation,
    InvocationKind,
    Outcome,
    Purpose,
    Raised,
    Refuse,
    Returned,
    Step,
    TimedOut,
    advance,
)

Headers = Sequence[tuple[str, str]]


class Router(MessagePath):
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
        super().__init__()
        self.gateway = gateway
        self.api_id = api_id
        self.domain_name = domain_name or \
            f"{api_id}.execute-api.{gateway.region}.amazonaws.com"
        self.forwarded_port = forwarded_port
        self.forwarded_proto = forwarded_proto
        self._clock_ms = clock_ms
        self._connections: dict[str, Connection] = {}

    # -- stages and registry -----------------------------------------------------

    def resolve_stage(self, path: str) -> Optional[str]:
        """The stage name a request target (``/prod``, ``/prod?x=1``) names, or None."""
        raw = path.split("?", 1)[0]
        name = unquote(raw.strip("/"))
        if name == "":
            name = "$default"
        return name if self.gateway.find_stage(self.api_id, name) is not None else None

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

    # -- connect --------------------------------------------------------------------

    def connect(self, *, path: str, headers: Headers, source_ip: str, now_ms: int) -> Step:
        """Start a WebSocket handshake; returns ``Invoke``, ``Accept`` or ``Refuse``."""
        return advance(self._connect_flow(path, list(headers), source_ip, now_ms), None)

    def _connect_flow(self, path: str, headers: list[tuple[str, str]],
                      source_ip: str, now_ms: int) -> Flow:
        stage_name = self.resolve_stage(path)
        if stage_name is None:
            return refuse(403, "Forbidden", f"no stage for path {path!r}")
        stage = self.gateway.get_stage(self.api_id, stage_name)
        if stage.deployment_id is None:
            return refuse(403, "Forbidden", f"stage {stage_name} has no deployment")
        snapshot = self.gateway.get_snapshot(self.api_id, stage.deployment_id)
        account = self.gateway.account_buckets()
        admission = self._throttles.admission(stage, "$connect", account)
        if not (account.connect.take(now_ms)
                and admission.account.take(now_ms, admission.own)):
            return refuse(429, "Too Many Requests", "throttled at connect")
        query = parse_qsl(path.split("?", 1)[1], keep_blank_values=True) \
            if "?" in path else []
        headers = self._with_gateway_headers(headers, source_ip, now_ms)
        ids = self.gateway.ids
        connection_id = ids.wire_id()
        while connection_id in self._connections:
            connection_id = ids.wire_id()
        conn = Connection(self, connection_id=connection_id, stage=stage_name,
                          connected_at_ms=now_ms, source_ip=source_ip,
                          user_agent=header(headers, "User-Agent"), snapshot=snapshot)
        self._connections[connection_id] = conn
        final = yield from self._connect_steps(conn, stage, snapshot, headers, query,
                                               now_ms)
        if isinstance(final, Accept):
            conn._move(ConnectionState.OPEN)
        else:
            conn._move(ConnectionState.CLOSED)
            self._connections.pop(connection_id, None)
        return final

    def _connect_steps(self, conn: Connection, stage: Stage, snapshot: Snapshot,
                       headers: list[tuple[str, str]], query: list[tuple[str, str]],
                       now_ms: int) -> Generator[Invocation, Outcome, Union[Accept, Refuse]]:
        route = snapshot.routes.get("$connect")
        request_id = self.gateway.ids.wire_id()
        if route is not None and route.authorization_type is AuthorizationType.CUSTOM \
                and route.authorizer_id is not None:
            authorizer = snapshot.authorizers[route.authorizer_id]
            missing = missing_identity(authorizer, headers, query, stage)
            if missing is not None:
                return refuse(401, "Unauthorized", f"identity source {missing} missing or empty")
            assert authorizer.handler is not None
            method_arn = self._method_arn(stage.stage_name)
            event = authorizer_event(
                self._facts(conn, request_id, now_ms), method_arn=method_arn,
                headers=headers, query=query, stage_variables=stage.stage_variables)
            outcome = yield self._lambda(
                Purpose.AUTHORIZER, authorizer.handler, event, AUTHORIZER_TIMEOUT_S,
                route_key="$connect", conn=conn, request_id=request_id, now_ms=now_ms,
                function_name=authorizer.name)
            decision = authorize(outcome, method_arn)
            if isinstance(decision, Refuse):
                return decision
            conn.authorizer = decision
        if route is None or route.integration_id is None:
            return Accept(connection=conn)
        integration = snapshot.integrations[route.integration_id]
        if integration.integration_type is IntegrationType.MOCK:
            return connect_result(conn, Returned(value=mock_status(integration)))
        event = connect_event(self._facts(conn, request_id, now_ms), headers=headers,
                              query=query, stage_variables=stage.stage_variables)
        outcome = yield self._integration_call(
            Purpose.CONNECT, integration, event, route_key="$connect", conn=conn,
            request_id=request_id, now_ms=now_ms,
            http=HttpCall(method=integration.integration_method or "POST",
                          url=integration.integration_uri or "",
                          headers=tuple((n, v) for n, v in headers
                                        if n.lower() not in HOP_BY_HOP)))
        return connect_result(conn, outcome)

    def _with_gateway_headers(self, headers: list[tuple[str, str]], source_ip: str,
                              now_ms: int) -> list[tuple[str, str]]:
        """Add the headers API Gateway's front end adds, unless present."""
        out = list(headers)
        present = {n.lower() for n, _ in out}
        if "x-amzn-trace-id" not in present:
            out.append(("X-Amzn-Trace-Id",
                        f"Root=1-{now_ms // 1000:08x}-{self.gateway.ids.hex(24)}"))
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

    # -- disconnect ----------------------------------------------------------------

    def _disconnect(self, conn: Connection, code: int, reason: str, now_ms: int) -> Step:
        """``Connection.disconnect``'s step: forget it, run ``$disconnect``."""
        self._connections.pop(conn.connection_id, None)
        return advance(self._disconnect_flow(conn, code, reason, now_ms), None)

    def _disconnect_flow(self, conn: Connection, code: int, reason: str,
                         now_ms: int) -> Flow:
        stage, snapshot = self.current(conn)
        route = snapshot.routes.get("$disconnect")
        if route is None or route.integration_id is None:
            return Closed(connection_id=conn.connection_id)
        integration = snapshot.integrations[route.integration_id]
        if integration.integration_type is IntegrationType.MOCK:
            return Closed(connection_id=conn.connection_id)
        request_id = self.gateway.ids.wire_id()
        variables = stage.stage_variables if stage is not None else {}
        event = disconnect_event(self._facts(conn, request_id, now_ms), status_code=code,
                                 reason=reason, stage_variables=variables)
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
                now_ms: int, function_name: str) -> Invocation:
        context = lambda_context(self.function_names(function_name),
                                 self.gateway.ids.lambda_request_id(), int(timeout_s * 1000),
                                 now_ms, self._clock_ms)
        return Invocation(kind=InvocationKind.LAMBDA, purpose=purpose, timeout_s=timeout_s,
                          route_key=route_key, connection_id=conn.connection_id,
                          request_id=request_id, handler=handler, event=event,
                          context=context)

    def _integration_call(self, purpose: Purpose, integration: Integration,
                          event: dict[str, Any], *, route_key: str, conn: Connection,
                          request_id: str, now_ms: int, http: HttpCall) -> Invocation:
        timeout_s = integration.timeout_in_millis / 1000.0
        if integration.integration_type is IntegrationType.AWS_PROXY:
            assert integration.handler is not None
            return self._lambda(purpose, integration.handler, event, timeout_s,
                                route_key=route_key, conn=conn, request_id=request_id,
                                now_ms=now_ms, function_name=handler_name(integration.handler))
        return Invocation(kind=InvocationKind.HTTP, purpose=purpose, timeout_s=timeout_s,
                          route_key=route_key, connection_id=conn.connection_id,
                          request_id=request_id, event={}, http=http)
