"""SAM's ``AWS::Serverless::WebSocketApi``, expanded to ``AWS::ApiGatewayV2::*``.

Properties (AWS SAM Developer Guide, "AWS::Serverless::WebSocketApi"):
``Name``, ``Description``, ``RouteSelectionExpression`` (default
``$request.body.action``), ``ApiKeySelectionExpression``, ``Routes`` (route
key -> ``FunctionArn``, ``IntegrationTimeout``, ``ApiKeyRequired``,
``OperationName``, ``RouteResponseSelectionExpression``), ``Auth``
(``AuthType`` ``CUSTOM`` with ``AuthArn``, ``IdentitySource``, ``Name``, or
``AWS_IAM``; on ``$connect``), ``StageName``, ``StageVariables``,
``DefaultRouteSettings``, ``RouteSettings``. The API keeps the resource's
logical id (so ``!Ref`` gives the API id); its parts are named after it.
"""

from __future__ import annotations

from typing import Any, Mapping

from ._serverless import logical_part

__all__ = ["expand_websocket_apis", "WEBSOCKET_API"]

WEBSOCKET_API = "AWS::Serverless::WebSocketApi"
#: The stage when ``StageName`` is not given.
DEFAULT_STAGE = "default"

_INVOKE = ["arn:", {"Ref": "AWS::Partition"}, ":apigateway:", {"Ref": "AWS::Region"},
           ":lambda:path/2015-03-31/functions/"]


def _uri(function_arn: Any) -> dict[str, Any]:
    return {"Fn::Join": ["", [*_INVOKE, function_arn, "/invocations"]]}


def _expand(rid: str, body: Mapping[str, Any]) -> dict[str, Any]:
    props = body.get("Properties") or {}
    keep = {k: body[k] for k in ("DependsOn", "Condition") if k in body}
    api = {"Ref": rid}
    out: dict[str, Any] = {rid: {"Type": "AWS::ApiGatewayV2::Api", **keep, "Properties": {
        "Name": props.get("Name", rid), "ProtocolType": "WEBSOCKET",
        "RouteSelectionExpression": props.get("RouteSelectionExpression",
                                              "$request.body.action"),
        **{k: props[k] for k in ("Description", "ApiKeySelectionExpression") if k in props}}}}
    auth = props.get("Auth") or {}
    if isinstance(auth, dict) and auth.get("AuthType") == "CUSTOM":
        out[f"{rid}Authorizer"] = {"Type": "AWS::ApiGatewayV2::Authorizer", **keep, "Properties": {
            "ApiId": api, "Name": auth.get("Name", f"{rid}Authorizer"),
            "AuthorizerType": "REQUEST", "AuthorizerUri": _uri(auth.get("AuthArn")),
            "IdentitySource": auth.get("IdentitySource", ["route.request.header.Authorization"])}}
    routes = props.get("Routes") or {}
    for key, spec in (routes.items() if isinstance(routes, dict) else []):
        spec = spec if isinstance(spec, dict) else {}
        part = f"{rid}{logical_part(str(key))}"
        integration: dict[str, Any] = {"ApiId": api, "IntegrationType": "AWS_PROXY",
                                       "IntegrationUri": _uri(spec.get("FunctionArn"))}
        if "IntegrationTimeout" in spec:
            integration["TimeoutInMillis"] = spec["IntegrationTimeout"]
        route: dict[str, Any] = {
            "ApiId": api, "RouteKey": key,
            "Target": {"Fn::Join": ["/", ["integrations", {"Ref": f"{part}Integration"}]]},
            **{k: spec[k] for k in ("ApiKeyRequired", "OperationName",
                                    "RouteResponseSelectionExpression") if k in spec}}
        if key == "$connect" and isinstance(auth, dict) and auth.get("AuthType") in (
                "CUSTOM", "AWS_IAM"):
            route["AuthorizationType"] = auth["AuthType"]
            if auth["AuthType"] == "CUSTOM":
                route["AuthorizerId"] = {"Ref": f"{rid}Authorizer"}
        out[f"{part}Integration"] = {"Type": "AWS::ApiGatewayV2::Integration", **keep,
                                     "Properties": integration}
        out[f"{part}Route"] = {"Type": "AWS::ApiGatewayV2::Route", **keep, "Properties": route}
    stage = props.get("StageName", DEFAULT_STAGE)
    out[f"{rid}{logical_part(str(stage))}Stage"] = {"Type": "AWS::ApiGatewayV2::Stage", **keep,
                                                    "Properties": {
        "ApiId": api, "StageName": stage, "AutoDeploy": True,
        **{k: props[k] for k in ("StageVariables", "DefaultRouteSettings", "RouteSettings")
           if k in props}}}
    return out


def expand_websocket_apis(resources: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``resources`` with each WebSocketApi replaced by its parts, and each
    part's origin (``Resources.ID``) for errors."""
    out: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for rid, body in resources.items():
        if isinstance(body, dict) and body.get("Type") == WEBSOCKET_API:
            for part, generated in _expand(rid, body).items():
                out[part] = generated
                origins[part] = f"Resources.{rid}"
        else:
            out[rid] = body
    return out, origins
