"""Control-plane records (APIs, routes, integrations, ..., deployments, stages).

Records are frozen: the ``Gateway`` replaces them on update, and a deployment
holds the records as they were when it was made. Each record has three views:

- ``to_dict()``: the AWS CLI / SDK shape (PascalCase keys), key order as the CLI
  prints it (the seed's order for deployments and stages, alphabetical for the
  rest, as the AWS CLI examples show);
- ``to_json(indent=None)``: that dict as JSON. Without ``indent`` it is laid out
  exactly like the seed document shows CLI output, on one line:
  ``{ "DeploymentId": "fedcba", "DeploymentStatus": "DEPLOYED", "CreatedDate": "..." }``;
  with ``indent=4`` it is what the CLI really prints in a terminal;
- ``to_wire()``: the camelCase body of the ``apigatewayv2`` REST-JSON API.

Python callables (handlers) never appear in any of the three.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from ._time import iso_seconds

Handler = Callable[..., Any]
"""A Lambda-style handler: ``handler(event, context)``, sync or async."""


class IntegrationType(str, enum.Enum):
    """Integration types framer can run (AWS/HTTP non-proxy need VTL: not supported)."""

    AWS_PROXY = "AWS_PROXY"
    HTTP_PROXY = "HTTP_PROXY"
    MOCK = "MOCK"


class AuthorizationType(str, enum.Enum):
    """Route authorization types for WebSocket APIs (``AWS_IAM`` is accepted and stored,
    but framer does not check SigV4 signatures)."""

    NONE = "NONE"
    AWS_IAM = "AWS_IAM"
    CUSTOM = "CUSTOM"


class LoggingLevel(str, enum.Enum):
    """``RouteSettings.LoggingLevel`` values."""

    ERROR = "ERROR"
    INFO = "INFO"
    OFF = "OFF"


def flat_json(value: Any) -> str:
    """JSON laid out like the seed shows CLI output: ``{ "K": v, "L": [ 1 ] }``, ``{}``."""
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        inner = ", ".join(f"{json.dumps(k)}: {flat_json(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[ " + ", ".join(flat_json(v) for v in value) + " ]"
    return json.dumps(value)


class _Shapes:
    """Mixin giving ``to_json`` and ``to_wire`` from ``to_dict``."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_wire(self) -> dict[str, Any]:
        """The camelCase body of the operations that answer with this record
        (CreateRoute/GetRoute...): ``to_dict`` with its keys camelCased."""
        return _pascal_to_camel(self.to_dict())  # type: ignore[no-any-return]

    def to_json(self, indent: Optional[int] = None) -> str:
        """The CLI's JSON for this record (see the module docstring)."""
        if indent is None:
            return flat_json(self.to_dict())
        return json.dumps(self.to_dict(), indent=indent)


