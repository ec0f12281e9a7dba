"""The message path: a text message in, a ``Reply`` (or an ``Invoke``) out.

``MessagePath._message`` runs for every message, so it is a plain method, not a
flow generator: the deployment the connection's stage points at now
(``current``), the route (``select_route``), its plan and throttles (a
``RouteCache`` per connection), then the integration.  A Lambda or HTTP call
returns an ``Invoke`` whose route's ``RouteReply`` makes the ``Reply`` from
the outcome.  Each rule is one method or function here; the caches keep records
made from the rules, never copies of them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from . import _selection
from ._events import build_message_event, message_context_template
from ._frames import (
    ENDPOINT_REQUEST_TIMED_OUT,
    FORBIDDEN,
    INTERNAL_SERVER_ERROR,
    TOO_MANY_REQUESTS,
    error_frame,
)
from ._gateway import Gateway
from ._lambda import FunctionNames, context_maker, function_names, handler_name
from ._model import Integration, IntegrationType, Route, Snapshot, Stage
from ._plan import MessagePlan, RouteCache
from ._steps import (
    Connection,
    HttpCall,
    HttpResponse,
    Invocation,
    InvocationKind,
    Invoke,
    LambdaCall,
    Outcome,
    Purpose,
    Reply,
    Returned,
    Step,
    TimedOut,
    reply,
)
from ._throttle import StageThrottles
from ._time import clf

# Enum members the message path compares with, as plain globals: reading a
# member through its class is a descriptor lookup (~0.15 us on Python 3.11).
_MOCK = IntegrationType.MOCK
_AWS_PROXY = IntegrationType.AWS_PROXY
_MESSAGE = Purpose.MESSAGE
_CACHE_LIMIT = 4096
_invoke = Invoke._for_message  # bound once: a classmethod read makes a method object


@dataclass(frozen=True, slots=True)
class RouteReply:
    """How a message on a one-way route ends, made once with the route's plan:
    the ``Invoke``'s ``PendingCall`` (``_steps``), told the message's
    connection and request ids on each call.  ``TwoWayReply`` is a two-way
    route's."""

    route_key: str
    timeout_s: float

    def invocation(self, connection_id: str, request_id: str,
                   call: Optional[LambdaCall], http: Optional[HttpCall]) -> Invocation:
        """The message's call as an ``Invocation``: ``call`` for a Lambda,
        else the HTTP request ``http``."""
        if call is None:
            return Invocation(kind=InvocationKind.HTTP, purpose=_MESSAGE,
                              timeout_s=self.timeout_s, route_key=self.route_key,
                              connection_id=connection_id, request_id=request_id,
                              event={}, http=http)
        return Invocation(kind=InvocationKind.LAMBDA, purpose=_MESSAGE,
                          timeout_s=self.timeout_s, route_key=self.route_key,
                          connection_id=connection_id, request_id=request_id,
                          handler=call[0], event=call[1], context=call[2])

    def returned(self, connection_id: str, request_id: str, value: Any) -> Reply:
        """The reply when the handler returned ``value``: nothing goes back
        on a one-way route."""
        return reply(request_id, self.route_key, ())

    def finish(self, connection_id: str, request_id: str, outcome: Outcome) -> Reply:
        """The reply for any outcome: a failure is an in-band error frame."""
        if type(outcome) is Returned:
            return self.returned(connection_id, request_id, outcome.value)
        return self.error(connection_id, request_id, ENDPOINT_REQUEST_TIMED_OUT
                          if type(outcome) is TimedOut else INTERNAL_SERVER_ERROR)

    def error(self, connection_id: str, request_id: str, message: str) -> Reply:
        """The reply carrying API Gateway's error frame ``message``."""
        return reply(request_id, self.route_key, (error_frame(
            message, connection_id=connection_id, request_id=request_id),))


@dataclass(frozen=True, slots=True)
class TwoWayReply(RouteReply):
    """How a message on a two-way route ends: the handler's result is sent back."""

    def returned(self, connection_id: str, request_id: str, value: Any) -> Reply:
        """The reply when the handler returned ``value``: the frame made from it.

        A dict's ``body`` (base64-decoded when ``isBase64Encoded``); a string as it
        is; an ``HttpResponse``'s body; anything else JSON-encoded; no frame for
        ``None`` or a missing body.  A result that cannot be encoded is an
        ``Internal server error`` frame.
        """
        try:
            if type(value) is not dict:  # the usual result: skip the typing.Mapping check
                if value is None:
                    return reply(request_id, self.route_key, ())
                if isinstance(value, HttpResponse):
                    body = value.body.decode("utf-8", errors="replace") if value.body else None
                    return reply(request_id, self.route_key, (body,) if body else ())
                if isinstance(value, str):
                    return reply(request_id, self.route_key, (value,))
                if not isinstance(value, Mapping):
                    return reply(request_id, self.route_key, (json.dumps(value),))
            body = value.get("body")  # a mapping
            if body is None:
                return reply(request_id, self.route_key, ())
            if not isinstance(body, str):
                body = json.dumps(body)
            elif value.get("isBase64Encoded"):
                body = base64.b64decode(body).decode("utf-8", errors="replace")
            return reply(request_id, self.route_key, (body,))
        except (TypeError, ValueError):
            return self.error(connection_id, request_id, INTERNAL_SERVER_ERROR)


