"""``serverless.yml`` (Serverless Framework v3 and v4) compiled to CloudFormation.

As the framework itself does, each function becomes a Lambda function and
each ``websocket`` event a route of one ``WebsocketsApi``, with one
integration per function, authorizers (``authorizer`` by ``name`` of a
function of the service or by ``arn``, with ``identitySource``, default
``route.request.header.Auth``), route responses for
``routeResponseSelectionExpression``, a deployment and the stage
(``--stage``, else ``provider.stage``, else ``dev``). Names follow the
framework: functions ``{service}-{stage}-{key}``, the API
``{stage}-{service}-websockets`` unless ``provider.websocketsApiName``.
``resources.Resources`` are added as they are ("Serverless Framework - AWS
Lambda Events - Websocket", "serverless.yml reference").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ._errors import TemplateError
from ._variables import Variables

__all__ = ["Compiled", "compile_serverless", "is_serverless", "logical_part"]

_DEFAULT_IDENTITY = ["route.request.header.Auth"]


@dataclass(frozen=True, slots=True)
class Compiled:
    """The CloudFormation a ``serverless.yml`` stands for."""

    template: dict[str, Any]
    origins: dict[str, str]
    """Logical id -> where in serverless.yml it came from (for errors)."""
    stage: str
    region: str
    service: str
    files: tuple[Path, ...]
    """Files read through ``${file(...)}``."""


def is_serverless(document: Any) -> bool:
    """True for a serverless.yml document (``service`` and ``provider``)."""
    return isinstance(document, dict) and "service" in document and "provider" in document


def logical_part(name: str) -> str:
    """The framework's logical-id form of a name (``$connect`` -> ``Sconnect``)."""
    text = name.replace("$", "S").replace("-", "Dash").replace("_", "Underscore")
    text = "".join(c for c in text if c.isalnum())
    return text[:1].upper() + text[1:]


def compile_serverless(document: Mapping[str, Any], *, file: Path, option_stage: str | None,
                       account_id: str) -> Compiled:
    """Resolve the variables of ``document`` and compile it to CloudFormation."""
    provider_raw = document.get("provider") or {}
    region_raw = provider_raw.get("region", "us-east-1") if isinstance(provider_raw, dict) \
        else "us-east-1"
    variables = Variables(document, file=file, option_stage=option_stage,
                          region=region_raw if isinstance(region_raw, str) and "${" not in
                          region_raw else "us-east-1", account_id=account_id)
    stage = variables.stage
    doc = variables.resolve(dict(document), "")
    service = doc.get("service")
    if isinstance(service, dict):
        service = service.get("name")
    if not isinstance(service, str) or not service:
        raise TemplateError("service must be the service's name", file=file, where="service")
    provider = doc.get("provider")
    if not isinstance(provider, dict):
        raise TemplateError("provider must be a map", file=file, where="provider")
    region = str(provider.get("region") or "us-east-1")
    compiler = _Compiler(file, service, stage, region, provider)
    functions = doc.get("functions") or {}
    if not isinstance(functions, dict):
        raise TemplateError("functions must be a map of name to function", file=file,
                            where="functions")
    for key, spec in functions.items():
        compiler.function(str(key), spec)
    for key, spec in functions.items():
        compiler.events(str(key), spec)
    template = compiler.finish()
    extra = (doc.get("resources") or {})
    if isinstance(extra, dict):
        for section in ("Resources", "Conditions", "Outputs", "Mappings", "Parameters"):
            if isinstance(extra.get(section), dict):
                template.setdefault(section, {}).update(extra[section])
                if section == "Resources":
                    for rid in extra[section]:
                        compiler.origins.setdefault(rid, f"resources.Resources.{rid}")
    return Compiled(template, compiler.origins, stage, region, service, tuple(variables.files))


