"""The ``Gateway``'s routes and route responses (a mixin).

A route maps a route key (``$connect``, ``$default``, ``sendMessage``...) to an
integration, and on ``$connect`` to its authorization. ``Routes`` holds the
operations on them and the rules a route's target, authorization and
response selection must follow; the ``Gateway`` inherits it, and its state is
the ``Gateway``'s (see ``_tables``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional, Union

from ._changes import mutation
from ._checks import check_route_key, find
from ._errors import (
    BadRequestException,
    ConflictException,
    NotFoundException,
    TooManyRequestsException,
)
from ._model import AuthorizationType, Route, RouteResponse
from ._tables import ApiState, Tables


class Routes(Tables):
    """create/get/update/delete_route and the route responses."""

    @mutation
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
        self._check_new_key(state, route_key)
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

    def _check_new_key(self, state: ApiState, key: str) -> None:
        """A key for a new or renamed route: well formed, and no other route's."""
        check_route_key(key)
        if any(r.route_key == key for r in state.routes.values()):
            raise ConflictException(f"Route with key {key} already exists for this API")

    def _configure_route(self, state: ApiState, route: Route, **changes: Any) -> Route:
        """``route`` with ``changes``, checked against the API: the target is one
        of its integrations; authorization only on ``$connect``, ``CUSTOM``
        with one of its authorizers; route response selection only ``$default``."""
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
            find(state.authorizers, authorizer_id, "Authorizer")
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
        return find(self._state(api_id).routes, route_id, "Route")

    def get_routes(self, api_id: str) -> list[Route]:
        """Every route of the API."""
        return list(self._state(api_id).routes.values())

    @mutation
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
            self._check_new_key(state, key)
            route = replace(route, route_key=key)
        changes.pop("route_key", None)
        updated = self._configure_route(state, route, **changes)
        state.routes[route_id] = updated
        return updated

    @mutation
    def delete_route(self, api_id: str, route_id: str) -> None:
        """Delete a route (reaches clients with the next deployment)."""
        state = self._state(api_id)
        self.get_route(api_id, route_id)
        del state.routes[route_id]
        del state.route_responses[route_id]

    @mutation
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

    @mutation
    def delete_route_response(
            self, api_id: str, route_id: str, route_response_id: str) -> None:
        """Delete a route response."""
        state = self._state(api_id)
        self.get_route(api_id, route_id)
        find(state.route_responses[route_id], route_response_id, "RouteResponse")
        del state.route_responses[route_id][route_response_id]
