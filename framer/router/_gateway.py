"""The control plane: ``Gateway``, an in-memory ``apigatewayv2`` for WebSocket APIs.

Operations mirror the apigatewayv2 API (create_api, create_route, ...,
create_deployment, create_stage, update_stage, ...) with Python names, and raise
API Gateway's exceptions (``BadRequestException``, ``NotFoundException``,
``ConflictException``, ``TooManyRequestsException``) with messages that name the
field, the value and the rule.

Deployments are snapshots: ``create_deployment`` freezes the API's routes,
integrations, route responses, integration responses and authorizers; stages
serve the snapshot of the deployment they point at, so later edits reach
clients only after a new deployment is made and a stage points at it. Stage
settings (variables, throttling) are not part of a deployment and apply at once.

No clock is read here: every operation that stamps a date takes ``now=`` (an
aware ``datetime``), falling back to the ``clock`` callable given to the
``Gateway``; with neither, it raises ``RouterUsageError``.
"""

from __future__ import annotations

import contextlib
import functools
import random
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping, Optional, TypeVar, Union, cast

from . import _selection
from ._errors import (
    BadRequestException,
    ConflictException,
    NotFoundException,
    RouterUsageError,
    TooManyRequestsException,
)
from ._ids import IdSource
from ._model import (
    DEFAULT_STAGE_ROUTE_SETTINGS,
    Api,
    AuthorizationType,
    Authorizer,
    Deployment,
    Handler,
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
from ._throttle import AccountBuckets

PREDEFINED_ROUTE_KEYS = ("$connect", "$disconnect", "$default")

_STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_VARIABLE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_VARIABLE_VALUE = re.compile(r"^[A-Za-z0-9\-._~:/?#&=,]{1,2048}$")
_IDENTITY_SOURCE = re.compile(
    r"^(route\.request\.header\.[^\s.][^\s]*|route\.request\.querystring\.[^\s.][^\s]*"
    r"|stageVariables\.[A-Za-z0-9_]+|context\.[A-Za-z0-9_.]+)$")


_T = TypeVar("_T")


def _find(table: Mapping[str, _T], key: str, kind: str, label: Optional[str] = None) -> _T:
    """``table[key]``, or API Gateway's ``NotFoundException`` for a ``kind`` resource."""
    try:
        return table[key]
    except KeyError:
        raise NotFoundException(f"Invalid {label or kind} identifier specified {key}",
                                resource_type=kind) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Quotas:
    """API Gateway's WebSocket quotas (reference §6.1); all adjustable here."""

    max_stages_per_api: int = 10
    """Stages per API: 10 (increasable in AWS)."""
    max_routes_per_api: int = 300
    max_integrations_per_api: int = 300
    max_authorizers_per_api: int = 10
    max_stage_variables: int = 100
    """Stage variables per stage (HTTP API quota table; WebSocket's is unpublished)."""
    account_rate_limit: float = 10_000.0
    """Account-level steady rate, requests per second (all APIs)."""
    account_burst_limit: int = 5_000
    """Account-level token bucket size."""
    new_connections_per_second: float = 500.0
    """New WebSocket connections per second per account (bucket size the same)."""


_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class GatewayChange:
    """What one mutating ``Gateway`` call touched, told to the observers
    (see :meth:`Gateway.observe`) once the call ends."""

    operation: str
    """The ``Gateway`` method called, e.g. ``"create_route"``."""
    api_id: str
    """The API it changed (for ``create_api``, the new API's id)."""


GatewayObserver = Callable[[GatewayChange], None]

_M = TypeVar("_M", bound=Callable[..., Any])


def _mutation(method: _M) -> _M:
    """Mark a ``Gateway`` method that changes state: it runs under the gateway's
    ``lock``, and when the outermost marked call ends (returned or raised, since a
    failed call may have changed something first) every observer gets a
    :class:`GatewayChange` naming the method and the API: the ``api_id``
    argument, or the id of the ``Api`` returned."""
    operation = method.__name__

    @functools.wraps(method)
    def run(self: "Gateway", *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._depth += 1
            result: Any = None
            try:
                result = method(self, *args, **kwargs)
                return result
            finally:
                self._depth -= 1
                api_id = result.api_id if isinstance(result, Api) else (
                    args[0] if args else kwargs.get("api_id"))
                if self._depth == 0 and isinstance(api_id, str):
                    change = GatewayChange(operation=operation, api_id=api_id)
                    for observer in self._observers:
                        observer(change)

    return cast(_M, run)


class _ApiState:
    """Everything one API holds, mutable; only the Gateway touches it."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.routes: dict[str, Route] = {}
        self.integrations: dict[str, Integration] = {}
        self.integration_responses: dict[str, dict[str, IntegrationResponse]] = {}
        self.route_responses: dict[str, dict[str, RouteResponse]] = {}
        self.authorizers: dict[str, Authorizer] = {}
        self.deployments: dict[str, Deployment] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.stages: dict[str, Stage] = {}


SettingsInput = Union[RouteSettings, Mapping[str, Any]]

_SETTINGS_KEYS = {
    "datatraceenabled": "data_trace_enabled",
    "detailedmetricsenabled": "detailed_metrics_enabled",
    "metricsenabled": "detailed_metrics_enabled",
    "logginglevel": "logging_level",
    "throttlingburstlimit": "throttling_burst_limit",
    "throttlingratelimit": "throttling_rate_limit",
}


class Gateway:
    """An in-memory API Gateway (v2, WebSocket) control plane for one account/region."""

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        quotas: Quotas = Quotas(),
        rng: Optional[random.Random] = None,
        clock: Optional[Callable[[], datetime]] = None,
        lock: Optional[contextlib.AbstractContextManager[Any]] = None,
    ) -> None:
        self._lock = lock if lock is not None else contextlib.nullcontext()
        self._depth = 0  # marked calls in progress (see _mutation)
        self._observers: list[GatewayObserver] = []
        self.region = region
        self.account_id = account_id
        self.quotas = quotas
        self.ids = IdSource(rng)
        self._clock = clock
        self._apis: dict[str, _ApiState] = {}
        self._account_buckets: Optional[tuple[Quotas, AccountBuckets]] = None

    # -- what the data plane reads -------------------------------------------

    def find_stage(self, api_id: str, stage_name: str) -> Optional[Stage]:
        """The stage, or ``None`` when the API or the stage does not exist
        (``get_stage`` without its exception: every message asks)."""
        state = self._apis.get(api_id)
        return state.stages.get(stage_name) if state is not None else None

    def account_buckets(self) -> AccountBuckets:
        """The account's throttles, shared by every Router of this Gateway;
        made anew when ``quotas`` is replaced."""
        made = self._account_buckets
        if made is None or made[0] is not self.quotas:
            q = self.quotas
            made = self._account_buckets = (q, AccountBuckets(
                rate=q.account_rate_limit, burst=q.account_burst_limit,
                connections_per_second=q.new_connections_per_second))
        return made[1]

    # -- helpers -------------------------------------------------------------

    def _now(self, now: Optional[datetime]) -> datetime:
        if now is not None:
            return now
        if self._clock is None:
            raise RouterUsageError(
                "no time given: pass now=<aware datetime> or build the Gateway "
                "with clock=<callable returning one>")
        return self._clock()

    def _state(self, api_id: str) -> _ApiState:
        try:
            return self._apis[api_id]
        except KeyError:
            raise NotFoundException(
                f"Invalid API identifier specified {self.account_id}:{api_id}",
                resource_type="Api") from None

    def _unique(self, taken: Iterable[str], make: Callable[[], str]) -> str:
        existing = set(taken)
        while True:
            value = make()
            if value not in existing:
                return value

    # -- APIs ----------------------------------------------------------------

    @_mutation
    def create_api(
        self,
        *,
        name: str,
        route_selection_expression: str,
        protocol_type: str = "WEBSOCKET",
        description: Optional[str] = None,
        api_key_selection_expression: str = "$request.header.x-api-key",
        now: Optional[datetime] = None,
    ) -> Api:
        """Create a WebSocket API. ``route_selection_expression`` is required."""
        if protocol_type != "WEBSOCKET":
            raise BadRequestException(
                f"Invalid protocolType {protocol_type!r}: framer runs WEBSOCKET APIs only")
        if not name:
            raise BadRequestException("Invalid name: an API needs a non-empty name")
        _selection.parse(route_selection_expression)
        _check_api_key_expression(api_key_selection_expression)
        api_id = self._unique(self._apis, self.ids.api_id)
        api = Api(
            api_id=api_id,
            name=name,
            route_selection_expression=route_selection_expression,
            api_endpoint=f"wss://{api_id}.execute-api.{self.region}.amazonaws.com",
            created_date=self._now(now),
            api_key_selection_expression=api_key_selection_expression,
            description=description,
        )
        self._apis[api_id] = _ApiState(api)
        return api

    def get_api(self, api_id: str) -> Api:
        """The API, or ``NotFoundException``."""
        return self._state(api_id).api

    def get_apis(self) -> list[Api]:
        """Every API, oldest first."""
        return [s.api for s in self._apis.values()]

    @_mutation
    def update_api(
        self,
        api_id: str,
        *,
        name: Optional[str] = None,
        route_selection_expression: Optional[str] = None,
        description: Optional[str] = None,
    ) -> Api:
        """Change the API's name, description or route selection expression
        (the expression reaches clients with the next deployment)."""
        state = self._state(api_id)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if route_selection_expression is not None:
            _selection.parse(route_selection_expression)
            changes["route_selection_expression"] = route_selection_expression
        if description is not None:
            changes["description"] = description
        state.api = replace(state.api, **changes)
        return state.api

    @_mutation
    def delete_api(self, api_id: str) -> None:
        """Delete the API with everything in it."""
        self._state(api_id)
        del self._apis[api_id]

    # -- integrations --------------------------------------------------------

    @_mutation
    def create_integration(
        self,
        api_id: str,
        *,
        integration_type: Union[IntegrationType, str],
        handler: Optional[Handler] = None,
        integration_uri: Optional[str] = None,
        integration_method: Optional[str] = None,
        timeout_in_millis: int = 29_000,
        description: Optional[str] = None,
        request_templates: Optional[Mapping[str, str]] = None,
        template_selection_expression: Optional[str] = None,
    ) -> Integration:
        """Create an integration.

        - ``AWS_PROXY``: ``handler`` is a Python callable ``(event, context)``
          playing the Lambda function (sync or async); ``integration_uri`` is
          made up from its name when not given.
        - ``HTTP_PROXY``: ``integration_uri`` is an ``http(s)://`` URL;
          ``integration_method`` defaults to ``POST``.
        - ``MOCK``: no backend. ``request_templates["$default"]`` may be
          ``'{"statusCode": 403}'`` to choose the ``$connect`` status.

        ``timeout_in_millis`` must be 50..29000 (WebSocket quota).
        """
        state = self._state(api_id)
        if len(state.integrations) >= self.quotas.max_integrations_per_api:
            raise TooManyRequestsException(
                f"Maximum number of integrations ({self.quotas.max_integrations_per_api}) "
                f"reached for API {api_id}", limit_type="IntegrationsPerApi")
        kind = _integration_type(integration_type)
        _check_timeout(timeout_in_millis)
        uri, method = self._check_target(kind, handler, integration_uri, integration_method)
        integration = Integration(
            integration_id=self._unique(state.integrations, self.ids.resource_id),
            integration_type=kind,
            timeout_in_millis=timeout_in_millis,
            integration_uri=uri,
            integration_method=method,
            handler=handler,
            description=description,
            request_templates=dict(request_templates or {}),
            template_selection_expression=template_selection_expression,
        )
        state.integrations[integration.integration_id] = integration
        state.integration_responses[integration.integration_id] = {}
        return integration

    def _check_target(
        self,
        kind: IntegrationType,
        handler: Optional[Handler],
        uri: Optional[str],
        method: Optional[str],
    ) -> tuple[Optional[str], Optional[str]]:
        if kind is IntegrationType.AWS_PROXY:
            if handler is None or not callable(handler):
                raise BadRequestException(
                    "Invalid handler: an AWS_PROXY integration needs a Python "
                    "callable handler(event, context)")
            if uri is None:
                uri = self._lambda_uri(handler)
            return uri, method or "POST"
        if handler is not None:
            raise BadRequestException(
                f"Invalid handler: only AWS_PROXY integrations take one, not {kind.value}")
        if kind is IntegrationType.HTTP_PROXY:
            if not uri or not re.match(r"^https?://[^\s/]+", uri):
                raise BadRequestException(
                    f"Invalid integrationUri {uri!r}: HTTP_PROXY needs an "
                    "http:// or https:// URL")
            return uri, (method or "POST").upper()
        return uri, method

    def _lambda_uri(self, handler: Handler) -> str:
        name = re.sub(r"[^A-Za-z0-9_-]", "-", getattr(handler, "__name__", "handler"))
        function = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"
        return (f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/"
                f"functions/{function}/invocations")

    def get_integration(self, api_id: str, integration_id: str) -> Integration:
        """The integration, or ``NotFoundException``."""
        return _find(self._state(api_id).integrations, integration_id, "Integration")

    def get_integrations(self, api_id: str) -> list[Integration]:
        """Every integration of the API."""
        return list(self._state(api_id).integrations.values())

    @_mutation
    def update_integration(
        self,
        api_id: str,
        integration_id: str,
        *,
        handler: Optional[Handler] = None,
        integration_uri: Optional[str] = None,
        integration_method: Optional[str] = None,
        timeout_in_millis: Optional[int] = None,
        description: Optional[str] = None,
    ) -> Integration:
        """Change an integration (reaches clients with the next deployment)."""
        state = self._state(api_id)
        current = self.get_integration(api_id, integration_id)
        if timeout_in_millis is not None:
            _check_timeout(timeout_in_millis)
        new_handler = handler if handler is not None else current.handler
        new_uri = integration_uri if integration_uri is not None else (
            None if handler is not None else current.integration_uri)
        uri, method = self._check_target(
            current.integration_type, new_handler, new_uri,
            integration_method or current.integration_method)
        updated = replace(
            current, handler=new_handler, integration_uri=uri, integration_method=method,
            timeout_in_millis=timeout_in_millis or current.timeout_in_millis,
            description=description if description is not None else current.description)
        state.integrations[integration_id] = updated
        return updated

    @_mutation
    def delete_integration(self, api_id: str, integration_id: str) -> None:
        """Delete an integration no route targets (else ``ConflictException``)."""
        state = self._state(api_id)
        self.get_integration(api_id, integration_id)
        users = [r.route_key for r in state.routes.values()
                 if r.integration_id == integration_id]
        if users:
            raise ConflictException(
                f"Integration {integration_id} is the target of route(s) "
                f"{', '.join(users)}; change their targets first")
        del state.integrations[integration_id]
        del state.integration_responses[integration_id]

    @_mutation
    def create_integration_response(
        self,
        api_id: str,
        integration_id: str,
        *,
        integration_response_key: str,
        response_templates: Optional[Mapping[str, str]] = None,
    ) -> IntegrationResponse:
        """Add an integration response (framer uses the ``$default`` one of a MOCK)."""
        state = self._state(api_id)
        self.get_integration(api_id, integration_id)
        responses = state.integration_responses[integration_id]
        if any(r.integration_response_key == integration_response_key
               for r in responses.values()):
            raise ConflictException(
                f"Integration response with key {integration_response_key} already "
                f"exists for integration {integration_id}")
        response = IntegrationResponse(
            integration_response_id=self._unique(responses, self.ids.resource_id),
            integration_response_key=integration_response_key,
            response_templates=dict(response_templates or {}))
        responses[response.integration_response_id] = response
        return response

    def get_integration_responses(
            self, api_id: str, integration_id: str) -> list[IntegrationResponse]:
        """The integration's responses."""
        state = self._state(api_id)
        self.get_integration(api_id, integration_id)
        return list(state.integration_responses[integration_id].values())

    # -- authorizers ---------------------------------------------------------

    @_mutation
    def create_authorizer(
        self,
        api_id: str,
        *,
        name: str,
        identity_source: Iterable[str],
        handler: Optional[Handler] = None,
        authorizer_type: str = "REQUEST",
        authorizer_uri: Optional[str] = None,
    ) -> Authorizer:
        """Create a Lambda REQUEST authorizer run by ``handler(event, context)``.

        ``identity_source`` entries look like ``route.request.header.Auth`` or
        ``route.request.querystring.token``; each must be present and non-empty
        on the request or the client gets 401 without the handler being called.
        """
        state = self._state(api_id)
        if authorizer_type != "REQUEST":
            raise BadRequestException(
                f"Invalid authorizerType {authorizer_type!r}: WebSocket APIs support "
                "REQUEST authorizers only (JWT is for HTTP APIs)")
        if len(state.authorizers) >= self.quotas.max_authorizers_per_api:
            raise TooManyRequestsException(
                f"Maximum number of authorizers ({self.quotas.max_authorizers_per_api}) "
                f"reached for API {api_id}", limit_type="AuthorizersPerApi")
        if not name:
            raise BadRequestException("Invalid name: an authorizer needs a name")
        if handler is None or not callable(handler):
            raise BadRequestException(
                "Invalid handler: a REQUEST authorizer needs a Python callable "
                "handler(event, context)")
        sources = tuple(identity_source)
        for source in sources:
            if not _IDENTITY_SOURCE.fullmatch(source):
                raise BadRequestException(
                    f"Invalid identitySource {source!r}: use route.request.header.<name>, "
                    "route.request.querystring.<name>, stageVariables.<name> or "
                    "context.<name>")
        authorizer = Authorizer(
            authorizer_id=self._unique(state.authorizers, self.ids.resource_id),
            name=name,
            identity_source=sources,
            handler=handler,
            authorizer_uri=authorizer_uri or self._lambda_uri(handler),
        )
        state.authorizers[authorizer.authorizer_id] = authorizer
        return authorizer

    def get_authorizer(self, api_id: str, authorizer_id: str) -> Authorizer:
        """The authorizer, or ``NotFoundException``."""
        return _find(self._state(api_id).authorizers, authorizer_id, "Authorizer")

    def get_authorizers(self, api_id: str) -> list[Authorizer]:
        """Every authorizer of the API."""
        return list(self._state(api_id).authorizers.values())

    @_mutation
    def delete_authorizer(self, api_id: str, authorizer_id: str) -> None:
        """Delete an authorizer no route uses (else ``ConflictException``)."""
        state = self._state(api_id)
        self.get_authorizer(api_id, authorizer_id)
        users = [r.route_key for r in state.routes.values()
                 if r.authorizer_id == authorizer_id]
        if users:
            raise ConflictException(
                f"Authorizer {authorizer_id} is used by route(s) {', '.join(users)}")
        del state.authorizers[authorizer_id]

    # -- routes --------------------------------------------------------------

    @_mutation
    def create_route(
        self,
        api_id: str,
        *,
        route_key: str,
        target: Optional[str] = None,
        authorization_type: Union[AuthorizationType, str] = AuthorizationType.NONE,
        authorizer_id: Optional[str] = None,
        route_response_selection_expression: Optional[str] = None,
        api_key_required: bool = False,
        operation_name: Optional[str] = None,
    ) -> Route:
        """Create a route. ``target`` is ``"integrations/{integrationId}"``.

        A duplicate key is a ``ConflictException``; authorization anywhere but
        ``$connect`` is a ``BadRequestException`` (API Gateway's rule).
        """
        state = self._state(api_id)
        if len(state.routes) >= self.quotas.max_routes_per_api:
            raise TooManyRequestsException(
                f"Maximum number of routes ({self.quotas.max_routes_per_api}) reached "
                f"for API {api_id}", limit_type="RoutesPerApi")
        _check_route_key(route_key)
        if any(r.route_key == route_key for r in state.routes.values()):
            raise ConflictException(f"Route with key {route_key} already exists for this API")
        route = Route(route_id=self._unique(state.routes, self.ids.resource_id),
                      route_key=route_key)
        route = self._configure_route(
            state, route, target=target, authorization_type=authorization_type,
            authorizer_id=authorizer_id,
            route_response_selection_expression=route_response_selection_expression,
            api_key_required=api_key_required, operation_name=operation_name)
        state.routes[route.route_id] = route
        state.route_responses[route.route_id] = {}
        return route

    def _configure_route(self, state: _ApiState, route: Route, **changes: Any) -> Route:
        target = changes.get("target", route.target)
        if target is not None:
            prefix = "integrations/"
            if not target.startswith(prefix):
                raise BadRequestException(
                    f"Invalid target {target!r}: it must be integrations/<integrationId>")
            if target[len(prefix):] not in state.integrations:
                raise NotFoundException(
                    f"Invalid target {target!r}: no integration "
                    f"{target[len(prefix):]} in API {state.api.api_id}",
                    resource_type="Integration")
        try:
            auth = AuthorizationType(changes.get("authorization_type",
                                                 route.authorization_type))
        except ValueError:
            raise BadRequestException(
                f"Invalid authorizationType {changes['authorization_type']!r}: "
                "must be NONE, AWS_IAM or CUSTOM") from None
        authorizer_id = changes.get("authorizer_id", route.authorizer_id)
        if auth is not AuthorizationType.NONE and route.route_key != "$connect":
            raise BadRequestException(
                "Currently, authorization is restricted to the $connect route only")
        if auth is AuthorizationType.CUSTOM:
            if authorizer_id is None:
                raise BadRequestException(
                    "Invalid authorizerId: authorizationType CUSTOM needs an authorizerId")
            _find(state.authorizers, authorizer_id, "Authorizer")
        elif authorizer_id is not None:
            raise BadRequestException(
                f"Invalid authorizerId {authorizer_id!r}: only CUSTOM authorization "
                "uses an authorizer")
        rrse = changes.get("route_response_selection_expression",
                           route.route_response_selection_expression)
        if rrse is not None and rrse != "$default":
            raise BadRequestException(
                f"Invalid routeResponseSelectionExpression {rrse!r}: WebSocket APIs "
                "support only $default")
        filtered = {k: v for k, v in changes.items() if k != "authorization_type"}
        return replace(route, authorization_type=auth, **filtered)

    def get_route(self, api_id: str, route_id: str) -> Route:
        """The route, or ``NotFoundException``."""
        return _find(self._state(api_id).routes, route_id, "Route")

    def get_routes(self, api_id: str) -> list[Route]:
        """Every route of the API."""
        return list(self._state(api_id).routes.values())

    @_mutation
    def update_route(self, api_id: str, route_id: str, **changes: Any) -> Route:
        """Change a route: any of ``target``, ``authorization_type``,
        ``authorizer_id``, ``route_response_selection_expression``,
        ``api_key_required``, ``operation_name``, ``route_key``."""
        state = self._state(api_id)
        route = self.get_route(api_id, route_id)
        allowed = {"target", "authorization_type", "authorizer_id", "route_key",
                   "route_response_selection_expression", "api_key_required",
                   "operation_name"}
        unknown = set(changes) - allowed
        if unknown:
            raise BadRequestException(f"Invalid field(s) for UpdateRoute: {sorted(unknown)}")
        if "route_key" in changes and changes["route_key"] != route.route_key:
            key = changes.pop("route_key")
            _check_route_key(key)
            if any(r.route_key == key for r in state.routes.values()):
                raise ConflictException(f"Route with key {key} already exists for this API")
            route = replace(route, route_key=key)
        changes.pop("route_key", None)
        updated = self._configure_route(state, route, **changes)
        state.routes[route_id] = updated
        return updated

    @_mutation
    def delete_route(self, api_id: str, route_id: str) -> None:
        """Delete a route (reaches clients with the next deployment)."""
        state = self._state(api_id)
        self.get_route(api_id, route_id)
        del state.routes[route_id]
        del state.route_responses[route_id]

    @_mutation
    def create_route_response(
        self, api_id: str, route_id: str, *, route_response_key: str = "$default",
    ) -> RouteResponse:
        """Add the route's ``$default`` route response."""
        state = self._state(api_id)
        self.get_route(api_id, route_id)
        if route_response_key != "$default":
            raise BadRequestException(
                f"Invalid routeResponseKey {route_response_key!r}: WebSocket APIs "
                "support only $default")
        responses = state.route_responses[route_id]
        if responses:
            raise ConflictException(
                f"Route response with key $default already exists for route {route_id}")
        response = RouteResponse(
            route_response_id=self._unique(responses, self.ids.resource_id),
            route_response_key=route_response_key)
        responses[response.route_response_id] = response
        return response

    def get_route_responses(self, api_id: str, route_id: str) -> list[RouteResponse]:
        """The route's responses."""
        state = self._state(api_id)
        self.get_route(api_id, route_id)
        return list(state.route_responses[route_id].values())

    @_mutation
    def delete_route_response(
            self, api_id: str, route_id: str, route_response_id: str) -> None:
        """Delete a route response."""
        state = self._state(api_id)
        self.get_route(api_id, route_id)
        _find(state.route_responses[route_id], route_response_id, "RouteResponse")
        del state.route_responses[route_id][route_response_id]

    # -- deployments ---------------------------------------------------------

    @_mutation
    def create_deployment(
        self,
        api_id: str,
        stage_name: Optional[str] = None,
        description: Optional[str] = None,
        *,
        now: Optional[datetime] = None,
    ) -> Deployment:
        """Snapshot the API; with ``stage_name``, point that (existing) stage at it."""
        state = self._state(api_id)
        if not state.routes:
            raise BadRequestException(
                "At least one route is required before deploying the Api")
        if description is not None and len(description) > 1024:
            raise BadRequestException(
                f"Invalid description: {len(description)} characters, at most 1024")
        if stage_name is not None:
            self.get_stage(api_id, stage_name)
        when = self._now(now)
        deployment = Deployment(
            deployment_id=self._unique(state.deployments, self.ids.deployment_id),
            created_date=when, description=description)
        state.deployments[deployment.deployment_id] = deployment
        state.snapshots[deployment.deployment_id] = Snapshot(
            api_id=api_id,
            route_selection_expression=state.api.route_selection_expression,
            routes={r.route_key: r for r in state.routes.values()},
            integrations=dict(state.integrations),
            integration_responses={k: dict(v) for k, v in
                                   state.integration_responses.items()},
            route_responses={k: dict(v) for k, v in state.route_responses.items()},
            authorizers=dict(state.authorizers),
        )
        if stage_name is not None:
            self.update_stage(api_id, stage_name,
                              deployment_id=deployment.deployment_id, now=when)
        return deployment

    def get_deployment(self, api_id: str, deployment_id: str) -> Deployment:
        """The deployment, or ``NotFoundException``."""
        return _find(self._state(api_id).deployments, deployment_id, "Deployment")

    def get_deployments(self, api_id: str) -> list[Deployment]:
        """Every deployment of the API, oldest first."""
        return list(self._state(api_id).deployments.values())

    def get_snapshot(self, api_id: str, deployment_id: str) -> Snapshot:
        """What the deployment froze (routes, integrations, authorizers...)."""
        self.get_deployment(api_id, deployment_id)
        return self._state(api_id).snapshots[deployment_id]

    @_mutation
    def delete_deployment(self, api_id: str, deployment_id: str) -> None:
        """Delete a deployment no stage points at (else ``BadRequestException``)."""
        state = self._state(api_id)
        self.get_deployment(api_id, deployment_id)
        users = [s.stage_name for s in state.stages.values()
                 if s.deployment_id == deployment_id]
        if users:
            raise BadRequestException(
                "Active stages pointing to this deployment must be moved or deleted "
                f"(deployment {deployment_id} is used by stage(s) {', '.join(users)})")
        del state.deployments[deployment_id]
        del state.snapshots[deployment_id]

    # -- stages --------------------------------------------------------------

    @_mutation
    def create_stage(
        self,
        api_id: str,
        stage_name: str,
        deployment_id: Optional[str] = None,
        *,
        description: Optional[str] = None,
        default_route_settings: Optional[SettingsInput] = None,
        route_settings: Optional[Mapping[str, SettingsInput]] = None,
        stage_variables: Optional[Mapping[str, str]] = None,
        tags: Optional[Mapping[str, str]] = None,
        now: Optional[datetime] = None,
    ) -> Stage:
        """Create a stage (at most ``quotas.max_stages_per_api``, 10 by default).

        ``default_route_settings`` starts from the seed's defaults (throttling
        5000 burst / 10000.0 rate, metrics and data trace off); the fields you
        give replace those.
        """
        state = self._state(api_id)
        _check_stage_name(stage_name)
        if stage_name in state.stages:
            raise ConflictException(f"Stage {stage_name} already exists for this API")
        if len(state.stages) >= self.quotas.max_stages_per_api:
            raise TooManyRequestsException(
                f"Maximum number of stages ({self.quotas.max_stages_per_api}) reached "
                f"for API {api_id}: delete or reuse a stage (update_stage) before "
                f"creating {stage_name!r}", limit_type="StagesPerApi")
        if deployment_id is not None:
            self.get_deployment(api_id, deployment_id)
        defaults = DEFAULT_STAGE_ROUTE_SETTINGS
        if default_route_settings is not None:
            defaults = defaults.merged(self._settings(default_route_settings,
                                                      "defaultRouteSettings"))
        when = self._now(now)
        stage = Stage(
            stage_name=stage_name,
            created_date=when,
            last_updated_date=when,
            deployment_id=deployment_id,
            default_route_settings=defaults,
            route_settings={k: self._settings(v, f"routeSettings[{k!r}]")
                            for k, v in (route_settings or {}).items()},
            stage_variables=self._variables(stage_variables or {}),
            description=description,
            tags=dict(tags or {}),
        )
        state.stages[stage_name] = stage
        return stage

    def get_stage(self, api_id: str, stage_name: str) -> Stage:
        """The stage, or ``NotFoundException``."""
        return _find(self._state(api_id).stages, stage_name, "Stage", label="stage")

    def get_stages(self, api_id: str) -> list[Stage]:
        """Every stage of the API, oldest first."""
        return list(self._state(api_id).stages.values())

    @_mutation
    def update_stage(
        self,
        api_id: str,
        stage_name: str,
        *,
        deployment_id: Optional[str] = None,
        description: Optional[str] = None,
        default_route_settings: Optional[SettingsInput] = None,
        route_settings: Optional[Mapping[str, SettingsInput]] = None,
        stage_variables: Optional[Mapping[str, str]] = None,
        now: Optional[datetime] = None,
    ) -> Stage:
        """Change a stage; takes effect for the next connection/message.

        - ``deployment_id``: point the stage at another deployment (promotion is
          ``update_stage(api, "prod", deployment_id=<test's deployment id>)``);
        - ``default_route_settings``: the fields given replace the current ones;
        - ``route_settings``: merged per route key, field by field (remove a
          route's settings with ``delete_route_settings``);
        - ``stage_variables``: replaces the whole map.
        """
        state = self._state(api_id)
        stage = self.get_stage(api_id, stage_name)
        changes: dict[str, Any] = {}
        if deployment_id is not None:
            self.get_deployment(api_id, deployment_id)
            changes["deployment_id"] = deployment_id
        if description is not None:
            changes["description"] = description
        if default_route_settings is not None:
            changes["default_route_settings"] = stage.default_route_settings.merged(
                self._settings(default_route_settings, "defaultRouteSettings"))
        if route_settings is not None:
            merged = dict(stage.route_settings)
            for key, value in route_settings.items():
                new = self._settings(value, f"routeSettings[{key!r}]")
                merged[key] = merged[key].merged(new) if key in merged else new
            changes["route_settings"] = merged
        if stage_variables is not None:
            changes["stage_variables"] = self._variables(stage_variables)
        changes["last_updated_date"] = self._now(now)
        updated = replace(stage, **changes)
        state.stages[stage_name] = updated
        return updated

    @_mutation
    def delete_route_settings(self, api_id: str, stage_name: str, route_key: str) -> None:
        """Remove a route's settings from a stage (it falls back to the defaults)."""
        state = self._state(api_id)
        stage = self.get_stage(api_id, stage_name)
        if route_key not in stage.route_settings:
            raise NotFoundException(
                f"No route settings for route key {route_key} in stage {stage_name}",
                resource_type="RouteSettings")
        remaining = {k: v for k, v in stage.route_settings.items() if k != route_key}
        state.stages[stage_name] = replace(stage, route_settings=remaining)

    @_mutation
    def delete_stage(self, api_id: str, stage_name: str) -> None:
        """Delete a stage; new connections to it are refused."""
        state = self._state(api_id)
        self.get_stage(api_id, stage_name)
        del state.stages[stage_name]

    # -- validation helpers ----------------------------------------------------

    def _settings(self, value: SettingsInput, field: str) -> RouteSettings:
        if isinstance(value, RouteSettings):
            settings = value
        elif isinstance(value, Mapping):
            kwargs: dict[str, Any] = {}
            for key, item in value.items():
                name = _SETTINGS_KEYS.get(str(key).lower())
                if name is None:
                    raise BadRequestException(
                        f"Invalid {field}: unknown member {key!r}")
                kwargs[name] = item
            if "logging_level" in kwargs:
                try:
                    kwargs["logging_level"] = LoggingLevel(kwargs["logging_level"])
                except ValueError:
                    raise BadRequestException(
                        f"Invalid {field}.loggingLevel {kwargs['logging_level']!r}: "
                        "must be ERROR, INFO or OFF") from None
            settings = RouteSettings(**kwargs)
        else:
            raise BadRequestException(f"Invalid {field}: expected an object")
        burst, rate = settings.throttling_burst_limit, settings.throttling_rate_limit
        if burst is not None:
            if isinstance(burst, bool) or not isinstance(burst, int) or burst < 0:
                raise BadRequestException(
                    f"Invalid {field}.throttlingBurstLimit {burst!r}: must be an "
                    "integer >= 0")
            if burst > self.quotas.account_burst_limit:
                raise BadRequestException(
                    f"Invalid {field}.throttlingBurstLimit {burst}: exceeds the "
                    f"account burst limit {self.quotas.account_burst_limit}")
        if rate is not None:
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 0:
                raise BadRequestException(
                    f"Invalid {field}.throttlingRateLimit {rate!r}: must be a "
                    "number >= 0")
            if rate > self.quotas.account_rate_limit:
                raise BadRequestException(
                    f"Invalid {field}.throttlingRateLimit {rate}: exceeds the "
                    f"account rate limit {self.quotas.account_rate_limit}")
            settings = replace(settings, throttling_rate_limit=float(rate))
        for flag in ("data_trace_enabled", "detailed_metrics_enabled"):
            got = getattr(settings, flag)
            if got is not None and not isinstance(got, bool):
                raise BadRequestException(f"Invalid {field}.{flag}: {got!r} is not a boolean")
        return settings

    def _variables(self, variables: Mapping[str, str]) -> dict[str, str]:
        if len(variables) > self.quotas.max_stage_variables:
            raise BadRequestException(
                f"Invalid stageVariables: {len(variables)} variables, at most "
                f"{self.quotas.max_stage_variables}")
        for name, value in variables.items():
            if not isinstance(name, str) or not _VARIABLE_NAME.fullmatch(name):
                raise BadRequestException(
                    f"Invalid stage variable name {name!r}: use 1-64 letters, digits "
                    "or underscores")
            if not isinstance(value, str) or not _VARIABLE_VALUE.fullmatch(value):
                raise BadRequestException(
                    f"Invalid stage variable value {value!r} for {name}: use 1-2048 "
                    "characters from A-Z a-z 0-9 - . _ ~ : / ? # & = ,")
        return dict(variables)

    # -- change notification -------------------------------------------------

    @property
    def lock(self) -> contextlib.AbstractContextManager[Any]:
        """The ``lock=`` given (a re-entrant one, such as ``threading.RLock()``,
        when threads share the gateway), held around every mutating call and its
        observers; hold it to read several things consistently. By default a
        no-op: the gateway itself takes no lock and reads no clock."""
        return self._lock

    def observe(self, observer: GatewayObserver) -> None:
        """Call ``observer(change)`` after every mutating call (see
        :class:`GatewayChange`), under :attr:`lock`, in the calling thread; an
        exception it raises reaches the caller of the mutation."""
        with self._lock:
            self._observers.append(observer)


def _integration_type(value: Union[IntegrationType, str]) -> IntegrationType:
    try:
        return IntegrationType(value)
    except ValueError:
        if value in ("AWS", "HTTP"):
            raise BadRequestException(
                f"Invalid integrationType {value!r}: non-proxy integrations need VTL "
                "mapping templates, which framer does not run; use AWS_PROXY, "
                "HTTP_PROXY or MOCK") from None
        raise BadRequestException(
            f"Invalid integrationType {value!r}: must be AWS_PROXY, HTTP_PROXY or "
            "MOCK") from None


def _check_timeout(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 50 <= value <= 29_000:
        raise BadRequestException(
            f"Invalid timeoutInMillis {value!r}: WebSocket integrations allow 50 to "
            "29000 milliseconds")


def _check_route_key(key: str) -> None:
    if not isinstance(key, str) or not key:
        raise BadRequestException("Invalid routeKey: it must be a non-empty string")
    if key.startswith("$") and key not in PREDEFINED_ROUTE_KEYS:
        raise BadRequestException(
            f"Invalid routeKey {key!r}: the $ prefix is reserved for $connect, "
            "$disconnect and $default")


def _check_stage_name(name: str) -> None:
    if not isinstance(name, str) or not (name == "$default" or _STAGE_NAME.fullmatch(name)):
        raise BadRequestException(
            f"Invalid stageName {name!r}: use 1-128 letters, digits, hyphens or "
            "underscores, or $default")


def _check_api_key_expression(expression: str) -> None:
    allowed = ("$request.header.x-api-key", "$context.authorizer.usageIdentifierKey")
    if expression not in allowed:
        raise BadRequestException(
            f"Invalid apiKeySelectionExpression {expression!r}: must be one of "
            f"{', '.join(allowed)}")
