"""Provisioning ``AWS::ApiGatewayV2::*`` resources through ``Gateway``'s create_* calls.

Each provisioner takes a resource's resolved properties (CloudFormation
resource reference, "AWS::ApiGatewayV2::Api" ... "AWS::ApiGatewayV2::Stage")
and returns its ``Physical``: what ``Ref`` gives (the id; a stage's name)
and its ``Fn::GetAtt`` attributes. The ids are the Gateway's own, as the
apigatewayv2 control plane makes them. On a reload, APIs and stages that
already exist (``Prior``) are updated rather than created, so open
connections stay on their stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from framer.controlplane import FunctionRegistry
from framer.router import ApiGatewayError, Gateway

from ._errors import TemplateError

__all__ = ["Physical", "Prior", "Provisioner", "API_TYPES"]

@dataclass(frozen=True, slots=True)
class Physical:
    """A provisioned resource: ``ref`` is what ``Ref`` gives, ``attributes``
    what ``Fn::GetAtt`` gives."""

    ref: Any
    attributes: Mapping[str, Any] = field(default_factory=dict)
    placeholder: bool = False
    """True for a resource framer does not run: any attribute gets a placeholder."""

    def attribute(self, name: str) -> Any:
        """``Fn::GetAtt``'s answer, or ``KeyError``."""
        if name in self.attributes:
            return self.attributes[name]
        if not self.placeholder:
            raise KeyError(name)
        arn = self.attributes.get("Arn")
        if name.endswith("Arn") and isinstance(arn, str):
            return arn
        return f"{self.ref}.{name}"


@dataclass(slots=True)
class Prior:
    """What a previous load made, for a reload: API logical id -> API id."""

    api_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Site:
    """The resource being provisioned, for error messages."""

    logical_id: str
    props: Mapping[str, Any]

    def where(self, prop: Optional[str] = None) -> str:
        return f"Resources.{self.logical_id}.Properties" + (f".{prop}" if prop else "")

    def need(self, prop: str, kind: type = str) -> Any:
        value = self.props.get(prop)
        if value is None:
            raise TemplateError(f"{prop} is required", where=self.where(prop))
        if not isinstance(value, kind):
            raise TemplateError(f"{prop} must be a {kind.__name__}, got {value!r}",
                                where=self.where(prop))
        return value


