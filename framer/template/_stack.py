"""Running a CloudFormation (or SAM) template's resources, in dependency order.

The order is CloudFormation's: a resource comes after every resource it
names in ``DependsOn``, ``Ref``, ``Fn::GetAtt`` or ``Fn::Sub``; a cycle is an
error naming it. Among resources free to go, functions and API parts come
before deployments and stages, so a deployment snapshots the routes even
when the template forgot a ``DependsOn``. Resources whose ``Condition`` is
false are left out. Types framer does not run are listed as skipped and
answer ``Ref``/``Fn::GetAtt`` with placeholders: the name property
(``TableName``...) or the logical id, and a well-formed ARN.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from framer.controlplane import FunctionRegistry, function_name
from framer.router import ApiGatewayError, Gateway, IntegrationType

from ._documents import line_of
from ._errors import TemplateError
from ._functions import TemplateFunction, function_from_properties, handler_for, merge_globals
from ._intrinsics import NO_VALUE, Scope, references
from ._model import ApiEntry, App, RouteEntry, Skipped
from ._parameters import Pseudo, resolve_parameters
from ._resources import API_TYPES, Physical, Prior, Provisioner
from ._sam import expand_websocket_apis

__all__ = ["run_template"]

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
_SAM = "AWS::Serverless-2016-10-31"
_RANK = {"AWS::ApiGatewayV2::Api": 1, "AWS::ApiGatewayV2::Authorizer": 2,
         "AWS::ApiGatewayV2::Integration": 3, "AWS::ApiGatewayV2::IntegrationResponse": 4,
         "AWS::ApiGatewayV2::Route": 5, "AWS::ApiGatewayV2::RouteResponse": 6,
         "AWS::ApiGatewayV2::Deployment": 8, "AWS::ApiGatewayV2::Stage": 9}
_NOT_SERVED = {"AWS::Serverless::Api": "a REST API: not served (framer runs WebSocket APIs)",
               "AWS::Serverless::HttpApi": "an HTTP API: not served (framer runs WebSocket APIs)",
               "AWS::ApiGateway::RestApi": "a REST API: not served (framer runs WebSocket APIs)"}


@dataclass(frozen=True, slots=True)
class _Resource:
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    metadata: Mapping[str, Any]
    depends_on: tuple[str, ...]
    implicit: bool = False


def _placeholder(kind: str, logical_id: str, props: Mapping[str, Any],
                 pseudo: Pseudo) -> Physical:
    """``Ref`` and ``Fn::GetAtt`` answers for a resource framer does not run: its
    name property (``TableName``...) or logical id, and a well-formed ARN."""
    resource = (kind.split("::") + ["", ""])[2]
    name_prop = props.get("TableName" if resource == "SimpleTable" else f"{resource}Name")
    name = name_prop if isinstance(name_prop, str) else logical_id
    ref, attributes = _placeholder_values(kind, name, pseudo)
    return Physical(ref, attributes, placeholder=True)


def _placeholder_values(kind: str, name: str, pseudo: Pseudo) -> tuple[Any, dict[str, Any]]:
    _aws, service, resource = (kind.split("::") + ["", ""])[:3]
    p, r, a = pseudo.partition, pseudo.region, pseudo.account_id
    if kind in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"):
        arn = f"arn:{p}:dynamodb:{r}:{a}:table/{name}"
        return name, {"Arn": arn, "StreamArn": f"{arn}/stream/1970-01-01T00:00:00.000"}
    if kind == "AWS::S3::Bucket":
        return name, {"Arn": f"arn:{p}:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}
    if service == "IAM":
        return name, {"Arn": f"arn:{p}:iam::{a}:{resource.lower()}/{name}"}
    if kind == "AWS::SQS::Queue":
        return (f"https://sqs.{r}.amazonaws.com/{a}/{name}",
                {"Arn": f"arn:{p}:sqs:{r}:{a}:{name}", "QueueName": name})
    if kind == "AWS::SNS::Topic":
        arn = f"arn:{p}:sns:{r}:{a}:{name}"
        return arn, {"TopicArn": arn, "TopicName": name}
    return name, {"Arn": f"arn:{p}:{service.lower()}:{r}:{a}:{resource.lower()}/{name}"}


class _Run:
    """One evaluation of a template document."""

    def __init__(self, document: Any, *, file: Path, base: Path, overrides: Mapping[str, str],
                 pseudo: Pseudo, origins: Mapping[str, str]) -> None:
        self.document = document
        self.file = file
        self.base = base
        self.pseudo = pseudo
        self.origins = origins
        if not isinstance(document, dict):
            raise TemplateError("a template must be a map with Resources", file=file)
        resources = document.get("Resources")
        if not isinstance(resources, dict) or not resources:
            raise TemplateError("the template has no Resources (a map of logical id to "
                                "resource)", file=file, where="Resources")
        transform = document.get("Transform")
        self.sam = _SAM in (transform if isinstance(transform, list) else [transform])
        try:
            values = resolve_parameters(document.get("Parameters"), overrides)
        except TemplateError as exc:
            raise self.locate(exc) from None
        values.update(pseudo.values())
        values["AWS::NoValue"] = NO_VALUE
        self.conditions: dict[str, bool] = {}
        self._evaluating: list[str] = []
        self.physical: dict[str, Physical] = {}
        self.scope = Scope(values=values, mappings=document.get("Mappings") or {},
                           ref=self._ref, get_att=self._get_att, condition=self._condition,
                           region=pseudo.region, error=self.error)
        if self.sam:
            resources, generated = expand_websocket_apis(resources)
            self.origins = {**generated, **self.origins}
        self.resources = self._read_resources(resources)

    # -- errors ------------------------------------------------------------------------

    def error(self, message: str, path: tuple[Any, ...]) -> TemplateError:
        if len(path) > 1 and path[0] == "Resources" and path[1] in self.origins:
            return TemplateError(message, file=self.file, where=self.origins[path[1]])
        where = ".".join(str(p) for p in path if not str(p).startswith(("Fn::", "Ref")))
        return TemplateError(message, file=self.file, where=where,
                             line=line_of(self.document, path))

    def where(self, path: tuple[Any, ...]) -> str:
        """How errors name ``path`` (its serverless.yml origin, if it has one)."""
        return self.error("", path).where or ".".join(str(p) for p in path)

    def locate(self, exc: TemplateError) -> TemplateError:
        path = tuple(exc.where.split(".")) if exc.where else ()
        if len(path) > 1 and path[0] == "Resources" and path[1] in self.origins:
            return TemplateError(exc.problem, file=self.file, where=self.origins[path[1]])
        return exc.located(file=self.file, line=line_of(self.document, path))

    # -- names -------------------------------------------------------------------------

    def _condition(self, name: str, path: tuple[Any, ...]) -> bool:
        if name in self.conditions:
            return self.conditions[name]
        declared = self.document.get("Conditions") or {}
        if name not in declared:
            raise self.error(f"no condition named {name!r} in Conditions", path)
        if name in self._evaluating:
            cycle = " -> ".join(self._evaluating[self._evaluating.index(name):] + [name])
            raise self.error(f"circular condition: {cycle}", ("Conditions", name))
        self._evaluating.append(name)
        try:
            self.conditions[name] = self.scope.test(declared[name], ("Conditions", name))
        finally:
            self._evaluating.pop()
        return self.conditions[name]

    def _ref(self, name: str, path: tuple[Any, ...]) -> Any:
        found = self.physical.get(name)
        if found is None:
            raise self.error(f"Ref to {name!r}: no parameter, pseudo parameter or resource "
                              "of that name", path)
        return found.ref

    def _get_att(self, name: str, attribute: str, path: tuple[Any, ...]) -> Any:
        found = self.physical.get(name)
        if found is None:
            raise self.error(f"Fn::GetAtt {name}.{attribute}: no resource named {name!r}", path)
        try:
            return found.attribute(attribute)
        except KeyError:
            known = ", ".join(sorted(found.attributes)) or "none"
            raise self.error(f"Fn::GetAtt {name}.{attribute}: {name} has no attribute "
                              f"{attribute!r} (it has: {known})", path) from None

    # -- resources ----------------------------------------------------------------------

    def _read_resources(self, resources: Mapping[str, Any]) -> dict[str, _Resource]:
        out: dict[str, _Resource] = {}
        for logical_id, body in resources.items():
            path = ("Resources", logical_id)
            if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
                raise self.error("a resource must be a map with a Type", path)
            condition = body.get("Condition")
            if condition is not None and not self._condition(str(condition),
                                                             path + ("Condition",)):
                continue
            depends = body.get("DependsOn", [])
            depends = [depends] if isinstance(depends, str) else depends
            props = body.get("Properties") or {}
            if not isinstance(props, dict):
                raise self.error("Properties must be a map", path + ("Properties",))
            out[logical_id] = _Resource(logical_id, body["Type"], props,
                                        body.get("Metadata") or {}, tuple(depends))
            if body["Type"] == "AWS::Serverless::Function" and "Role" not in props:
                role = f"{logical_id}Role"  # SAM makes the execution role
                out.setdefault(role, _Resource(role, "AWS::IAM::Role", {}, {}, (), True))
        for resource in out.values():
            for i, other in enumerate(resource.depends_on):
                if other not in out:
                    raise self.error(f"DependsOn {other!r}: no resource of that name",
                                      ("Resources", resource.logical_id, "DependsOn", i))
        return out

    def order(self) -> list[_Resource]:
        """The resources, each after those it depends on; a cycle is an error."""
        needs: dict[str, set[str]] = {}
        for rid, resource in self.resources.items():
            named = references(resource.properties) | set(resource.depends_on)
            needs[rid] = {n for n in named if n in self.resources and n != rid}
        users: dict[str, list[str]] = {rid: [] for rid in self.resources}
        for rid, deps in needs.items():
            for dep in deps:
                users[dep].append(rid)
        index = {rid: i for i, rid in enumerate(self.resources)}
        waiting = {rid: len(deps) for rid, deps in needs.items()}
        ready = [(_RANK.get(self.resources[r].type, 7 if self.resources[r].type not in
                            FUNCTION_TYPES else 0), index[r], r)
                 for r, n in waiting.items() if n == 0]
        heapq.heapify(ready)
        out = []
        while ready:
            _rank, _i, rid = heapq.heappop(ready)
            out.append(self.resources[rid])
            for user in users[rid]:
                waiting[user] -= 1
                if waiting[user] == 0:
                    kind = self.resources[user].type
                    heapq.heappush(ready, (_RANK.get(kind, 0 if kind in FUNCTION_TYPES
                                                     else 7), index[user], user))
        if len(out) < len(self.resources):
            raise self.error("circular dependency: " + self._cycle(needs, waiting),
                              ("Resources", next(r for r, n in waiting.items() if n)))
        return out

    @staticmethod
    def _cycle(needs: Mapping[str, set[str]], waiting: Mapping[str, int]) -> str:
        stuck = {r for r, n in waiting.items() if n}
        start = min(stuck)
        trail = [start]
        while True:
            step = min(d for d in needs[trail[-1]] if d in stuck)
            if step in trail:
                loop = trail[trail.index(step):] + [step]
                return " -> ".join(loop) + " (by DependsOn, Ref, Fn::GetAtt or Fn::Sub)"
            trail.append(step)

    def outputs(self) -> dict[str, Any]:
        """The ``Outputs`` whose condition holds, name -> evaluated ``Value``."""
        out = {}
        for name, spec in (self.document.get("Outputs") or {}).items():
            path = ("Outputs", name)
            if not isinstance(spec, dict) or "Value" not in spec:
                raise self.error("an output must be a map with a Value", path)
            condition = spec.get("Condition")
            if condition is None or self._condition(str(condition), path + ("Condition",)):
                out[name] = self.scope.resolve(spec["Value"], path + ("Value",))
        return out

    def properties(self, resource: _Resource) -> dict[str, Any]:
        path = ("Resources", resource.logical_id, "Properties")
        props = dict(resource.properties)
        if self.sam and resource.type == "AWS::Serverless::Function":
            defaults = (self.document.get("Globals") or {}).get("Function") or {}
            props = merge_globals(defaults, props)
        resolved = self.scope.resolve(props, path)
        return resolved if isinstance(resolved, dict) else {}


class _Build:
    """One load: each resource in order, onto the gateway and the registry."""

    def __init__(self, run: _Run, gateway: Gateway, registry: FunctionRegistry,
                 prior: Prior) -> None:
        self.run = run
        self.gateway = gateway
        self.registry = registry
        self.provisioner = Provisioner(gateway, registry, prior)
        self.functions: dict[str, TemplateFunction] = {}
        self.skipped: list[Skipped] = []
        self.warnings: list[str] = []
        self._environment: dict[str, tuple[str, str]] = {}

    def resource(self, resource: _Resource) -> None:
        rid, pseudo = resource.logical_id, self.run.pseudo
        if resource.implicit:
            self.run.physical[rid] = _placeholder(resource.type, rid, {}, pseudo)
        elif resource.type in FUNCTION_TYPES:
            self.function(resource)
        elif resource.type in API_TYPES:
            self.api_part(resource)
        else:
            try:
                props = self.run.properties(resource)
            except TemplateError:  # a placeholder needs no exact properties
                props = dict(resource.properties)
            self.run.physical[rid] = _placeholder(resource.type, rid, props, pseudo)
            self.skipped.append(Skipped(rid, resource.type,
                                        _NOT_SERVED.get(resource.type, "not emulated")))

    def function(self, resource: _Resource) -> None:
        rid, pseudo = resource.logical_id, self.run.pseudo
        props = self.run.properties(resource)
        events = props.get("Events") if resource.type == "AWS::Serverless::Function" else None
        for event, spec in (events.items() if isinstance(events, dict) else []):
            kind = spec.get("Type") if isinstance(spec, dict) else None
            self.skipped.append(Skipped(f"{rid}.Events.{event}", f"SAM event {kind}",
                                        "not served (framer runs WebSocket APIs; SAM has no "
                                        "WebSocket event)"))
        try:
            function = function_from_properties(
                rid, resource.type, props, resource.metadata, base=self.run.base,
                stack_name=pseudo.stack_name,
                where=self.run.where(("Resources", rid, "Properties")))
            handler = handler_for(function, pseudo.region)
        except TemplateError as exc:
            raise self.run.locate(exc) from None
        name = function.function.name
        self.functions[name] = function
        self.registry.add(name, handler,
                          spec=f"{function.function.handler} ({function.function.code_dir})")
        for key, value in function.function.environment.items():
            seen = self._environment.setdefault(key, (value, name))
            if seen[0] != value:
                self.warnings.append(f"functions {seen[1]} and {name} set {key} differently; "
                                     "in-process functions share one environment")
        arn = f"arn:{pseudo.partition}:lambda:{pseudo.region}:{pseudo.account_id}:function:{name}"
        self.run.physical[rid] = Physical(name, {"Arn": arn})

    def api_part(self, resource: _Resource) -> None:
        rid = resource.logical_id
        others = self.provisioner.other_apis
        if resource.type != "AWS::ApiGatewayV2::Api":
            path = ("Resources", rid, "Properties", "ApiId")
            api_id = self.run.scope.resolve(resource.properties.get("ApiId"), path)
            if api_id in others:
                self.skipped.append(Skipped(rid, resource.type,
                                            f"part of {api_id}, an {others[api_id]} API"))
                self.run.physical[rid] = Physical(rid, {})
                return
            if not self.provisioner.serves(api_id):
                raise self.run.error(f"ApiId {api_id!r} is no AWS::ApiGatewayV2::Api of the "
                                     "template", path)
        props = self.run.properties(resource)
        try:
            self.run.physical[rid] = self.provisioner.provision(resource.type, rid, props)
        except TemplateError as exc:
            raise self.run.locate(exc) from None
        if rid in others:
            self.skipped.append(Skipped(rid, resource.type, f"an {others[rid]} API: not "
                                        "served (framer runs WebSocket APIs)"))

    def finish(self, fmt: Optional[str], watched: tuple[Path, ...]) -> tuple[App, Prior]:
        try:
            self.provisioner.finish()
        except ApiGatewayError as exc:  # from the AutoDeploy deployments
            raise TemplateError(str(exc), file=self.run.file) from None
        apis = tuple(_api_entry(self.gateway, logical_id, api_id, self.functions)
                     for logical_id, api_id in self.provisioner.websocket_apis.items())
        for function in self.functions.values():
            if function.problem is not None:
                self.warnings.append(
                    f"function {function.function.name} ({function.logical_id}) cannot run: "
                    f"{function.problem}; its routes answer as a failing integration does")
        app = App(file=self.run.file, format=fmt or ("sam" if self.run.sam else "cloudformation"),
                  apis=apis, functions=tuple(self.functions.values()),
                  skipped=tuple(self.skipped), warnings=tuple(self.warnings),
                  watched=watched or (self.run.file,), outputs=self.run.outputs())
        return app, Prior(dict(self.provisioner.websocket_apis))


def run_template(document: Any, *, file: Path, gateway: Gateway, registry: FunctionRegistry,
                 overrides: Mapping[str, str], pseudo: Pseudo, prior: Optional[Prior] = None,
                 origins: Optional[Mapping[str, str]] = None, fmt: Optional[str] = None,
                 watched: tuple[Path, ...] = ()) -> tuple[App, Prior]:
    """Provision ``document`` (a parsed CloudFormation template) onto ``gateway``,
    its functions into ``registry``; the ``App`` made and the ``Prior`` for a
    later reload. Raises ``TemplateError`` (file, place, property)."""
    run = _Run(document, file=file, base=file.parent, overrides=overrides, pseudo=pseudo,
               origins=origins or {})
    build = _Build(run, gateway, registry, prior or Prior())
    for resource in run.order():
        build.resource(resource)
    return build.finish(fmt, watched)


def _api_entry(gateway: Gateway, logical_id: str, api_id: str,
               functions: Mapping[str, TemplateFunction]) -> ApiEntry:
    api = gateway.get_api(api_id)
    integrations = {i.integration_id: i for i in gateway.get_integrations(api_id)}
    authorizers = {a.authorizer_id: a for a in gateway.get_authorizers(api_id)}
    routes = []
    for route in sorted(gateway.get_routes(api_id), key=lambda r: r.route_key):
        integration = integrations.get(route.integration_id or "")
        kind = integration.integration_type.value if integration is not None else None
        target = ""
        function = None
        if integration is not None and integration.integration_type is IntegrationType.AWS_PROXY:
            target = function_name(integration.integration_uri or "") or ""
            function = functions.get(target)
        elif integration is not None:
            target = integration.integration_uri or ""
        authorizer = authorizers.get(route.authorizer_id or "")
        routes.append(RouteEntry(
            route.route_key, kind, target, function,
            function_name(authorizer.authorizer_uri or "") if authorizer else None))
    return ApiEntry(logical_id, api_id, api.name,
                    tuple(s.stage_name for s in gateway.get_stages(api_id)), tuple(routes))