def _pascal_to_camel(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k[:1].lower() + k[1:]: _pascal_to_camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pascal_to_camel(v) for v in value]
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Api(_Shapes):
    """A WebSocket API."""

    api_id: str
    name: str
    route_selection_expression: str
    api_endpoint: str
    created_date: datetime
    api_key_selection_expression: str = "$request.header.x-api-key"
    description: Optional[str] = None
    disable_execute_api_endpoint: bool = False
    protocol_type: str = "WEBSOCKET"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ApiEndpoint": self.api_endpoint,
            "ApiId": self.api_id,
            "ApiKeySelectionExpression": self.api_key_selection_expression,
            "CreatedDate": iso_seconds(self.created_date),
        }
        if self.description is not None:
            out["Description"] = self.description
        out["DisableExecuteApiEndpoint"] = self.disable_execute_api_endpoint
        out["Name"] = self.name
        out["ProtocolType"] = self.protocol_type
        out["RouteSelectionExpression"] = self.route_selection_expression
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Route(_Shapes):
    """A route: its key, and the integration it targets (``integrations/{id}``)."""

    route_id: str
    route_key: str
    target: Optional[str] = None
    authorization_type: AuthorizationType = AuthorizationType.NONE
    authorizer_id: Optional[str] = None
    route_response_selection_expression: Optional[str] = None
    api_key_required: bool = False
    operation_name: Optional[str] = None

    @property
    def integration_id(self) -> Optional[str]:
        """The integration id named by ``target``, if any."""
        if self.target is None:
            return None
        return self.target.split("/", 1)[1]

    @property
    def two_way(self) -> bool:
        """Whether the handler's result goes back to the client."""
        return self.route_response_selection_expression == "$default"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ApiKeyRequired": self.api_key_required,
            "AuthorizationType": self.authorization_type.value,
        }
        if self.authorizer_id is not None:
            out["AuthorizerId"] = self.authorizer_id
        if self.operation_name is not None:
            out["OperationName"] = self.operation_name
        out["RouteId"] = self.route_id
        out["RouteKey"] = self.route_key
        if self.route_response_selection_expression is not None:
            out["RouteResponseSelectionExpression"] = \
                self.route_response_selection_expression
        if self.target is not None:
            out["Target"] = self.target
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Integration(_Shapes):
    """An integration: a Python handler (AWS_PROXY), an HTTP_PROXY URL, or MOCK."""

    integration_id: str
    integration_type: IntegrationType
    timeout_in_millis: int = 29_000
    integration_uri: Optional[str] = None
    integration_method: Optional[str] = None
    handler: Optional[Handler] = None
    description: Optional[str] = None
    request_templates: Mapping[str, str] = field(default_factory=dict)
    template_selection_expression: Optional[str] = None


    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ConnectionType": "INTERNET"}
        if self.description is not None:
            out["Description"] = self.description
        out["IntegrationId"] = self.integration_id
        if self.integration_method is not None:
            out["IntegrationMethod"] = self.integration_method
        out["IntegrationResponseSelectionExpression"] = "${response.statuscode}"
        out["IntegrationType"] = self.integration_type.value
        if self.integration_uri is not None:
            out["IntegrationUri"] = self.integration_uri
        out["PassthroughBehavior"] = "WHEN_NO_MATCH"
        if self.integration_type is IntegrationType.AWS_PROXY:
            out["PayloadFormatVersion"] = "1.0"
        if self.request_templates:
            out["RequestTemplates"] = dict(self.request_templates)
        if self.template_selection_expression is not None:
            out["TemplateSelectionExpression"] = self.template_selection_expression
        out["TimeoutInMillis"] = self.timeout_in_millis
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrationResponse(_Shapes):
    """An integration response; framer uses its ``$default`` response template
    (verbatim, no VTL) as the reply body of a two-way MOCK route."""

    integration_response_id: str
    integration_response_key: str
    response_templates: Mapping[str, str] = field(default_factory=dict)


    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "IntegrationResponseId": self.integration_response_id,
            "IntegrationResponseKey": self.integration_response_key,
        }
        if self.response_templates:
            out["ResponseTemplates"] = dict(self.response_templates)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteResponse(_Shapes):
    """A route response (only the ``$default`` key exists for WebSocket APIs)."""

    route_response_id: str
    route_response_key: str = "$default"

    def to_dict(self) -> dict[str, Any]:
        return {"RouteResponseId": self.route_response_id,
                "RouteResponseKey": self.route_response_key}


@dataclass(frozen=True, slots=True, kw_only=True)
class Authorizer(_Shapes):
    """A Lambda REQUEST authorizer; ``handler`` plays the Lambda function."""

    authorizer_id: str
    name: str
    identity_source: tuple[str, ...]
    handler: Optional[Handler] = None
    authorizer_uri: Optional[str] = None
    authorizer_type: str = "REQUEST"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"AuthorizerId": self.authorizer_id,
                               "AuthorizerType": self.authorizer_type}
        if self.authorizer_uri is not None:
            out["AuthorizerUri"] = self.authorizer_uri
        out["IdentitySource"] = list(self.identity_source)
        out["Name"] = self.name
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteSettings(_Shapes):
    """Per-stage (default) or per-route settings; ``None`` means "not set"."""

    data_trace_enabled: Optional[bool] = None
    detailed_metrics_enabled: Optional[bool] = None
    logging_level: Optional[LoggingLevel] = None
    throttling_burst_limit: Optional[int] = None
    throttling_rate_limit: Optional[float] = None

    def merged(self, other: RouteSettings) -> RouteSettings:
        """These settings with every field ``other`` sets replaced."""
        def pick(mine: Any, theirs: Any) -> Any:
            return mine if theirs is None else theirs
        return RouteSettings(
            data_trace_enabled=pick(self.data_trace_enabled, other.data_trace_enabled),
            detailed_metrics_enabled=pick(self.detailed_metrics_enabled,
                                          other.detailed_metrics_enabled),
            logging_level=pick(self.logging_level, other.logging_level),
            throttling_burst_limit=pick(self.throttling_burst_limit,
                                        other.throttling_burst_limit),
            throttling_rate_limit=pick(self.throttling_rate_limit,
                                       other.throttling_rate_limit),
        )

    def to_dict(self) -> dict[str, Any]:
        """The seed's layout: ``MetricsEnabled`` (the 2018 CLI's name for
        DetailedMetricsEnabled), ``ThrottlingBurstLimit``, ``DataTraceEnabled``,
        ``ThrottlingRateLimit``; ``LoggingLevel`` last; unset fields left out."""
        out: dict[str, Any] = {}
        if self.detailed_metrics_enabled is not None:
            out["MetricsEnabled"] = self.detailed_metrics_enabled
        if self.throttling_burst_limit is not None:
            out["ThrottlingBurstLimit"] = self.throttling_burst_limit
        if self.data_trace_enabled is not None:
            out["DataTraceEnabled"] = self.data_trace_enabled
        if self.throttling_rate_limit is not None:
            out["ThrottlingRateLimit"] = float(self.throttling_rate_limit)
        if self.logging_level is not None:
            out["LoggingLevel"] = self.logging_level.value
        return out

    def to_wire(self) -> dict[str, Any]:
        """camelCase members of the service model (``detailedMetricsEnabled``)."""
        out: dict[str, Any] = {}
        if self.data_trace_enabled is not None:
            out["dataTraceEnabled"] = self.data_trace_enabled
        if self.detailed_metrics_enabled is not None:
            out["detailedMetricsEnabled"] = self.detailed_metrics_enabled
        if self.logging_level is not None:
            out["loggingLevel"] = self.logging_level.value
        if self.throttling_burst_limit is not None:
            out["throttlingBurstLimit"] = self.throttling_burst_limit
        if self.throttling_rate_limit is not None:
            out["throttlingRateLimit"] = float(self.throttling_rate_limit)
        return out


