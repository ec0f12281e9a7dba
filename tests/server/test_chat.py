"""AWS's chat, handlers unchanged (``examples/sam-chat/src/app.py``: boto3's
``apigatewaymanagementapi`` client at ``"https://" + domainName + "/" + stage``),
broadcasting between two websockets clients under ``framer serve --control-plane
--function ...`` (created with boto3's apigatewayv2 client) and under
``framer serve module:router``.  (``tests/template/test_examples.py`` runs it
under its SAM template.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from websockets.sync.client import connect

from .test_functions import WAIT, Serve

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sam-chat" / "src"


@pytest.fixture
def chat_code(tmp_path: Path) -> Path:
    code = tmp_path / "src"
    shutil.copytree(EXAMPLE, code)
    shutil.copy(Path(__file__).resolve().parent / "chat_router.py", code / "chat_router.py")
    return code


def _broadcast(url: str) -> None:
    with connect(url) as alice, connect(url) as bob:
        alice.send(json.dumps({"action": "sendmessage", "data": "hello from alice"}))
        assert bob.recv(WAIT) == "hello from alice"
        assert alice.recv(WAIT) == "hello from alice"
        bob.send(json.dumps({"action": "sendmessage", "data": "hi alice"}))
        assert alice.recv(WAIT) == "hi alice"
        assert bob.recv(WAIT) == "hi alice"


@pytest.fixture(params=["workers", "in-process"])
def mode_args(request: pytest.FixtureRequest) -> list[str]:
    return ["--in-process"] if request.param == "in-process" else []


def test_chat_under_the_control_plane(chat_code: Path, tmp_path: Path,
                                      mode_args: list[str]) -> None:
    _chat_under_the_control_plane(chat_code, tmp_path, mode_args, ("x", "x"))


def test_chat_in_workers_under_require_sigv4(chat_code: Path, tmp_path: Path) -> None:
    """With ``--require-sigv4 --access-key``, the workers' unchanged boto3 calls
    are signed with that key (framer gives it to them) and pass."""
    _chat_under_the_control_plane(
        chat_code, tmp_path, ["--require-sigv4", "--access-key", "AKIDCHATTEST:chat-secret"],
        ("AKIDCHATTEST", "chat-secret"))


def _chat_under_the_control_plane(chat_code: Path, tmp_path: Path, args: list[str],
                                  key: tuple[str, str]) -> None:
    env = {"CHAT_STORE": str(tmp_path / "chat.sqlite3")}
    server = Serve(chat_code, "--state-dir", str(tmp_path / "state"), *args,
                   "--function", "onconnect=app:on_connect",
                   "--function", "ondisconnect=app:on_disconnect",
                   "--function", "sendmessage=app:send_message", env=env)
    try:
        client = boto3.client("apigatewayv2", endpoint_url=f"http://127.0.0.1:{server.port}",
                              region_name="us-east-1", aws_access_key_id=key[0],
                              aws_secret_access_key=key[1])
        api_id = client.create_api(Name="chat", ProtocolType="WEBSOCKET",
                                   RouteSelectionExpression="$request.body.action")["ApiId"]
        for key, name in (("$connect", "onconnect"), ("$disconnect", "ondisconnect"),
                          ("sendmessage", "sendmessage")):
            uri = (f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                   f"arn:aws:lambda:us-east-1:123456789012:function:{name}/invocations")
            integration = client.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                                    IntegrationUri=uri)["IntegrationId"]
            client.create_route(ApiId=api_id, RouteKey=key,
                                Target=f"integrations/{integration}")
        client.create_stage(ApiId=api_id, StageName="prod")
        client.create_deployment(ApiId=api_id, StageName="prod")
        _broadcast(f"ws://127.0.0.1:{server.port}/{api_id}/prod")
    finally:
        server.stop()
    assert not any("status=failed" in line for line in server.lines), "\n".join(server.lines)


def test_chat_under_a_router(chat_code: Path, tmp_path: Path, mode_args: list[str]) -> None:
    from .test_functions import _free_port

    port = _free_port()
    server = Serve(chat_code, "chat_router:router", *mode_args,
                   env={"CHAT_STORE": str(tmp_path / "chat.sqlite3"), "PORT": str(port)},
                   port=port)
    try:
        _broadcast(server.url("prod"))
    finally:
        server.stop()


def test_region_option_is_the_region_of_domain_names_arns_and_environment(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).resolve().parent / "functions_app.py", tmp_path)
    server = Serve(tmp_path, "--state-dir", str(tmp_path / "state"), "--region", "eu-west-2",
                   "--function", "env=functions_app:env")
    try:
        client = boto3.client("apigatewayv2", endpoint_url=f"http://127.0.0.1:{server.port}",
                              region_name="eu-west-2", aws_access_key_id="x",
                              aws_secret_access_key="x")
        api_id = client.create_api(Name="r", ProtocolType="WEBSOCKET",
                                   RouteSelectionExpression="$request.body.action")["ApiId"]
        uri = ("arn:aws:apigateway:eu-west-2:lambda:path/2015-03-31/functions/"
               "arn:aws:lambda:eu-west-2:123456789012:function:env/invocations")
        integration = client.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                                IntegrationUri=uri)["IntegrationId"]
        route = client.create_route(ApiId=api_id, RouteKey="$default",
                                    RouteResponseSelectionExpression="$default",
                                    Target=f"integrations/{integration}")["RouteId"]
        client.create_route_response(ApiId=api_id, RouteId=route, RouteResponseKey="$default")
        client.create_stage(ApiId=api_id, StageName="dev")
        client.create_deployment(ApiId=api_id, StageName="dev")
        with connect(f"ws://127.0.0.1:{server.port}/{api_id}/dev") as ws:
            ws.send("where")
            answer = json.loads(ws.recv(WAIT))
    finally:
        server.stop()
    assert answer["domainName"] == f"{api_id}.execute-api.eu-west-2.amazonaws.com"
    assert answer["arn"] == "arn:aws:lambda:eu-west-2:123456789012:function:env"
    assert answer["env"]["AWS_REGION"] == "eu-west-2"