class _Compiler:
    def __init__(self, file: Path, service: str, stage: str, region: str,
                 provider: Mapping[str, Any]) -> None:
        self.file = file
        self.service = service
        self.stage = stage
        self.region = region
        self.provider = provider
        self.resources: dict[str, Any] = {}
        self.origins: dict[str, str] = {}
        self.routes: dict[str, str] = {}
        self.authorizers: dict[str, str] = {}
        self.function_ids: dict[str, str] = {}

    def _error(self, message: str, where: str) -> TemplateError:
        return TemplateError(message, file=self.file, where=where)

    def _add(self, logical_id: str, kind: str, props: dict[str, Any], origin: str,
             **extra: Any) -> None:
        self.resources[logical_id] = {"Type": kind, "Properties": props, **extra}
        self.origins[logical_id] = origin

    def function(self, key: str, spec: Any) -> None:
        where = f"functions.{key}"
        if not isinstance(spec, dict):
            raise self._error("a function must be a map with a handler", where)
        handler = spec.get("handler")
        if not isinstance(handler, str) or not handler:
            raise self._error("handler is required (e.g. handler.connect)", f"{where}.handler")
        environment = {**(self.provider.get("environment") or {}),
                       **(spec.get("environment") or {})}
        props: dict[str, Any] = {
            "FunctionName": spec.get("name") or f"{self.service}-{self.stage}-{key}",
            "Handler": handler, "CodeUri": ".",
            "Runtime": spec.get("runtime") or self.provider.get("runtime") or "nodejs20.x",
            "Timeout": spec.get("timeout", self.provider.get("timeout", 6)),
            "MemorySize": spec.get("memorySize", self.provider.get("memorySize", 1024)),
        }
        if environment:
            props["Environment"] = {"Variables": environment}
        if "reservedConcurrency" in spec:
            props["ReservedConcurrentExecutions"] = spec["reservedConcurrency"]
        logical_id = f"{logical_part(key)}LambdaFunction"
        self.function_ids[key] = logical_id
        self._add(logical_id, "AWS::Serverless::Function", props, where)

    def _api(self) -> str:
        if "WebsocketsApi" not in self.resources:
            self._add("WebsocketsApi", "AWS::ApiGatewayV2::Api", {
                "Name": self.provider.get("websocketsApiName")
                or f"{self.stage}-{self.service}-websockets",
                "ProtocolType": "WEBSOCKET",
                "RouteSelectionExpression":
                    self.provider.get("websocketsApiRouteSelectionExpression")
                    or "$request.body.action",
                "Description": self.provider.get("websocketsDescription")
                or "Serverless Websockets",
            }, "provider")
        return "WebsocketsApi"

    @staticmethod
    def _uri(function_id: str) -> dict[str, Any]:
        return {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/"
                           f"2015-03-31/functions/${{{function_id}.Arn}}/invocations"}

    def events(self, key: str, spec: Mapping[str, Any]) -> None:
        events = spec.get("events") or []
        if not isinstance(events, list):
            raise self._error("events must be a list", f"functions.{key}.events")
        for i, event in enumerate(events):
            if not isinstance(event, dict) or "websocket" not in event:
                continue
            self.route(key, event["websocket"], f"functions.{key}.events[{i}].websocket")

    def route(self, key: str, event: Any, where: str) -> None:
        api = self._api()
        if isinstance(event, str):
            event = {"route": event}
        if not isinstance(event, dict) or not isinstance(event.get("route"), str):
            raise self._error("a websocket event is a route string or a map with route",
                              where)
        route_key = event["route"]
        if route_key in self.routes:
            raise self._error(f"route {route_key} is given twice (also by "
                              f"{self.routes[route_key]})", where)
        self.routes[route_key] = where
        function_id = self.function_ids[key]
        integration = f"{logical_part(key)}WebsocketsIntegration"
        if integration not in self.resources:
            self._add(integration, "AWS::ApiGatewayV2::Integration", {
                "ApiId": {"Ref": api}, "IntegrationType": "AWS_PROXY",
                "IntegrationUri": self._uri(function_id)}, f"functions.{key}")
        route_id = f"{logical_part(route_key)}WebsocketsRoute"
        props: dict[str, Any] = {
            "ApiId": {"Ref": api}, "RouteKey": route_key, "AuthorizationType": "NONE",
            "Target": {"Fn::Join": ["/", ["integrations", {"Ref": integration}]]}}
        if "authorizer" in event:
            props["AuthorizationType"] = "CUSTOM"
            props["AuthorizerId"] = {"Ref": self.authorizer(event["authorizer"],
                                                            f"{where}.authorizer")}
        if event.get("routeResponseSelectionExpression"):
            props["RouteResponseSelectionExpression"] = event["routeResponseSelectionExpression"]
            self._add(f"{route_id}Response", "AWS::ApiGatewayV2::RouteResponse", {
                "ApiId": {"Ref": api}, "RouteId": {"Ref": route_id},
                "RouteResponseKey": "$default"}, where)
        self._add(route_id, "AWS::ApiGatewayV2::Route", props, where)

    def authorizer(self, spec: Any, where: str) -> str:
        if isinstance(spec, str):
            spec = {"arn": spec} if spec.startswith("arn:") else {"name": spec}
        if not isinstance(spec, dict) or not ("name" in spec or "arn" in spec):
            raise self._error("authorizer must be a function name, an ARN, or a map with "
                              "name or arn", where)
        sources = spec.get("identitySource", _DEFAULT_IDENTITY)
        sources = [sources] if isinstance(sources, str) else sources
        if "arn" in spec:
            label = str(spec.get("name") or spec["arn"].rpartition(":")[2])
            uri: Any = (f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
                        f"{spec['arn']}/invocations")
        else:
            label = str(spec["name"])
            if label not in self.function_ids:
                raise self._error(f"authorizer {label!r} is no function of this service "
                                  f"(functions: {', '.join(self.function_ids)})",
                                  f"{where}.name")
            uri = self._uri(self.function_ids[label])
        logical_id = f"{logical_part(label)}WebsocketsAuthorizer"
        if logical_id not in self.resources:
            self._add(logical_id, "AWS::ApiGatewayV2::Authorizer", {
                "ApiId": {"Ref": self._api()}, "Name": label, "AuthorizerType": "REQUEST",
                "AuthorizerUri": uri, "IdentitySource": list(sources)}, where)
        return logical_id

    def finish(self) -> dict[str, Any]:
        if "WebsocketsApi" in self.resources:
            routes = [rid for rid, body in self.resources.items()
                      if body["Type"] == "AWS::ApiGatewayV2::Route"]
            self._add("WebsocketsDeployment", "AWS::ApiGatewayV2::Deployment", {
                "ApiId": {"Ref": "WebsocketsApi"}, "Description": "Serverless Websockets"},
                "provider", DependsOn=routes)
            self._add("WebsocketsDeploymentStage", "AWS::ApiGatewayV2::Stage", {
                "ApiId": {"Ref": "WebsocketsApi"}, "StageName": self.stage,
                "DeploymentId": {"Ref": "WebsocketsDeployment"}}, "provider.stage")
        return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": self.resources}
