"""framer.router: API Gateway's stage-aware WebSocket routing, sans-IO.

The control plane (``Gateway``) holds APIs, routes, integrations, authorizers,
deployments and stages as ``apigatewayv2`` has them; the data plane (``Router``)
turns handshakes, messages and disconnects into decisions and invocation
descriptors that a driver (framer's asyncio server, or your own) carries out.
See ``API.md`` next to this file for the driver's contract.

Modules, one concern each:

- ``_gateway``: the ``Gateway`` control plane: APIs, deployments, stages, and what the data plane reads from it;
- ``_integrations``: the ``Gateway``'s integrations and integration responses (a mixin);
- ``_authorizers``: the ``Gateway``'s Lambda REQUEST authorizers (a mixin);
- ``_routes``: the ``Gateway``'s routes and route responses, and a route's target and authorization rules (a mixin);
- ``_tables``: what the ``Gateway`` keeps per API, and the lookups its mixins share;
- ``_checks``: the ``Gateway``'s input checks (names, keys, timeouts, route settings, stage variables);
- ``_changes``: the ``Gateway``'s change hook: ``GatewayChange``, its observers and lock, the ``mutation`` mark;
- ``_quotas``: ``Quotas``, the account's API Gateway limits;
- ``_model``: the immutable control-plane records and their CLI/wire JSON views;
- ``_router``: ``Router``: the stage registry, the connect and disconnect flows;
- ``_message``: the message path (route, throttle, integration call, reply), run for every message;
- ``_connect``: the handshake's rules: identity sources, the authorizer's policy, the ``$connect`` result;
- ``_steps``: the driver's contract: ``Connection``, steps (``Invoke``, ``Accept``, ...) and outcomes;
- ``_plan``: the records the message path keeps per route and per connection;
- ``_events``: the Lambda-proxy events (CONNECT, MESSAGE, DISCONNECT, authorizer), field for field;
- ``_lambda``: a handler's Lambda names and its ``context``;
- ``_selection``: route and route-response selection expressions;
- ``_throttle``: token buckets, and which buckets a request takes from;
- ``_frames``: API Gateway's in-band error frames;
- ``_ids``: identifier formats and the random source behind them;
- ``_errors``: the error classes (API Gateway's exceptions, misuse of the router);
- ``_time``: the timestamp formats of events and JSON views.
"""

from __future__ import annotations

from framer.functions._context import LambdaContext

from ._errors import (
    ApiGatewayError,
    BadRequestException,
    ConflictException,
    GoneException,
    NotFoundException,
    RouterError,
    RouterUsageError,
    TooManyRequestsException,
)
from ._gateway import Gateway, Quotas
from ._ids import is_valid_connection_id
from ._model import (
    Api,
    AuthorizationType,
    Authorizer,
    Deployment,
    Integration,
    IntegrationResponse,
    IntegrationType,
    LoggingLevel,
    Route,
    RouteResponse,
    RouteSettings,
    Snapshot,
    Stage,
)
from ._router import Router
from ._steps import (
    Accept,
    Closed,
    Connection,
    ConnectionInfo,
    ConnectionState,
    HttpCall,
    HttpResponse,
    Invocation,
    InvocationKind,
    Invoke,
    Purpose,
    Raised,
    Refuse,
    Reply,
    Returned,
    TimedOut,
)

__all__ = [
    "Accept",
    "Api",
    "ApiGatewayError",
    "AuthorizationType",
    "Authorizer",
    "BadRequestException",
    "Closed",
    "ConflictException",
    "Connection",
    "ConnectionInfo",
    "ConnectionState",
    "Deployment",
    "Gateway",
    "GoneException",
    "HttpCall",
    "HttpResponse",
    "Integration",
    "IntegrationResponse",
    "IntegrationType",
    "Invocation",
    "InvocationKind",
    "Invoke",
    "LambdaContext",
    "LoggingLevel",
    "NotFoundException",
    "Purpose",
    "Quotas",
    "Raised",
    "Refuse",
    "Reply",
    "Returned",
    "Route",
    "RouteResponse",
    "RouteSettings",
    "Router",
    "RouterError",
    "RouterUsageError",
    "Snapshot",
    "Stage",
    "TimedOut",
    "TooManyRequestsException",
    "is_valid_connection_id",
]
