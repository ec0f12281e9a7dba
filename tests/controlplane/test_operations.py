"""The update/get/delete operations the seed flow does not use, through boto3.

Each call is checked by its effect as a later read sees it, and by the
status code botocore's model gives the operation.
"""

from __future__ import annotations

import pytest

from .conftest import GatewayServer, lambda_uri


def status(response: dict) -> int:
    return response["ResponseMetadata"]["HTTPStatusCode"]


def test_update_get_delete_operations(gateway: GatewayServer) -> None:
    c = gateway.client()
    api_id = c.create_api(Name="ops", ProtocolType="WEBSOCKET",
                          RouteSelectionExpression="$request.body.action")["ApiId"]

    # UpdateApi
    updated = c.update_api(ApiId=api_id, Name="ops-renamed", Description="after")
    assert status(updated) == 200
    assert c.get_api(ApiId=api_id)["Name"] == "ops-renamed"
    assert c.get_api(ApiId=api_id)["Description"] == "after"

    # GetIntegration / UpdateIntegration
    integration_id = c.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=lambda_uri("echo"),
    )["IntegrationId"]
    got = c.get_integration(ApiId=api_id, IntegrationId=integration_id)
    assert status(got) == 200 and got["IntegrationType"] == "AWS_PROXY"
    assert got["TimeoutInMillis"] == 29000
    c.update_integration(ApiId=api_id, IntegrationId=integration_id, TimeoutInMillis=5000)
    assert c.get_integration(ApiId=api_id, IntegrationId=integration_id)["TimeoutInMillis"] == 5000
    with pytest.raises(c.exceptions.BadRequestException):
        c.update_integration(ApiId=api_id, IntegrationId=integration_id, TimeoutInMillis=29001)

    # UpdateRoute / GetRouteResponses / DeleteRoute
    route_id = c.create_route(ApiId=api_id, RouteKey="echo")["RouteId"]
    c.update_route(ApiId=api_id, RouteId=route_id, Target=f"integrations/{integration_id}",
                   RouteResponseSelectionExpression="$default")
    route = c.get_route(ApiId=api_id, RouteId=route_id)
    assert route["Target"] == f"integrations/{integration_id}"
    assert route["RouteResponseSelectionExpression"] == "$default"
    c.create_route_response(ApiId=api_id, RouteId=route_id, RouteResponseKey="$default")
    responses = c.get_route_responses(ApiId=api_id, RouteId=route_id)
    assert status(responses) == 200
    assert [r["RouteResponseKey"] for r in responses["Items"]] == ["$default"]
    other = c.create_route(ApiId=api_id, RouteKey="gone")["RouteId"]
    assert status(c.delete_route(ApiId=api_id, RouteId=other)) == 204
    assert [r["RouteKey"] for r in c.get_routes(ApiId=api_id)["Items"]] == ["echo"]
    with pytest.raises(c.exceptions.NotFoundException):
        c.get_route(ApiId=api_id, RouteId=other)

    # DeleteIntegration
    spare = c.create_integration(ApiId=api_id, IntegrationType="MOCK")["IntegrationId"]
    assert status(c.delete_integration(ApiId=api_id, IntegrationId=spare)) == 204
    assert [i["IntegrationId"] for i in c.get_integrations(ApiId=api_id)["Items"]] == [integration_id]
    with pytest.raises(c.exceptions.NotFoundException):
        c.get_integration(ApiId=api_id, IntegrationId=spare)

    # DeleteAuthorizer
    authorizer_id = c.create_authorizer(
        ApiId=api_id, AuthorizerType="REQUEST", Name="auth", AuthorizerUri=lambda_uri("authorize"),
        IdentitySource=["route.request.header.Auth"])["AuthorizerId"]
    assert status(c.delete_authorizer(ApiId=api_id, AuthorizerId=authorizer_id)) == 204
    assert c.get_authorizers(ApiId=api_id)["Items"] == []

    # DeleteDeployment
    first = c.create_deployment(ApiId=api_id)["DeploymentId"]
    second = c.create_deployment(ApiId=api_id)["DeploymentId"]
    assert status(c.delete_deployment(ApiId=api_id, DeploymentId=first)) == 204
    assert [d["DeploymentId"] for d in c.get_deployments(ApiId=api_id)["Items"]] == [second]
    with pytest.raises(c.exceptions.NotFoundException):
        c.get_deployment(ApiId=api_id, DeploymentId=first)

    # DeleteApi, then it is gone
    assert status(c.delete_api(ApiId=api_id)) == 204
    with pytest.raises(c.exceptions.NotFoundException):
        c.get_api(ApiId=api_id)
