"""framer.router: API Gateway's stage-aware WebSocket routing, sans-IO.

The control plane (``Gateway``) holds APIs, routes, integrations, authorizers,
deployments and stages as ``apigatewayv2`` has them; the data plane (``Router``)
turns handshakes, messages and disconnects into decisions and invocation
descriptors that a driver (framer's asyncio server, or your own) carries out.
See ``API.md`` next to this file for the driver's contract.
"""

from __future__ import annotations

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
from ._frames import error_frame
from ._gateway import Gateway, Quotas
from ._ids import is_valid_connection_id
from ._model import (
    DEFAULT_STAGE_ROUTE_SETTINGS,
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
from ._runtime import (
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
    LambdaContext,
    Purpose,
    Raised,
    Refuse,
    Reply,
    Returned,
    Router,
    TimedOut,
)
from ._selection import SelectionExpression
from ._selection import parse as parse_selection_expression
from ._throttle import TokenBucket

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
    "DEFAULT_STAGE_ROUTE_SETTINGS",
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
    "SelectionExpression",
    "Snapshot",
    "Stage",
    "TimedOut",
    "TokenBucket",
    "TooManyRequestsException",
    "error_frame",
    "is_valid_connection_id",
    "parse_selection_expression",
]
