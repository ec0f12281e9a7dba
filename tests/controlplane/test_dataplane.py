"""What clients see of APIs made over the control plane: several APIs on one port,
@connections under the API prefix, HTTP_PROXY with stage variables, MOCK,
authorizers, and concurrent control-plane calls."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from .conftest import TIMEOUT, GatewayServer, echo_api, lambda_uri


def test_several_apis_long_and_short_urls(gateway: GatewayServer) -> None:
    c = gateway.client()
    one = echo_api(c, "one", "dev")
    with connect(gateway.ws("/dev"), open_timeout=TIMEOUT) as ws:
        ws.send("a")
        assert ws.recv(timeout=TIMEOUT) == "echo:a"
    two = echo_api(c, "two", "dev")
    # Two APIs have "dev": the short form is refused, naming both long forms.
    with pytest.raises(InvalidStatus) as refused:
        connect(gateway.ws("/dev"), open_timeout=TIMEOUT)
    response = refused.value.response
    assert response.status_code == 400
    message = json.loads(response.body)["message"]
    assert f"/{one}/dev" in message and f"/{two}/dev" in message
    for api_id in (one, two):
        with connect(gateway.ws(f"/{api_id}/dev"), open_timeout=TIMEOUT) as ws:
            ws.send(api_id)
            assert ws.recv(timeout=TIMEOUT) == f"echo:{api_id}"
    with pytest.raises(InvalidStatus) as unknown:
        connect(gateway.ws(f"/{one}/nosuchstage"), open_timeout=TIMEOUT)
    assert unknown.value.response.status_code == 403
    c.delete_stage(ApiId=two, StageName="dev")
    with connect(gateway.ws("/dev"), open_timeout=TIMEOUT) as ws:  # unique again
        ws.send("b")
        assert ws.recv(timeout=TIMEOUT) == "echo:b"


def test_connections_api_under_the_api_prefix(gateway: GatewayServer) -> None:
    c = gateway.client()
    api_id = c.create_api(Name="ids", ProtocolType="WEBSOCKET",
                          RouteSelectionExpression="$request.body.action")["ApiId"]
    integration = c.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                       IntegrationUri=lambda_uri("connect"))
    c.create_route(ApiId=api_id, RouteKey="$connect",
                   Target=f"integrations/{integration['IntegrationId']}")
    c.create_stage(ApiId=api_id, StageName="live")
    c.create_deployment(ApiId=api_id, StageName="live")
    with connect(gateway.ws(f"/{api_id}/live"), open_timeout=TIMEOUT) as ws:
        management = boto3.client(
            "apigatewaymanagementapi", region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{gateway.port}/{api_id}/live",
            aws_access_key_id="testing", aws_secret_access_key="testing")
        (info,) = gateway.app.connections()
        management.post_to_connection(ConnectionId=info.connection_id, Data=b"pushed")
        assert ws.recv(timeout=TIMEOUT) == "pushed"
        got = management.get_connection(ConnectionId=info.connection_id)
        assert got["Identity"]["SourceIp"] == "127.0.0.1"
    with pytest.raises(InvalidStatus) as denied:  # $connect's handler said 403
        connect(gateway.ws(f"/{api_id}/live?deny=1"), open_timeout=TIMEOUT)
    assert denied.value.response.status_code == 403


class _Backend(BaseHTTPRequestHandler):
    seen: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append((self.path, body))
        out = json.dumps({"path": self.path, "body": body.decode()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[str]:
    _Backend.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(TIMEOUT)


def test_http_proxy_with_stage_variables_and_mock(gateway: GatewayServer, backend: str) -> None:
    c = gateway.client()
    api_id = c.create_api(Name="http", ProtocolType="WEBSOCKET",
                          RouteSelectionExpression="$request.body.action")["ApiId"]
    http = c.create_integration(
        ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="POST",
        IntegrationUri="http://${stageVariables.backend}/${stageVariables.env}/messages")
    route = c.create_route(ApiId=api_id, RouteKey="$default",
                           Target=f"integrations/{http['IntegrationId']}",
                           RouteResponseSelectionExpression="$default")
    c.create_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseKey="$default")
    mock = c.create_integration(ApiId=api_id, IntegrationType="MOCK",
                                RequestTemplates={"$default": '{"statusCode": 200}'})
    c.create_integration_response(ApiId=api_id, IntegrationId=mock["IntegrationId"],
                                  IntegrationResponseKey="$default",
                                  ResponseTemplates={"$default": '{"mocked": true}'})
    ping = c.create_route(ApiId=api_id, RouteKey="ping",
                          Target=f"integrations/{mock['IntegrationId']}",
                          RouteResponseSelectionExpression="$default")
    c.create_route_response(ApiId=api_id, RouteId=ping["RouteId"], RouteResponseKey="$default")
    deployment = c.create_deployment(ApiId=api_id)["DeploymentId"]
    for stage, env in (("beta", "b"), ("gamma", "g")):
        c.create_stage(ApiId=api_id, StageName=stage, DeploymentId=deployment,
                       StageVariables={"backend": backend, "env": env})

    with connect(gateway.ws("/beta"), open_timeout=TIMEOUT) as ws:
        ws.send("hello")
        assert json.loads(ws.recv(timeout=TIMEOUT)) == {"path": "/b/messages", "body": "hello"}
        ws.send(json.dumps({"action": "ping"}))
        assert json.loads(ws.recv(timeout=TIMEOUT)) == {"mocked": True}
        # Stage variables are stage settings: they apply without a redeploy.
        c.update_stage(ApiId=api_id, StageName="beta",
                       StageVariables={"backend": backend, "env": "b2"})
        ws.send("again")
        assert json.loads(ws.recv(timeout=TIMEOUT))["path"] == "/b2/messages"
    with connect(gateway.ws("/gamma"), open_timeout=TIMEOUT) as ws:
        ws.send("hi")
        assert json.loads(ws.recv(timeout=TIMEOUT)) == {"path": "/g/messages", "body": "hi"}
    assert [p for p, _ in _Backend.seen] == ["/b/messages", "/b2/messages", "/g/messages"]


def test_authorizer_created_over_the_api(gateway: GatewayServer) -> None:
    c = gateway.client()
    api_id = echo_api(c, "auth", "secure")
    authorizer = c.create_authorizer(
        ApiId=api_id, AuthorizerType="REQUEST", Name="token",
        AuthorizerUri=lambda_uri("authorize"), IdentitySource=["route.request.querystring.token"])
    c.create_route(ApiId=api_id, RouteKey="$connect", AuthorizationType="CUSTOM",
                   AuthorizerId=authorizer["AuthorizerId"])
    with connect(gateway.ws("/secure"), open_timeout=TIMEOUT):  # not deployed yet
        pass
    c.create_deployment(ApiId=api_id, StageName="secure")
    for query, status in (("", 401), ("?token=bad", 403)):
        with pytest.raises(InvalidStatus) as refused:
            connect(gateway.ws(f"/secure{query}"), open_timeout=TIMEOUT)
        assert refused.value.response.status_code == status
    with connect(gateway.ws("/secure?token=good"), open_timeout=TIMEOUT) as ws:
        ws.send("in")
        assert ws.recv(timeout=TIMEOUT) == "echo:in"


def test_concurrent_control_plane_calls_keep_the_state_whole(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with GatewayServer(state) as running:
        c = running.client()
        api_id = c.create_api(Name="busy", ProtocolType="WEBSOCKET",
                              RouteSelectionExpression="$request.body.action")["ApiId"]

        def work(n: int) -> str:
            mine = running.client()
            integration = mine.create_integration(ApiId=api_id, IntegrationType="MOCK")
            mine.create_route(ApiId=api_id, RouteKey=f"k{n}",
                              Target=f"integrations/{integration['IntegrationId']}")
            return str(mine.create_deployment(ApiId=api_id)["DeploymentId"])

        with ThreadPoolExecutor(8) as pool:
            deployments = list(pool.map(work, range(24)))
        routes = {r["RouteKey"] for r in c.get_routes(ApiId=api_id, MaxResults="500")["Items"]}
        assert routes == {f"k{n}" for n in range(24)}
        before = (c.get_routes(ApiId=api_id)["Items"], c.get_integrations(ApiId=api_id)["Items"],
                  c.get_deployments(ApiId=api_id)["Items"])
        assert len(set(deployments)) == 24
    with GatewayServer(state) as again:  # reopened from SQLite
        c = again.client()
        after = (c.get_routes(ApiId=api_id)["Items"], c.get_integrations(ApiId=api_id)["Items"],
                 c.get_deployments(ApiId=api_id)["Items"])
        assert after == before