class Provisioner:
    """Creates the API resources of one template load on ``gateway``."""

    def __init__(self, gateway: Gateway, functions: FunctionRegistry, prior: Prior) -> None:
        self.gateway = gateway
        self.functions = functions
        self.prior = prior
        self.websocket_apis: dict[str, str] = {}
        """API logical id -> API id, for the WebSocket APIs served."""
        self.other_apis: dict[str, str] = {}
        """API logical id -> protocol, for APIs not served (HTTP)."""
        self.auto_deploy: list[tuple[str, str]] = []
        """(API id, stage name) of ``AutoDeploy`` stages, deployed at the end."""
        self.stages_seen: set[tuple[str, str]] = set()

    def serves(self, api_id: Any) -> bool:
        """True when ``api_id`` is one of this load's WebSocket APIs."""
        return api_id in self.websocket_apis.values()

    def provision(self, kind: str, logical_id: str, props: Mapping[str, Any]) -> Physical:
        site = _Site(logical_id, props)
        try:
            return _MAKERS[kind](self, site)
        except ApiGatewayError as exc:
            # "Invalid routeKey ...": name the property (RouteKey) when the template has it.
            named = re.match(r"Invalid (\w+)", str(exc))
            prop = named.group(1)[:1].upper() + named.group(1)[1:] if named else ""
            raise TemplateError(str(exc), where=site.where(prop if prop in props else None)) \
                from None

    # -- the resource types ---------------------------------------------------------

    def _api(self, site: _Site) -> Physical:
        protocol = site.need("ProtocolType")
        name = site.need("Name")
        if protocol != "WEBSOCKET":
            self.other_apis[site.logical_id] = protocol
            return Physical(site.logical_id, {"ApiId": site.logical_id, "ApiEndpoint": ""})
        options: dict[str, Any] = {"description": site.props.get("Description")}
        rse = site.need("RouteSelectionExpression")
        key_expression = site.props.get("ApiKeySelectionExpression")
        api_id = self.prior.api_ids.get(site.logical_id)
        if api_id is not None:
            api = self.gateway.update_api(api_id, name=name, route_selection_expression=rse,
                                          **options)
            self._clear(api_id)
        else:
            if key_expression is not None:
                options["api_key_selection_expression"] = key_expression
            api = self.gateway.create_api(name=name, route_selection_expression=rse, **options)
        self.websocket_apis[site.logical_id] = api.api_id
        return Physical(api.api_id, {"ApiId": api.api_id, "ApiEndpoint": api.api_endpoint})

    def _clear(self, api_id: str) -> None:
        """Remove a reused API's routes, integrations and authorizers (its
        stages keep serving their deployments until they are updated)."""
        for route in self.gateway.get_routes(api_id):
            self.gateway.delete_route(api_id, route.route_id)
        for integration in self.gateway.get_integrations(api_id):
            self.gateway.delete_integration(api_id, integration.integration_id)
        for authorizer in self.gateway.get_authorizers(api_id):
            self.gateway.delete_authorizer(api_id, authorizer.authorizer_id)

    def _integration(self, site: _Site) -> Physical:
        api_id = site.need("ApiId")
        kind = site.need("IntegrationType")
        uri = site.props.get("IntegrationUri")
        handler = None
        if kind == "AWS_PROXY":
            try:
                _name, handler = self.functions.resolve_uri(uri, "IntegrationUri", strict=False)
            except ApiGatewayError as exc:
                raise TemplateError(str(exc), where=site.where("IntegrationUri")) from None
        options: dict[str, Any] = {}
        if "TimeoutInMillis" in site.props:
            options["timeout_in_millis"] = int(site.props["TimeoutInMillis"])
        integration = self.gateway.create_integration(
            api_id, integration_type=kind, handler=handler, integration_uri=uri,
            integration_method=site.props.get("IntegrationMethod"),
            description=site.props.get("Description"),
            request_templates=site.props.get("RequestTemplates"),
            template_selection_expression=site.props.get("TemplateSelectionExpression"),
            **options)
        return Physical(integration.integration_id,
                        {"IntegrationId": integration.integration_id})

    def _integrationresponse(self, site: _Site) -> Physical:
        response = self.gateway.create_integration_response(
            site.need("ApiId"), site.need("IntegrationId"),
            integration_response_key=site.need("IntegrationResponseKey"),
            response_templates=site.props.get("ResponseTemplates"))
        return Physical(response.integration_response_id,
                        {"IntegrationResponseId": response.integration_response_id})

    def _authorizer(self, site: _Site) -> Physical:
        api_id = site.need("ApiId")
        try:
            _name, handler = self.functions.resolve_uri(site.props.get("AuthorizerUri"),
                                                         "AuthorizerUri", strict=False)
        except ApiGatewayError as exc:
            raise TemplateError(str(exc), where=site.where("AuthorizerUri")) from None
        sources = site.props.get("IdentitySource", [])
        if isinstance(sources, str):
            sources = [s.strip() for s in sources.split(",")]
        authorizer = self.gateway.create_authorizer(
            api_id, name=site.need("Name"), identity_source=sources, handler=handler,
            authorizer_type=site.need("AuthorizerType"),
            authorizer_uri=site.props.get("AuthorizerUri"))
        return Physical(authorizer.authorizer_id, {"AuthorizerId": authorizer.authorizer_id})

    def _route(self, site: _Site) -> Physical:
        api_id = site.need("ApiId")
        target = site.props.get("Target")
        if target is not None:
            integrations = {i.integration_id for i in self.gateway.get_integrations(api_id)}
            if not (isinstance(target, str) and target.startswith("integrations/")
                    and target[len("integrations/"):] in integrations):
                raise TemplateError(
                    f"Target {target!r} is no integration of this API: use "
                    "!Sub integrations/${MyIntegration} (or !Join) to name an "
                    "AWS::ApiGatewayV2::Integration of the template", where=site.where("Target"))
        route = self.gateway.create_route(
            api_id, route_key=site.need("RouteKey"), target=target,
            authorization_type=site.props.get("AuthorizationType", "NONE"),
            authorizer_id=site.props.get("AuthorizerId"),
            route_response_selection_expression=site.props.get(
                "RouteResponseSelectionExpression"),
            api_key_required=bool(site.props.get("ApiKeyRequired", False)),
            operation_name=site.props.get("OperationName"))
        return Physical(route.route_id, {"RouteId": route.route_id})

    def _routeresponse(self, site: _Site) -> Physical:
        response = self.gateway.create_route_response(
            site.need("ApiId"), site.need("RouteId"),
            route_response_key=site.need("RouteResponseKey"))
        return Physical(response.route_response_id,
                        {"RouteResponseId": response.route_response_id})

    def _deployment(self, site: _Site) -> Physical:
        api_id = site.need("ApiId")
        stage = site.props.get("StageName")
        if stage is not None:
            if (api_id, stage) not in self._existing_stages(api_id):
                self.gateway.create_stage(api_id, stage)
            self.stages_seen.add((api_id, stage))
        deployment = self.gateway.create_deployment(api_id, stage,
                                                    site.props.get("Description"))
        return Physical(deployment.deployment_id, {"DeploymentId": deployment.deployment_id})

    def _existing_stages(self, api_id: str) -> set[tuple[str, str]]:
        return {(api_id, s.stage_name) for s in self.gateway.get_stages(api_id)}

    def _stage(self, site: _Site) -> Physical:
        api_id = site.need("ApiId")
        name = site.need("StageName")
        options: dict[str, Any] = {
            "deployment_id": site.props.get("DeploymentId"),
            "description": site.props.get("Description"),
            "default_route_settings": site.props.get("DefaultRouteSettings"),
            "route_settings": site.props.get("RouteSettings"),
            "stage_variables": {k: str(v) for k, v in
                                (site.props.get("StageVariables") or {}).items()},
        }
        if (api_id, name) in self._existing_stages(api_id):
            self.gateway.update_stage(api_id, name, **options)
        else:
            tags = site.props.get("Tags")
            self.gateway.create_stage(api_id, name, tags=tags if isinstance(tags, dict)
                                      else None, **options)
        self.stages_seen.add((api_id, name))
        if site.props.get("AutoDeploy") in (True, "true", "True") \
                and options["deployment_id"] is None:
            self.auto_deploy.append((api_id, name))
        return Physical(name, {})

    def finish(self) -> None:
        """Deploy the ``AutoDeploy`` stages and, on a reload, delete the
        stages and APIs the template no longer has."""
        for api_id, stage_name in self.auto_deploy:
            self.gateway.create_deployment(api_id, stage_name, "AutoDeploy")
        for logical_id, api_id in self.prior.api_ids.items():
            if logical_id not in self.websocket_apis:
                self.gateway.delete_api(api_id)
                continue
            for stage in self.gateway.get_stages(api_id):
                if (api_id, stage.stage_name) not in self.stages_seen:
                    self.gateway.delete_stage(api_id, stage.stage_name)


_MAKERS: dict[str, Callable[[Provisioner, _Site], Physical]] = {
    "AWS::ApiGatewayV2::Api": Provisioner._api,
    "AWS::ApiGatewayV2::Route": Provisioner._route,
    "AWS::ApiGatewayV2::Integration": Provisioner._integration,
    "AWS::ApiGatewayV2::RouteResponse": Provisioner._routeresponse,
    "AWS::ApiGatewayV2::IntegrationResponse": Provisioner._integrationresponse,
    "AWS::ApiGatewayV2::Authorizer": Provisioner._authorizer,
    "AWS::ApiGatewayV2::Deployment": Provisioner._deployment,
    "AWS::ApiGatewayV2::Stage": Provisioner._stage,
}

#: The resource types provisioned onto the Gateway.
API_TYPES = frozenset(_MAKERS)
