"""Control-plane errors as boto3 sees them, and the raw wire shapes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from .conftest import TIMEOUT, GatewayServer, lambda_uri


def _api(c) -> str:
    return c.create_api(Name="errors", ProtocolType="WEBSOCKET",
                        RouteSelectionExpression="$request.body.action")["ApiId"]


def test_unknown_api_is_not_found(gateway: GatewayServer) -> None:
    c = gateway.client()
    with pytest.raises(c.exceptions.NotFoundException) as raised:
        c.get_api(ApiId="nosuchapi1")
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Error"]["Message"] == "Invalid API identifier specified 123456789012:nosuchapi1"
    with pytest.raises(c.exceptions.NotFoundException):
        c.create_deployment(ApiId="nosuchapi1")
    with pytest.raises(c.exceptions.NotFoundException):
        c.get_stages(ApiId="nosuchapi1")


def test_duplicate_route_key_is_a_conflict(gateway: GatewayServer) -> None:
    c = gateway.client()
    api_id = _api(c)
    c.create_route(ApiId=api_id, RouteKey="$connect")
    with pytest.raises(c.exceptions.ConflictException) as raised:
        c.create_route(ApiId=api_id, RouteKey="$connect")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert raised.value.response["Error"]["Message"] == \
        "Route with key $connect already exists for this API"


def test_authorizer_only_on_connect(gateway: GatewayServer) -> None:
    c = gateway.client()
    api_id = _api(c)
    authorizer = c.create_authorizer(
        ApiId=api_id, AuthorizerType="REQUEST", Name="auth",
        AuthorizerUri=lambda_uri("authorize"),
        IdentitySource=["route.request.querystring.token"])
    assert authorizer["ResponseMetadata"]["HTTPStatusCode"] == 201
    with pytest.raises(c.exceptions.BadRequestException) as raised:
        c.create_route(ApiId=api_id, RouteKey="sendmessage", AuthorizationType="CUSTOM",
                       AuthorizerId=authorizer["AuthorizerId"])
    assert raised.value.response["Error"]["Message"] == \
        "Currently, authorization is restricted to the $connect route only"
    route = c.create_route(ApiId=api_id, RouteKey="$connect", AuthorizationType="CUSTOM",
                           AuthorizerId=authorizer["AuthorizerId"])
    assert route["AuthorizerId"] == authorizer["AuthorizerId"]
    assert [a["Name"] for a in c.get_authorizers(ApiId=api_id)["Items"]] == ["auth"]


def test_unmapped_function_and_bad_input(gateway: GatewayServer) -> None:
    c = gateway.client()
    api_id = _api(c)
    with pytest.raises(c.exceptions.BadRequestException) as raised:
        c.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                             IntegrationUri=lambda_uri("nosuchfunction"))
    message = raised.value.response["Error"]["Message"]
    assert "--function nosuchfunction=module:callable" in message and "echo" in message
    with pytest.raises(c.exceptions.BadRequestException):
        c.create_api(Name="x", ProtocolType="WEBSOCKET")  # no route selection expression
    with pytest.raises(c.exceptions.BadRequestException):
        c.create_api(Name="x", ProtocolType="HTTP")
    with pytest.raises(c.exceptions.BadRequestException):
        c.create_deployment(ApiId=api_id)  # no routes yet
    with pytest.raises(c.exceptions.BadRequestException):
        c.create_stage(ApiId=api_id, StageName="bad name")


def _raw(gateway: GatewayServer, method: str, path: str, body: bytes | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{gateway.port}{path}", data=body,
                                     method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_wire_shapes(gateway: GatewayServer) -> None:
    status, headers, body = _raw(gateway, "POST", "/v2/apis", json.dumps({
        "name": "wire", "protocolType": "WEBSOCKET",
        "routeSelectionExpression": "$request.body.action"}).encode())
    assert status == 201
    created = json.loads(body)
    assert created["apiEndpoint"] == f"ws://127.0.0.1:{gateway.port}/{created['apiId']}"
    assert set(created) >= {"apiId", "name", "protocolType", "routeSelectionExpression",
                            "createdDate", "apiKeySelectionExpression"}
    status, headers, body = _raw(gateway, "GET", "/v2/apis/zzzzzzzzzz")
    assert status == 404 and headers["x-amzn-ErrorType"] == "NotFoundException"
    assert json.loads(body) == {
        "message": "Invalid API identifier specified 123456789012:zzzzzzzzzz",
        "resourceType": "Api"}
    status, headers, body = _raw(gateway, "POST", "/v2/apis", b"{not json")
    assert status == 400 and headers["x-amzn-ErrorType"] == "BadRequestException"
    status, _, body = _raw(gateway, "GET", "/v2/apis")
    assert status == 200 and [a["name"] for a in json.loads(body)["items"]] == ["wire"]
    status, _, body = _raw(gateway, "DELETE", f"/v2/apis/{created['apiId']}")
    assert status == 204 and body == b""
    status, headers, _ = _raw(gateway, "GET", "/v2/domainnames")
    assert status == 404 and headers["x-amzn-ErrorType"] == "NotFoundException"
