"""The ``apigatewayv2`` operations of WebSocket APIs: one function each, and
:data:`OPERATIONS`, the table that maps method and path to them.

Each function reads the request's members (typed checks that name the member),
calls the ``Gateway`` and answers with the operation's success status: 201 for
creates, 200 for reads and updates, 204 for deletes (botocore's
``apigatewayv2`` service model, 2018-11-29).
"""

from __future__ import annotations

from typing import Any

from framer.router import Api, BadRequestException, IntegrationType, NotFoundException

from ._request import Body, Operation, Reply, Request, page

__all__ = ["OPERATIONS"]

_CREATED, _OK, _DELETED = 201, 200, 204


def _wire(record: Any) -> dict[str, Any]:
    return record.to_wire()  # type: ignore[no-any-return]


# -- APIs ---------------------------------------------------------------------------

def _api_wire(r: Request, api: Api) -> dict[str, Any]:
    out: dict[str, Any] = api.to_wire()
    out["apiEndpoint"] = f"ws://{r.endpoint_host}/{api.api_id}"
    return out


def create_api(r: Request) -> Reply:
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
    api = r.gateway.create_api(name=name or "", route_selection_expression=rse or "",
                               protocol_type=protocol or "",
                               description=b.text("description"), **kwargs)
    return Reply(_CREATED, _api_wire(r, api))


def get_apis(r: Request) -> Reply:
    return page(r, r.gateway.get_apis(), lambda api: _api_wire(r, api))


def get_api(r: Request) -> Reply:
    return Reply(_OK, _api_wire(r, r.gateway.get_api(r["apiId"])))


def update_api(r: Request) -> Reply:
    b = r.body
    api = r.gateway.update_api(r["apiId"], name=b.text("name"),
                               route_selection_expression=b.text("routeSelectionExpression"),
                               description=b.text("description"))
    return Reply(_OK, _api_wire(r, api))


def delete_api(r: Request) -> Reply:
    r.gateway.delete_api(r["apiId"])
    return Reply(_DELETED)


# -- routes and route responses ---------------------------------------------------

#: Route members the create and update calls take: JSON name -> (keyword, is a flag).
_ROUTE_MEMBERS = {
    "target": ("target", False),
    "authorizationType": ("authorization_type", False),
    "authorizerId": ("authorizer_id", False),
    "routeResponseSelectionExpression": ("route_response_selection_expression", False),
    "apiKeyRequired": ("api_key_required", True),
    "operationName": ("operation_name", False),
}


def _route_changes(b: Body) -> dict[str, Any]:
    return {keyword: b.flag(member) if is_flag else b.text(member)
            for member, (keyword, is_flag) in _ROUTE_MEMBERS.items() if b.has(member)}


def create_route(r: Request) -> Reply:
    key = r.body.text("routeKey", required=True)
    route = r.gateway.create_route(r["apiId"], route_key=key or "", **_route_changes(r.body))
    return Reply(_CREATED, route.to_wire())


def get_routes(r: Request) -> Reply:
    return page(r, r.gateway.get_routes(r["apiId"]), _wire)


def get_route(r: Request) -> Reply:
    return Reply(_OK, r.gateway.get_route(r["apiId"], r["routeId"]).to_wire())


def update_route(r: Request) -> Reply:
    changes = _route_changes(r.body)
    if r.body.has("routeKey"):
        changes["route_key"] = r.body.text("routeKey")
    return Reply(_OK, r.gateway.update_route(r["apiId"], r["routeId"], **changes).to_wire())


def delete_route(r: Request) -> Reply:
    r.gateway.delete_route(r["apiId"], r["routeId"])
    return Reply(_DELETED)


def create_route_response(r: Request) -> Reply:
    key = r.body.text("routeResponseKey", required=True)
    response = r.gateway.create_route_response(r["apiId"], r["routeId"],
                                               route_response_key=key or "")
    return Reply(_CREATED, response.to_wire())


def get_route_responses(r: Request) -> Reply:
    return page(r, r.gateway.get_route_responses(r["apiId"], r["routeId"]), _wire)


def get_route_response(r: Request) -> Reply:
    for response in r.gateway.get_route_responses(r["apiId"], r["routeId"]):
        if response.route_response_id == r["routeResponseId"]:
            return Reply(_OK, response.to_wire())
    raise NotFoundException(
        f"Invalid RouteResponse identifier specified {r['routeResponseId']}",
        resource_type="RouteResponse")


def delete_route_response(r: Request) -> Reply:
    r.gateway.delete_route_response(r["apiId"], r["routeId"], r["routeResponseId"])
    return Reply(_DELETED)


# -- integrations and integration responses ---------------------------------------