def mock_body(snapshot: Snapshot, integration: Integration) -> Optional[str]:
    """A MOCK integration's reply: its ``$default`` integration response's template."""
    responses = snapshot.integration_responses.get(integration.integration_id, {})
    for response in responses.values():
        if response.integration_response_key == "$default":
            templates = response.response_templates
            if templates:
                return templates.get("$default", next(iter(templates.values())))
    return None


class MessagePath:
    """The Router's message handling (``Router`` is one).  Open connections
    follow their stage: each message uses the deployment the stage points at
    now; if the stage is deleted, the connection keeps the last deployment it
    used."""

    gateway: Gateway
    api_id: str
    domain_name: str
    _clock_ms: Optional[Callable[[], int]]

    def __init__(self) -> None:
        self._throttles = StageThrottles()
        self._evaluators: dict[str, Callable[[str], Optional[str]]] = {}
        self._stage_snapshots: dict[str, tuple[Stage, Snapshot]] = {}
        self._plans: dict[int, MessagePlan] = {}
        self._names: dict[tuple[str, str, str], FunctionNames] = {}
        self._request_time: tuple[int, str] = (-1 << 64, "")  # requestTime of one second

    def current(self, conn: Connection) -> tuple[Optional[Stage], Snapshot]:
        """The connection's stage (``None`` once deleted) and the deployment
        its messages use now; remembered on the connection."""
        stage = self.gateway.find_stage(self.api_id, conn.stage)
        if stage is None or stage is conn._stage:
            return stage, conn._snapshot
        conn._stage = stage
        # Stages are replaced, never changed, and a deployment a stage points
        # at cannot be deleted: one Stage object, one snapshot.  The snapshot
        # comes through get_stage/get_snapshot, which a view of the Gateway
        # may answer (the control plane substitutes stage variables there).
        cached = self._stage_snapshots.get(conn.stage)
        if cached is None or cached[0] is not stage:
            served = self.gateway.get_stage(self.api_id, conn.stage)
            if served.deployment_id is None:
                return stage, conn._snapshot
            cached = self._stage_snapshots[conn.stage] = (
                stage, self.gateway.get_snapshot(self.api_id, served.deployment_id))
        conn._snapshot = cached[1]
        return stage, conn._snapshot

    def select_route(self, snapshot: Snapshot, text: str) -> Optional[Route]:
        """The route a message takes in a deployment, or None (no match, no $default).

        Non-JSON goes to ``$default``; an evaluated key naming ``$connect`` or
        ``$disconnect`` is not a match (those run only on connect/disconnect).
        """
        source = snapshot.route_selection_expression
        evaluate = self._evaluators.get(source)
        if evaluate is None:
            evaluate = self._evaluators[source] = _selection.evaluator(
                _selection.parse(source))
        key = evaluate(text)
        if key is not None and key != "$connect" and key != "$disconnect":
            route = snapshot.routes.get(key)
            if route is not None:
                return route
        return snapshot.routes.get("$default")

    def function_names(self, function_name: str) -> FunctionNames:
        """The Lambda names of a function (a handler's ``__name__``, an
        authorizer's name) in the gateway's region and account."""
        gw = self.gateway
        key = (function_name, gw.region, gw.account_id)
        names = self._names.get(key)
        if names is None:
            names = function_names(function_name, gw.region, gw.account_id)
            if len(self._names) < 1024:
                self._names[key] = names
        return names

    def _plan(self, route: Route, snapshot: Snapshot) -> MessagePlan:
        """The plan of ``route`` in ``snapshot``, kept per route (both are
        immutable, and the cache holds them, so an ``id()`` is not reused
        while its entry lives)."""
        plan = self._plans.get(id(route))
        if plan is not None and plan.route is route and plan.snapshot is snapshot:
            return plan
        integration = None
        if route.integration_id is not None:
            integration = snapshot.integrations[route.integration_id]
        timeout_s = integration.timeout_in_millis / 1000.0 if integration is not None else 0.0
        timeout_ms = int(timeout_s * 1000)
        names = context = None
        if integration is not None and integration.integration_type is _AWS_PROXY:
            assert integration.handler is not None
            names = self.function_names(handler_name(integration.handler))
            context = context_maker(names, timeout_ms)
        plan = MessagePlan(
            route=route, snapshot=snapshot, integration=integration,
            kind=integration.integration_type if integration is not None else None,
            timeout_ms=timeout_ms, names=names, context=context,
            reply=(TwoWayReply if route.two_way else RouteReply)(route.route_key, timeout_s))
        if len(self._plans) >= _CACHE_LIMIT:
            self._plans.clear()
        self._plans[id(route)] = plan
        return plan

    def _route_cache(self, conn: Connection, route: Route, snapshot: Snapshot,
                     stage: Optional[Stage], revision: int) -> RouteCache:
        """A new ``RouteCache`` of the connection, for ``route``, true while
        the gateway's ``revision`` is ``revision``."""
        admission = None
        if stage is not None:
            admission = self._throttles.admission(stage, route.route_key,
                                                  self.gateway.account_buckets())
        cache = conn._last_route = RouteCache(
            revision=revision, route=route, snapshot=snapshot, stage=stage,
            plan=self._plan(route, snapshot), admission=admission)
        return cache

    def _message(self, conn: Connection, text: str, now_ms: int) -> Step:
        """Route one message: a ``Reply``, or an ``Invoke`` for its integration."""
        gateway = self.gateway
        request_id, message_id, aws_request_id = gateway.ids.message_ids()
        # The stage and deployment this connection's last message used are
        # still current while the gateway has not changed since (its revision
        # is read before them: a change made meanwhile is seen next time).
        revision = gateway.revision
        cache = conn._last_route
        if cache is not None and cache.revision == revision:
            stage, snapshot = cache.stage, cache.snapshot
        else:
            stage, snapshot = self.current(conn)
        route = self.select_route(snapshot, text)
        if route is None:
            return reply(request_id, None, (error_frame(
                FORBIDDEN, connection_id=conn.connection_id, request_id=request_id),))
        # The route's plan and throttles, as this connection's last message
        # found them while the gateway and the route are the same.
        if cache is None or cache.revision != revision or cache.route is not route \
                or cache.snapshot is not snapshot or cache.stage is not stage:
            cache = self._route_cache(conn, route, snapshot, stage, revision)
        plan = cache.plan
        admission = cache.admission
        if admission is not None and not admission.account.take(now_ms, admission.own):
            return plan.reply.error(conn.connection_id, request_id, TOO_MANY_REQUESTS)
        integration = plan.integration
        if integration is None:
            return plan.reply.error(conn.connection_id, request_id, INTERNAL_SERVER_ERROR)
        kind = plan.kind
        if kind is _MOCK:
            body = mock_body(snapshot, integration) if route.two_way else None
            return reply(request_id, route.route_key, (body,) if body is not None else ())
        if kind is _AWS_PROXY:
            template = conn._event_template
            if template is None or template["domainName"] is not self.domain_name:
                template = conn._event_template = message_context_template(
                    self.api_id, conn.stage, self.domain_name, conn.connection_id,
                    conn.connected_at_ms, conn.source_ip, conn.user_agent)
            request_time = self._request_time  # clf(now_ms), made once per second
            if request_time[0] != now_ms // 1000:
                request_time = self._request_time = (now_ms // 1000, clf(now_ms))
            event = build_message_event(
                template, route.route_key, message_id, request_id, request_time[1], now_ms,
                conn.authorizer, text, stage.stage_variables if stage is not None else None)
            handler = integration.handler
            assert handler is not None and plan.names is not None and plan.context is not None
            names = plan.names
            make_context = plan.context
            if names.region is not gateway.region or names.account_id is not gateway.account_id:
                make_context = context_maker(self.function_names(handler_name(handler)),
                                             plan.timeout_ms)
            context = make_context(aws_request_id or gateway.ids.lambda_request_id(),
                                   now_ms, self._clock_ms)
            return _invoke(plan.reply, conn.connection_id, request_id,
                           (handler, event, context), None)
        http = HttpCall(method=integration.integration_method or "POST",
                        url=integration.integration_uri or "", body=text.encode("utf-8"))
        return _invoke(plan.reply, conn.connection_id, request_id, None,
                       plan.reply.invocation(conn.connection_id, request_id, None, http))