DEFAULT_STAGE_ROUTE_SETTINGS = RouteSettings(
    detailed_metrics_enabled=False,
    throttling_burst_limit=5000,
    data_trace_enabled=False,
    throttling_rate_limit=10000.0,
)
"""A new stage's DefaultRouteSettings, as the seed's create-stage output shows
(the account-level throttle: 5000 burst, 10000 requests per second)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployment(_Shapes):
    """A deployment's metadata. Its frozen copy of the API is a ``Snapshot``."""

    deployment_id: str
    created_date: datetime
    description: Optional[str] = None
    deployment_status: str = "DEPLOYED"
    auto_deployed: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "DeploymentId": self.deployment_id,
            "DeploymentStatus": self.deployment_status,
            "CreatedDate": iso_seconds(self.created_date),
        }
        if self.description is not None:
            out["Description"] = self.description
        return out

    def to_wire(self) -> dict[str, Any]:
        """camelCase body of CreateDeployment/GetDeployment."""
        out: dict[str, Any] = {
            "autoDeployed": self.auto_deployed,
            "createdDate": iso_seconds(self.created_date),
            "deploymentId": self.deployment_id,
            "deploymentStatus": self.deployment_status,
        }
        if self.description is not None:
            out["description"] = self.description
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """What a deployment froze: the routing configuration of the API at that time."""

    api_id: str
    route_selection_expression: str
    routes: Mapping[str, Route]
    """By route key."""
    integrations: Mapping[str, Integration]
    """By integration id."""
    integration_responses: Mapping[str, Mapping[str, IntegrationResponse]]
    """By integration id, then response key."""
    route_responses: Mapping[str, Mapping[str, RouteResponse]]
    """By route id, then response key."""
    authorizers: Mapping[str, Authorizer]
    """By authorizer id."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage(_Shapes):
    """A stage: a name in the URL, pointing at one deployment."""

    stage_name: str
    created_date: datetime
    last_updated_date: datetime
    deployment_id: Optional[str] = None
    default_route_settings: RouteSettings = DEFAULT_STAGE_ROUTE_SETTINGS
    route_settings: Mapping[str, RouteSettings] = field(default_factory=dict)
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    description: Optional[str] = None
    tags: Mapping[str, str] = field(default_factory=dict)


    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"StageName": self.stage_name,
                               "CreatedDate": iso_seconds(self.created_date)}
        if self.deployment_id is not None:
            out["DeploymentId"] = self.deployment_id
        if self.description is not None:
            out["Description"] = self.description
        out["DefaultRouteSettings"] = self.default_route_settings.to_dict()
        out["LastUpdatedDate"] = iso_seconds(self.last_updated_date)
        out["StageVariables"] = dict(self.stage_variables)
        out["RouteSettings"] = {k: v.to_dict() for k, v in self.route_settings.items()}
        if self.tags:
            out["Tags"] = dict(self.tags)
        return out

    def to_wire(self) -> dict[str, Any]:
        """camelCase body of CreateStage/GetStage."""
        out: dict[str, Any] = {
            "createdDate": iso_seconds(self.created_date),
            "defaultRouteSettings": self.default_route_settings.to_wire(),
        }
        if self.deployment_id is not None:
            out["deploymentId"] = self.deployment_id
        if self.description is not None:
            out["description"] = self.description
        out["lastUpdatedDate"] = iso_seconds(self.last_updated_date)
        out["routeSettings"] = {k: v.to_wire() for k, v in self.route_settings.items()}
        out["stageName"] = self.stage_name
        out["stageVariables"] = dict(self.stage_variables)
        out["tags"] = dict(self.tags)
        return out
