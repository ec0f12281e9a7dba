"""State survives a SIGKILL of framer serve: same APIs, same stages, same deployments."""

from __future__ import annotations

import json
from pathlib import Path

from websockets.sync.client import connect

from .conftest import TIMEOUT, ServeProcess, client, lambda_uri

FUNCTIONS = ("echo=handlers:echo", "pong=handlers:pong")


def _ask(port: int, path: str, text: str) -> str:
    with connect(f"ws://127.0.0.1:{port}{path}", open_timeout=TIMEOUT) as ws:
        ws.send(text)
        return str(ws.recv(timeout=TIMEOUT))


def test_restart_after_sigkill_serves_the_same_stages(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = ServeProcess(state, *FUNCTIONS)
    try:
        c = client(first.port)
        api_id = c.create_api(Name="durable", ProtocolType="WEBSOCKET",
                              RouteSelectionExpression="$request.body.action")["ApiId"]
        echo = c.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                    IntegrationUri=lambda_uri("echo"))
        route = c.create_route(ApiId=api_id, RouteKey="$default",
                               Target=f"integrations/{echo['IntegrationId']}",
                               RouteResponseSelectionExpression="$default")
        c.create_route_response(ApiId=api_id, RouteId=route["RouteId"],
                                RouteResponseKey="$default")
        old = c.create_deployment(ApiId=api_id)["DeploymentId"]
        c.create_stage(ApiId=api_id, StageName="prod", DeploymentId=old,
                       StageVariables={"color": "blue"})
        pong = c.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                    IntegrationUri=lambda_uri("pong"))
        ping = c.create_route(ApiId=api_id, RouteKey="ping",
                              Target=f"integrations/{pong['IntegrationId']}",
                              RouteResponseSelectionExpression="$default")
        new = c.create_deployment(ApiId=api_id)["DeploymentId"]
        c.create_stage(ApiId=api_id, StageName="test", DeploymentId=new)
        # A route added after the last deployment: saved, but served by no stage.
        c.create_route(ApiId=api_id, RouteKey="undeployed",
                       Target=f"integrations/{pong['IntegrationId']}")
        before = {
            "stages": c.get_stages(ApiId=api_id)["Items"],
            "routes": c.get_routes(ApiId=api_id)["Items"],
            "deployments": c.get_deployments(ApiId=api_id)["Items"],
        }
        ping_text = json.dumps({"action": "ping"})
        assert _ask(first.port, "/prod", ping_text) == f"echo:{ping_text}"
        assert json.loads(_ask(first.port, "/test", ping_text)) == {"pong": "pong"}
    finally:
        first.kill()
    assert first.proc.returncode == -9

    second = ServeProcess(state, *FUNCTIONS)
    try:
        assert any("1 API(s) restored" in line for line in second.banner), second.banner
        assert any(f"/{api_id}/prod" in line for line in second.banner)
        c = client(second.port)
        assert c.get_api(ApiId=api_id)["ApiEndpoint"] == f"ws://127.0.0.1:{second.port}/{api_id}"
        after = {
            "stages": c.get_stages(ApiId=api_id)["Items"],
            "routes": c.get_routes(ApiId=api_id)["Items"],
            "deployments": c.get_deployments(ApiId=api_id)["Items"],
        }
        assert after == before
        stages = {s["StageName"]: s for s in after["stages"]}
        assert stages["prod"]["DeploymentId"] == old and stages["test"]["DeploymentId"] == new
        assert stages["prod"]["StageVariables"] == {"color": "blue"}
        # Each stage serves the deployment it served before the kill.
        assert _ask(second.port, "/prod", ping_text) == f"echo:{ping_text}"
        assert json.loads(_ask(second.port, "/test", ping_text)) == {"pong": "pong"}
        assert json.loads(_ask(second.port, f"/{api_id}/test", ping_text)) == {"pong": "pong"}
        undeployed = json.dumps({"action": "undeployed"})
        assert _ask(second.port, "/test", undeployed) == f"echo:{undeployed}"
        # And it keeps working: a new deployment after the restart.
        assert c.get_route(ApiId=api_id, RouteId=ping["RouteId"])["RouteKey"] == "ping"
        c.create_deployment(ApiId=api_id, StageName="prod")
        assert json.loads(_ask(second.port, "/prod", ping_text)) == {"pong": "pong"}
    finally:
        assert second.stop() == 0


def test_unmapped_function_after_restart_is_reported_and_fails_cleanly(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = ServeProcess(state, *FUNCTIONS)
    try:
        c = client(first.port)
        api_id = c.create_api(Name="x", ProtocolType="WEBSOCKET",
                              RouteSelectionExpression="$request.body.action")["ApiId"]
        pong = c.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                    IntegrationUri=lambda_uri("pong"))
        c.create_route(ApiId=api_id, RouteKey="$default",
                       Target=f"integrations/{pong['IntegrationId']}",
                       RouteResponseSelectionExpression="$default")
        c.create_deployment(ApiId=api_id, Description="d")
        c.create_stage(ApiId=api_id, StageName="only",
                       DeploymentId=c.get_deployments(ApiId=api_id)["Items"][0]["DeploymentId"])
    finally:
        first.kill()
    second = ServeProcess(state, "echo=handlers:echo")  # pong left out
    try:
        assert any("function pong is not mapped" in line for line in second.banner), second.banner
        reply = json.loads(_ask(second.port, "/only", "hi"))
        assert reply["message"] == "Internal server error"
    finally:
        assert second.stop() == 0


def test_second_server_on_the_same_state_dir_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = ServeProcess(state)
    try:
        try:
            ServeProcess(state)
        except AssertionError as exc:
            assert "in use by another framer process" in str(exc)
        else:  # pragma: no cover - the failure being tested for
            raise AssertionError("a second server shared the state directory")
    finally:
        assert first.stop() == 0