def create_integration(r: Request) -> Reply:
    b = r.body
    kind = b.text("integrationType", required=True) or ""
    uri = b.text("integrationUri")
    handler = None
    if kind == IntegrationType.AWS_PROXY.value:
        handler = r.handler_for(uri, "integrationUri")
    kwargs: dict[str, Any] = {}
    timeout = b.integer("timeoutInMillis")
    if timeout is not None:
        kwargs["timeout_in_millis"] = timeout
    integration = r.gateway.create_integration(
        r["apiId"], integration_type=kind, handler=handler, integration_uri=uri,
        integration_method=b.text("integrationMethod"),
        description=b.text("description"), request_templates=b.obj("requestTemplates"),
        template_selection_expression=b.text("templateSelectionExpression"),
        **kwargs)
    return Reply(_CREATED, integration.to_wire())


def get_integrations(r: Request) -> Reply:
    return page(r, r.gateway.get_integrations(r["apiId"]), _wire)


def get_integration(r: Request) -> Reply:
    return Reply(_OK, r.gateway.get_integration(r["apiId"], r["integrationId"]).to_wire())


def update_integration(r: Request) -> Reply:
    b = r.body
    current = r.gateway.get_integration(r["apiId"], r["integrationId"])
    kind = b.text("integrationType")
    if kind is not None and kind != current.integration_type.value:
        raise BadRequestException(
            f"Invalid integrationType {kind!r}: framer cannot change an "
            f"integration's type ({current.integration_type.value}); create a "
            "new integration and retarget the route")
    uri = b.text("integrationUri")
    handler = None
    if uri is not None and current.integration_type is IntegrationType.AWS_PROXY:
        handler = r.handler_for(uri, "integrationUri")
    updated = r.gateway.update_integration(
        r["apiId"], r["integrationId"], handler=handler, integration_uri=uri,
        integration_method=b.text("integrationMethod"),
        timeout_in_millis=b.integer("timeoutInMillis"), description=b.text("description"))
    return Reply(_OK, updated.to_wire())


def delete_integration(r: Request) -> Reply:
    r.gateway.delete_integration(r["apiId"], r["integrationId"])
    return Reply(_DELETED)


def create_integration_response(r: Request) -> Reply:
    b = r.body
    response = r.gateway.create_integration_response(
        r["apiId"], r["integrationId"],
        integration_response_key=b.text("integrationResponseKey", required=True) or "",
        response_templates=b.obj("responseTemplates"))
    return Reply(_CREATED, response.to_wire())


def get_integration_responses(r: Request) -> Reply:
    return page(r, r.gateway.get_integration_responses(r["apiId"], r["integrationId"]),
                _wire)


# -- authorizers ------------------------------------------------------------------

def create_authorizer(r: Request) -> Reply:
    b = r.body
    kind = b.text("authorizerType", required=True) or ""
    name = b.text("name", required=True) or ""
    sources = b.strings("identitySource", required=True) or []
    uri = b.text("authorizerUri")
    if kind != "REQUEST":
        raise BadRequestException(
            f"Invalid authorizerType {kind!r}: WebSocket APIs support REQUEST "
            "authorizers only")
    authorizer = r.gateway.create_authorizer(
        r["apiId"], name=name, identity_source=sources,
        handler=r.handler_for(uri, "authorizerUri"), authorizer_type=kind,
        authorizer_uri=uri)
    return Reply(_CREATED, authorizer.to_wire())


def get_authorizers(r: Request) -> Reply:
    return page(r, r.gateway.get_authorizers(r["apiId"]), _wire)


def get_authorizer(r: Request) -> Reply:
    return Reply(_OK, r.gateway.get_authorizer(r["apiId"], r["authorizerId"]).to_wire())


def delete_authorizer(r: Request) -> Reply:
    r.gateway.delete_authorizer(r["apiId"], r["authorizerId"])
    return Reply(_DELETED)


# -- deployments ------------------------------------------------------------------

def create_deployment(r: Request) -> Reply:
    b = r.body
    deployment = r.gateway.create_deployment(r["apiId"], stage_name=b.text("stageName"),
                                             description=b.text("description"))
    return Reply(_CREATED, deployment.to_wire())


def get_deployments(r: Request) -> Reply:
    return page(r, r.gateway.get_deployments(r["apiId"]), _wire)


def get_deployment(r: Request) -> Reply:
    return Reply(_OK, r.gateway.get_deployment(r["apiId"], r["deploymentId"]).to_wire())


def delete_deployment(r: Request) -> Reply:
    r.gateway.delete_deployment(r["apiId"], r["deploymentId"])
    return Reply(_DELETED)


# -- stages -----------------------------------------------------------------------

def _stage_settings(b: Body) -> dict[str, Any]:
    if b.flag("autoDeploy"):
        raise BadRequestException(
            "Invalid autoDeploy true: framer deploys only on CreateDeployment "
            "(automatic deployment is an HTTP API feature)")
    return {
        "description": b.text("description"),
        "default_route_settings": b.obj("defaultRouteSettings"),
        "route_settings": b.obj("routeSettings"),
        "stage_variables": b.obj("stageVariables"),
    }


