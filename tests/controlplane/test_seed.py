"""The seed's whole flow driven by boto3's apigatewayv2 client against framer serve."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

from .conftest import TIMEOUT, GatewayServer, lambda_uri


def _two_way_route(c, api_id: str, key: str, function: str) -> None:
    integration = c.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                       IntegrationUri=lambda_uri(function))
    route = c.create_route(ApiId=api_id, RouteKey=key,
                           Target=f"integrations/{integration['IntegrationId']}",
                           RouteResponseSelectionExpression="$default")
    c.create_route_response(ApiId=api_id, RouteId=route["RouteId"],
                            RouteResponseKey="$default")


def _ask(ws, action: str) -> str:
    ws.send(json.dumps({"action": action}))
    return str(ws.recv(timeout=TIMEOUT))


def test_seed_flow_with_boto3(gateway: GatewayServer) -> None:
    c = gateway.client()
    api = c.create_api(Name="seed", ProtocolType="WEBSOCKET",
                       RouteSelectionExpression="$request.body.action")
    api_id = api["ApiId"]
    assert api["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert api["ApiEndpoint"] == f"ws://127.0.0.1:{gateway.port}/{api_id}"
    assert api["RouteSelectionExpression"] == "$request.body.action"
    _two_way_route(c, api_id, "$default", "echo")

    first = c.create_deployment(ApiId=api_id)
    assert first["DeploymentStatus"] == "DEPLOYED"
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    stage = c.create_stage(ApiId=api_id, StageName="test", DeploymentId=first["DeploymentId"])
    assert stage["StageName"] == "test"
    assert stage["DeploymentId"] == first["DeploymentId"]
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 5000
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == 10000.0
    assert stage["StageVariables"] == {} and stage["RouteSettings"] == {}

    with connect(gateway.ws("/test"), open_timeout=TIMEOUT) as ws:
        assert _ask(ws, "ping") == 'echo:{"action": "ping"}'

        # A new route is not served until it is deployed and the stage moved.
        _two_way_route(c, api_id, "ping", "pong")
        assert _ask(ws, "ping") == 'echo:{"action": "ping"}'
        second = c.create_deployment(ApiId=api_id, Description="with ping")
        assert _ask(ws, "ping") == 'echo:{"action": "ping"}'
        updated = c.update_stage(ApiId=api_id, StageName="test",
                                 DeploymentId=second["DeploymentId"])
        assert updated["DeploymentId"] == second["DeploymentId"]
        assert json.loads(_ask(ws, "ping")) == {"pong": "pong"}

    with connect(gateway.ws(f"/{api_id}/test"), open_timeout=TIMEOUT) as ws:
        assert json.loads(_ask(ws, "ping")) == {"pong": "pong"}

    # Promote test's deployment to prod.
    current = c.get_stage(ApiId=api_id, StageName="test")["DeploymentId"]
    c.create_stage(ApiId=api_id, StageName="prod", DeploymentId=first["DeploymentId"])
    with connect(gateway.ws("/prod"), open_timeout=TIMEOUT) as ws:
        assert _ask(ws, "ping") == 'echo:{"action": "ping"}'
        c.update_stage(ApiId=api_id, StageName="prod", DeploymentId=current)
        assert json.loads(_ask(ws, "ping")) == {"pong": "pong"}

    # create-deployment --stage-name moves the stage in one call.
    third = c.create_deployment(ApiId=api_id, StageName="prod")
    assert c.get_stage(ApiId=api_id, StageName="prod")["DeploymentId"] == third["DeploymentId"]

    # At most 10 stages: the 11th is refused.
    for n in range(3, 11):
        c.create_stage(ApiId=api_id, StageName=f"s{n}", DeploymentId=current)
    with pytest.raises(c.exceptions.TooManyRequestsException) as refused:
        c.create_stage(ApiId=api_id, StageName="s11", DeploymentId=current)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert "Maximum number of stages (10)" in refused.value.response["Error"]["Message"]

    stages = c.get_stages(ApiId=api_id)["Items"]
    assert [s["StageName"] for s in stages] == ["test", "prod"] + [f"s{n}" for n in range(3, 11)]
    assert {s["StageName"]: s["DeploymentId"] for s in stages}["prod"] == third["DeploymentId"]
    deployments = c.get_deployments(ApiId=api_id)["Items"]
    assert [d["DeploymentId"] for d in deployments] == [
        first["DeploymentId"], second["DeploymentId"], third["DeploymentId"]]
    assert c.get_deployment(ApiId=api_id, DeploymentId=second["DeploymentId"])[
        "Description"] == "with ping"


def test_paging_with_max_results_and_next_token(gateway: GatewayServer) -> None:
    c = gateway.client()
    api_id = c.create_api(Name="paged", ProtocolType="WEBSOCKET",
                          RouteSelectionExpression="$request.body.action")["ApiId"]
    keys = [f"r{n}" for n in range(7)]
    for key in keys:
        c.create_route(ApiId=api_id, RouteKey=key)
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"ApiId": api_id, "MaxResults": "3"}
        if token:
            kwargs["NextToken"] = token
        page = c.get_routes(**kwargs)
        pages += 1
        assert len(page["Items"]) <= 3
        seen += [r["RouteKey"] for r in page["Items"]]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3 and seen == keys
    # The paginator the SDK ships works too.
    paginator = c.get_paginator("get_routes")
    items = [r["RouteKey"] for p in paginator.paginate(ApiId=api_id,
                                                       PaginationConfig={"PageSize": 2})
             for r in p["Items"]]
    assert items == keys
    with pytest.raises(c.exceptions.BadRequestException):
        c.get_routes(ApiId=api_id, NextToken="not-a-token")
    with pytest.raises(c.exceptions.BadRequestException):
        c.get_routes(ApiId=api_id, MaxResults="0")
