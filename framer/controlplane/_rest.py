"""The ``apigatewayv2`` REST-JSON API (WebSocket APIs) over a ``Gateway``.

What the AWS SDKs and the AWS CLI send to ``https://apigateway.REGION.amazonaws.com``
(botocore's ``apigatewayv2`` service model, 2018-11-29): paths under
``/v2/apis``, camelCase JSON members, a success status per operation (201 for
creates, 200 for reads and updates, 204 for deletes), errors as
``{"message": ...}`` with the exception name in ``x-amzn-ErrorType``. List
calls page with the ``maxResults`` / ``nextToken`` query parameters and answer
``{"items": [...], "nextToken": "..."}``.

Sans-IO like the router: :meth:`ControlPlane.handle` takes a parsed request
and returns ``(status, headers, body)``. Signatures (SigV4) are not checked:
any credentials work, as with other local emulators.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import uuid
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence
from urllib.parse import parse_qs, unquote

from framer.router import (
    ApiGatewayError,
    BadRequestException,
    Gateway,
    IntegrationType,
    NotFoundException,
)

from ._functions import FunctionRegistry

__all__ = ["ControlPlane", "Response"]

log = logging.getLogger("framer.controlplane")

Response = tuple[int, list[tuple[str, str]], bytes]

#: GetApis & co.: how many items a page holds when ``maxResults`` is not given.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


class _Body:
    """A request's JSON members, with type checks that name the member."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def _get(self, name: str, kinds: tuple[type, ...], what: str, required: bool) -> Any:
        """The member's value, ``None`` when absent, else a type check."""
        value = self.data.get(name)
        if value is None:
            if required:
                raise BadRequestException(f"Invalid input: {name} is required")
            return None
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            raise BadRequestException(
                f"Invalid {name}: expected {what}, got {json.dumps(value)[:80]}")
        return value

    def text(self, name: str, *, required: bool = False) -> Optional[str]:
        return self._get(name, (str,), "a string", required)  # type: ignore[no-any-return]

    def integer(self, name: str) -> Optional[int]:
        return self._get(name, (int,), "an integer", False)  # type: ignore[no-any-return]

    def flag(self, name: str) -> Optional[bool]:
        return self._get(name, (bool,), "a boolean", False)  # type: ignore[no-any-return]

    def obj(self, name: str) -> Optional[dict[str, Any]]:
        return self._get(name, (dict,), "an object", False)  # type: ignore[no-any-return]

    def strings(self, name: str, *, required: bool = False) -> Optional[list[str]]:
        value = self._get(name, (list,), "a list of strings", required)
        if value is not None and not all(isinstance(v, str) for v in value):
            raise BadRequestException(f"Invalid {name}: expected a list of strings")
        return value  # type: ignore[no-any-return]

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None


Handler = Callable[["_Request"], tuple[int, Any]]


class _Request:
    """One parsed control-plane request."""

    def __init__(self, method: str, params: dict[str, str], query: dict[str, list[str]],
                 body: _Body, host: Optional[str]) -> None:
        self.method = method
        self.params = params
        self.query = query
        self.body = body
        self.host = host

    def __getitem__(self, name: str) -> str:
        return self.params[name]