def create_stage(r: Request) -> Reply:
    b = r.body
    stage = r.gateway.create_stage(r["apiId"], b.text("stageName", required=True) or "",
                                   b.text("deploymentId"), tags=b.obj("tags"),
                                   **_stage_settings(b))
    return Reply(_CREATED, stage.to_wire())


def get_stages(r: Request) -> Reply:
    return page(r, r.gateway.get_stages(r["apiId"]), _wire)


def get_stage(r: Request) -> Reply:
    return Reply(_OK, r.gateway.get_stage(r["apiId"], r["stageName"]).to_wire())


def update_stage(r: Request) -> Reply:
    b = r.body
    stage = r.gateway.update_stage(r["apiId"], r["stageName"],
                                   deployment_id=b.text("deploymentId"), **_stage_settings(b))
    return Reply(_OK, stage.to_wire())


def delete_stage(r: Request) -> Reply:
    r.gateway.delete_stage(r["apiId"], r["stageName"])
    return Reply(_DELETED)


def delete_route_settings(r: Request) -> Reply:
    r.gateway.delete_route_settings(r["apiId"], r["stageName"], r["routeKey"])
    return Reply(_DELETED)


# -- the table ----------------------------------------------------------------------

_API = "/v2/apis/{apiId}"
_ROUTE = _API + "/routes/{routeId}"
_INTEGRATION = _API + "/integrations/{integrationId}"
_STAGE = _API + "/stages/{stageName}"

#: Every operation served, matched in this order.
OPERATIONS: tuple[Operation, ...] = (
    Operation.at("POST", "/v2/apis", "CreateApi", create_api),
    Operation.at("GET", "/v2/apis", "GetApis", get_apis),
    Operation.at("GET", _API, "GetApi", get_api),
    Operation.at("PATCH", _API, "UpdateApi", update_api),
    Operation.at("DELETE", _API, "DeleteApi", delete_api),
    Operation.at("POST", _API + "/routes", "CreateRoute", create_route),
    Operation.at("GET", _API + "/routes", "GetRoutes", get_routes),
    Operation.at("GET", _ROUTE, "GetRoute", get_route),
    Operation.at("PATCH", _ROUTE, "UpdateRoute", update_route),
    Operation.at("DELETE", _ROUTE, "DeleteRoute", delete_route),
    Operation.at("POST", _ROUTE + "/routeresponses", "CreateRouteResponse",
                 create_route_response),
    Operation.at("GET", _ROUTE + "/routeresponses", "GetRouteResponses", get_route_responses),
    Operation.at("GET", _ROUTE + "/routeresponses/{routeResponseId}", "GetRouteResponse",
                 get_route_response),
    Operation.at("DELETE", _ROUTE + "/routeresponses/{routeResponseId}",
                 "DeleteRouteResponse", delete_route_response),
    Operation.at("POST", _API + "/integrations", "CreateIntegration", create_integration),
    Operation.at("GET", _API + "/integrations", "GetIntegrations", get_integrations),
    Operation.at("GET", _INTEGRATION, "GetIntegration", get_integration),
    Operation.at("PATCH", _INTEGRATION, "UpdateIntegration", update_integration),
    Operation.at("DELETE", _INTEGRATION, "DeleteIntegration", delete_integration),
    Operation.at("POST", _INTEGRATION + "/integrationresponses", "CreateIntegrationResponse",
                 create_integration_response),
    Operation.at("GET", _INTEGRATION + "/integrationresponses", "GetIntegrationResponses",
                 get_integration_responses),
    Operation.at("POST", _API + "/authorizers", "CreateAuthorizer", create_authorizer),
    Operation.at("GET", _API + "/authorizers", "GetAuthorizers", get_authorizers),
    Operation.at("GET", _API + "/authorizers/{authorizerId}", "GetAuthorizer",
                 get_authorizer),
    Operation.at("DELETE", _API + "/authorizers/{authorizerId}", "DeleteAuthorizer",
                 delete_authorizer),
    Operation.at("POST", _API + "/deployments", "CreateDeployment", create_deployment),
    Operation.at("GET", _API + "/deployments", "GetDeployments", get_deployments),
    Operation.at("GET", _API + "/deployments/{deploymentId}", "GetDeployment",
                 get_deployment),
    Operation.at("DELETE", _API + "/deployments/{deploymentId}", "DeleteDeployment",
                 delete_deployment),
    Operation.at("POST", _API + "/stages", "CreateStage", create_stage),
    Operation.at("GET", _API + "/stages", "GetStages", get_stages),
    Operation.at("GET", _STAGE, "GetStage", get_stage),
    Operation.at("PATCH", _STAGE, "UpdateStage", update_stage),
    Operation.at("DELETE", _STAGE, "DeleteStage", delete_stage),
    Operation.at("DELETE", _STAGE + "/routesettings/{routeKey}", "DeleteRouteSettings",
                 delete_route_settings),
)