class ControlPlane:
    """Serves the ``apigatewayv2`` operations of WebSocket APIs from ``gateway``.

    ``functions`` maps the Lambda function names in ``integrationUri`` /
    ``authorizerUri`` to Python handlers. ``endpoint_host`` is the
    ``HOST:PORT`` put in ``apiEndpoint`` when a request has no ``Host`` header.
    """

    def __init__(self, gateway: Gateway, functions: FunctionRegistry,
                 *, endpoint_host: str = "127.0.0.1:8080") -> None:
        self.gateway = gateway
        self.functions = functions
        self.endpoint_host = endpoint_host
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self._install()

    # -- dispatch ------------------------------------------------------------------

    @staticmethod
    def handles(path: str) -> bool:
        """Whether a request path belongs to the control plane (``/v2/...``)."""
        return path == "/v2" or path.startswith("/v2/")

    def _add(self, method: str, pattern: str, op: str, fn: Handler) -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self._routes.append((method, regex, op, fn))

    def handle(self, method: str, target: str, headers: Sequence[tuple[str, str]],
               body: bytes) -> Response:
        """Answer one request: ``(status, headers, body)``."""
        request_id = str(uuid.uuid4())
        path, _, raw_query = target.partition("?")
        host = next((v for k, v in headers if k.lower() == "host"), None)
        op = "-"
        try:
            fn, op, params = self._match(method, path)
            data: Any = {}
            if body.strip():
                try:
                    data = json.loads(body)
                except ValueError:
                    raise BadRequestException("Invalid request body: not JSON") from None
                if not isinstance(data, dict):
                    raise BadRequestException("Invalid request body: expected a JSON object")
            request = _Request(method, params, parse_qs(raw_query, keep_blank_values=True),
                               _Body(data), host)
            with self.gateway.lock:
                status, payload = fn(request)
        except ApiGatewayError as exc:
            status, out_headers, out = exc.to_wire()
            log.info("control %s %s op=%s status=%d %s: %s", method, path, op, status,
                     exc.error_type, exc.message)
            return status, out_headers + [("x-amzn-RequestId", request_id)], out
        except Exception:
            log.exception("control %s %s op=%s failed", method, path, op)
            body_out = json.dumps({"message": "Internal server error"}).encode()
            return 500, [("Content-Type", "application/json"),
                         ("x-amzn-ErrorType", "InternalServerErrorException"),
                         ("x-amzn-RequestId", request_id)], body_out
        log.info("control %s %s op=%s status=%d", method, path, op, status)
        out_headers = [("x-amzn-RequestId", request_id)]
        if status == 204 or payload is None:
            return status, out_headers, b""
        out_headers.append(("Content-Type", "application/json"))
        return status, out_headers, json.dumps(payload).encode("utf-8")

    def _match(self, method: str, path: str) -> tuple[Handler, str, dict[str, str]]:
        path_matched = False
        for verb, regex, op, fn in self._routes:
            match = regex.match(path)
            if match is None:
                continue
            path_matched = True
            if verb == method:
                return fn, op, {k: unquote(v) for k, v in match.groupdict().items()}
        if path_matched:
            raise NotFoundException(
                f"No operation for {method} {path}: framer serves the apigatewayv2 "
                "operations of WebSocket APIs", resource_type="Operation")
        raise NotFoundException(
            f"No operation at {path}: framer serves /v2/apis and what is under it "
            "(WebSocket APIs)", resource_type="Operation")

    # -- shared helpers ------------------------------------------------------------

    def _api_wire(self, api: Any, host: Optional[str]) -> dict[str, Any]:
        out: dict[str, Any] = api.to_wire()
        out["apiEndpoint"] = f"ws://{host or self.endpoint_host}/{api.api_id}"
        return out

    @staticmethod
    def _page(request: _Request, items: Sequence[Any],
              wire: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        raw_max = request.query.get("maxResults", [None])[0]
        size = DEFAULT_PAGE_SIZE
        if raw_max is not None:
            try:
                size = int(raw_max)
            except ValueError:
                size = 0
            if not 1 <= size <= MAX_PAGE_SIZE:
                raise BadRequestException(
                    f"Invalid maxResults {raw_max!r}: must be an integer from 1 to "
                    f"{MAX_PAGE_SIZE}")
        start = 0
        token = request.query.get("nextToken", [None])[0]
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii"))
            except (ValueError, binascii.Error, UnicodeError):
                start = -1
            if start < 0:
                raise BadRequestException(f"Invalid nextToken {token!r}")
        page = items[start:start + size]
        out: dict[str, Any] = {"items": [wire(item) for item in page]}
        if start + size < len(items):
            out["nextToken"] = base64.urlsafe_b64encode(
                str(start + size).encode("ascii")).decode("ascii")
        return out

    def _handler_for(self, uri: Optional[str], field: str) -> Any:
        return self.functions.resolve_uri(uri, field)[1]

    # -- the operations --------------------------------------------------------------

    def _install(self) -> None:  # noqa: C901 - one table of operations
        gw = self.gateway
        add = self._add

        # APIs
        def create_api(r: _Request) -> tuple[int, Any]:
            b = r.body
            protocol = b.text("protocolType", required=True)
            name = b.text("name", required=True)
            rse = b.text("routeSelectionExpression")
            if protocol == "WEBSOCKET" and rse is None:
                raise BadRequestException(
                    "Invalid input: routeSelectionExpression is required for WEBSOCKET "
                    "APIs (e.g. $request.body.action)")
            kwargs: dict[str, Any] = {}
            if b.has("apiKeySelectionExpression"):
                kwargs["api_key_selection_expression"] = b.text("apiKeySelectionExpression")
            api = gw.create_api(name=name or "", route_selection_expression=rse or "",
                                protocol_type=protocol or "", description=b.text("description"),
                                **kwargs)
            return 201, self._api_wire(api, r.host)

        def get_apis(r: _Request) -> tuple[int, Any]:
            return 200, self._page(r, gw.get_apis(), lambda a: self._api_wire(a, r.host))

        def get_api(r: _Request) -> tuple[int, Any]:
            return 200, self._api_wire(gw.get_api(r["apiId"]), r.host)

        def update_api(r: _Request) -> tuple[int, Any]:
            b = r.body
            api = gw.update_api(r["apiId"], name=b.text("name"),
                                route_selection_expression=b.text("routeSelectionExpression"),
                                description=b.text("description"))
            return 200, self._api_wire(api, r.host)

        def delete_api(r: _Request) -> tuple[int, Any]:
            gw.delete_api(r["apiId"])
            return 204, None

        add("POST", "/v2/apis", "CreateApi", create_api)
        add("GET", "/v2/apis", "GetApis", get_apis)
        add("GET", "/v2/apis/{apiId}", "GetApi", get_api)
        add("PATCH", "/v2/apis/{apiId}", "UpdateApi", update_api)
        add("DELETE", "/v2/apis/{apiId}", "DeleteApi", delete_api)

        # Routes
        route_members = {
            "target": ("target", "str"),
            "authorizationType": ("authorization_type", "str"),
            "authorizerId": ("authorizer_id", "str"),
            "routeResponseSelectionExpression": ("route_response_selection_expression", "str"),
            "apiKeyRequired": ("api_key_required", "bool"),
            "operationName": ("operation_name", "str"),
        }

        def route_kwargs(b: _Body) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for member, (name, kind) in route_members.items():
                if b.has(member):
                    out[name] = b.flag(member) if kind == "bool" else b.text(member)
            return out

        def create_route(r: _Request) -> tuple[int, Any]:
            key = r.body.text("routeKey", required=True)
            route = gw.create_route(r["apiId"], route_key=key or "", **route_kwargs(r.body))
            return 201, route.to_wire()

        def update_route(r: _Request) -> tuple[int, Any]:
            changes = route_kwargs(r.body)
            if r.body.has("routeKey"):
                changes["route_key"] = r.body.text("routeKey")
            return 200, gw.update_route(r["apiId"], r["routeId"], **changes).to_wire()

        add("POST", "/v2/apis/{apiId}/routes", "CreateRoute", create_route)
        add("GET", "/v2/apis/{apiId}/routes", "GetRoutes",
            lambda r: (200, self._page(r, gw.get_routes(r["apiId"]), _wire)))
        add("GET", "/v2/apis/{apiId}/routes/{routeId}", "GetRoute",
            lambda r: (200, gw.get_route(r["apiId"], r["routeId"]).to_wire()))
        add("PATCH", "/v2/apis/{apiId}/routes/{routeId}", "UpdateRoute", update_route)
        add("DELETE", "/v2/apis/{apiId}/routes/{routeId}", "DeleteRoute",
            lambda r: _deleted(gw.delete_route, r["apiId"], r["routeId"]))

        # Route responses
        def create_route_response(r: _Request) -> tuple[int, Any]:
            key = r.body.text("routeResponseKey", required=True)
            response = gw.create_route_response(r["apiId"], r["routeId"],
                                                route_response_key=key or "")
            return 201, response.to_wire()

        def get_route_response(r: _Request) -> tuple[int, Any]:
            for response in gw.get_route_responses(r["apiId"], r["routeId"]):
                if response.route_response_id == r["routeResponseId"]:
                    return 200, response.to_wire()
            raise NotFoundException(
                f"Invalid RouteResponse identifier specified {r['routeResponseId']}",
                resource_type="RouteResponse")

        base = "/v2/apis/{apiId}/routes/{routeId}/routeresponses"
        add("POST", base, "CreateRouteResponse", create_route_response)
        add("GET", base, "GetRouteResponses", lambda r: (200, self._page(
            r, gw.get_route_responses(r["apiId"], r["routeId"]), _wire)))
        add("GET", base + "/{routeResponseId}", "GetRouteResponse", get_route_response)
        add("DELETE", base + "/{routeResponseId}", "DeleteRouteResponse",
            lambda r: _deleted(gw.delete_route_response, r["apiId"], r["routeId"],
                                                     r["routeResponseId"]))

        # Integrations
        def create_integration(r: _Request) -> tuple[int, Any]:
            b = r.body
            kind = b.text("integrationType", required=True) or ""
            uri = b.text("integrationUri")
            handler = None
            if kind == IntegrationType.AWS_PROXY.value:
                handler = self._handler_for(uri, "integrationUri")
            kwargs: dict[str, Any] = {}
            timeout = b.integer("timeoutInMillis")
            if timeout is not None:
                kwargs["timeout_in_millis"] = timeout
            templates = b.obj("requestTemplates")
            integration = gw.create_integration(
                r["apiId"], integration_type=kind, handler=handler, integration_uri=uri,
                integration_method=b.text("integrationMethod"),
                description=b.text("description"), request_templates=templates,
                template_selection_expression=b.text("templateSelectionExpression"),
                **kwargs)
            return 201, integration.to_wire()

        def update_integration(r: _Request) -> tuple[int, Any]:
            b = r.body
            current = gw.get_integration(r["apiId"], r["integrationId"])
            kind = b.text("integrationType")
            if kind is not None and kind != current.integration_type.value:
                raise BadRequestException(
                    f"Invalid integrationType {kind!r}: framer cannot change an "
                    f"integration's type ({current.integration_type.value}); create a "
                    "new integration and retarget the route")
            uri = b.text("integrationUri")
            handler = None
            if uri is not None and current.integration_type is IntegrationType.AWS_PROXY:
                handler = self._handler_for(uri, "integrationUri")
            updated = gw.update_integration(
                r["apiId"], r["integrationId"], handler=handler, integration_uri=uri,
                integration_method=b.text("integrationMethod"),
                timeout_in_millis=b.integer("timeoutInMillis"), description=b.text("description"))
            return 200, updated.to_wire()

        def delete_integration(r: _Request) -> tuple[int, Any]:
            gw.delete_integration(r["apiId"], r["integrationId"])
            return 204, None

        add("POST", "/v2/apis/{apiId}/integrations", "CreateIntegration", create_integration)
        add("GET", "/v2/apis/{apiId}/integrations", "GetIntegrations",
            lambda r: (200, self._page(r, gw.get_integrations(r["apiId"]), _wire)))
        add("GET", "/v2/apis/{apiId}/integrations/{integrationId}", "GetIntegration",
            lambda r: (200, gw.get_integration(r["apiId"], r["integrationId"]).to_wire()))
        add("PATCH", "/v2/apis/{apiId}/integrations/{integrationId}", "UpdateIntegration",
            update_integration)
        add("DELETE", "/v2/apis/{apiId}/integrations/{integrationId}", "DeleteIntegration",
            delete_integration)

        def create_integration_response(r: _Request) -> tuple[int, Any]:
            b = r.body
            response = gw.create_integration_response(
                r["apiId"], r["integrationId"],
                integration_response_key=b.text("integrationResponseKey", required=True) or "",
                response_templates=b.obj("responseTemplates"))
            return 201, response.to_wire()

        base = "/v2/apis/{apiId}/integrations/{integrationId}/integrationresponses"
        add("POST", base, "CreateIntegrationResponse", create_integration_response)
        add("GET", base, "GetIntegrationResponses", lambda r: (200, self._page(
            r, gw.get_integration_responses(r["apiId"], r["integrationId"]), _wire)))

        # Authorizers
        def create_authorizer(r: _Request) -> tuple[int, Any]:
            b = r.body
            kind = b.text("authorizerType", required=True) or ""
            name = b.text("name", required=True) or ""
            sources = b.strings("identitySource", required=True) or []
            uri = b.text("authorizerUri")
            if kind != "REQUEST":
                raise BadRequestException(
                    f"Invalid authorizerType {kind!r}: WebSocket APIs support REQUEST "
                    "authorizers only")
            handler = self._handler_for(uri, "authorizerUri")
            authorizer = gw.create_authorizer(r["apiId"], name=name, identity_source=sources,
                                              handler=handler, authorizer_type=kind,
                                              authorizer_uri=uri)
            return 201, authorizer.to_wire()

        add("POST", "/v2/apis/{apiId}/authorizers", "CreateAuthorizer", create_authorizer)
        add("GET", "/v2/apis/{apiId}/authorizers", "GetAuthorizers",
            lambda r: (200, self._page(r, gw.get_authorizers(r["apiId"]), _wire)))
        add("GET", "/v2/apis/{apiId}/authorizers/{authorizerId}", "GetAuthorizer",
            lambda r: (200, gw.get_authorizer(r["apiId"], r["authorizerId"]).to_wire()))
        add("DELETE", "/v2/apis/{apiId}/authorizers/{authorizerId}", "DeleteAuthorizer",
            lambda r: _deleted(gw.delete_authorizer, r["apiId"], r["authorizerId"]))

        # Deployments
        def create_deployment(r: _Request) -> tuple[int, Any]:
            b = r.body
            deployment = gw.create_deployment(r["apiId"], stage_name=b.text("stageName"),
                                              description=b.text("description"))
            return 201, deployment.to_wire()

        add("POST", "/v2/apis/{apiId}/deployments", "CreateDeployment", create_deployment)
        add("GET", "/v2/apis/{apiId}/deployments", "GetDeployments",
            lambda r: (200, self._page(r, gw.get_deployments(r["apiId"]), _wire)))
        add("GET", "/v2/apis/{apiId}/deployments/{deploymentId}", "GetDeployment",
            lambda r: (200, gw.get_deployment(r["apiId"], r["deploymentId"]).to_wire()))
        add("DELETE", "/v2/apis/{apiId}/deployments/{deploymentId}", "DeleteDeployment",
            lambda r: _deleted(gw.delete_deployment, r["apiId"], r["deploymentId"]))

        # Stages
        def stage_kwargs(b: _Body) -> dict[str, Any]:
            if b.flag("autoDeploy"):
                raise BadRequestException(
                    "Invalid autoDeploy true: framer deploys only on CreateDeployment "
                    "(automatic deployment is an HTTP API feature)")
            out: dict[str, Any] = {
                "description": b.text("description"),
                "default_route_settings": b.obj("defaultRouteSettings"),
                "route_settings": b.obj("routeSettings"),
                "stage_variables": b.obj("stageVariables"),
            }
            return out

        def create_stage(r: _Request) -> tuple[int, Any]:
            b = r.body
            stage = gw.create_stage(r["apiId"], b.text("stageName", required=True) or "",
                                    b.text("deploymentId"), tags=b.obj("tags"),
                                    **stage_kwargs(b))
            return 201, stage.to_wire()

        def update_stage(r: _Request) -> tuple[int, Any]:
            b = r.body
            stage = gw.update_stage(r["apiId"], r["stageName"],
                                    deployment_id=b.text("deploymentId"), **stage_kwargs(b))
            return 200, stage.to_wire()

        base = "/v2/apis/{apiId}/stages"
        add("POST", base, "CreateStage", create_stage)
        add("GET", base, "GetStages",
            lambda r: (200, self._page(r, gw.get_stages(r["apiId"]), _wire)))
        add("GET", base + "/{stageName}", "GetStage",
            lambda r: (200, gw.get_stage(r["apiId"], r["stageName"]).to_wire()))
        add("PATCH", base + "/{stageName}", "UpdateStage", update_stage)
        add("DELETE", base + "/{stageName}", "DeleteStage",
            lambda r: _deleted(gw.delete_stage, r["apiId"], r["stageName"]))
        add("DELETE", base + "/{stageName}/routesettings/{routeKey}", "DeleteRouteSettings",
            lambda r: _deleted(gw.delete_route_settings, r["apiId"], r["stageName"],
                                                     r["routeKey"]))

    def operations(self) -> Iterable[tuple[str, str, str]]:
        """``(operation, method, path)`` of every operation served."""
        for method, regex, op, _fn in self._routes:
            yield op, method, regex.pattern


def _deleted(delete: Callable[..., None], *args: str) -> tuple[int, Any]:
    delete(*args)
    return 204, None


def _wire(record: Any) -> dict[str, Any]:
    return record.to_wire()  # type: ignore[no-any-return]
