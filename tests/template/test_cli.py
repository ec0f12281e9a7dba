"""``framer serve --template``: errors, discovery, failing runtimes, --reload."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from websockets.sync.client import connect

from .conftest import EXAMPLES, TemplateServer, code_dir, run_cli, write

ECHO = """
Parameters:
  Reply: {Type: String, Default: echo, AllowedPattern: "[a-z]+"}
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: echo, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, CodeUri: src/, Handler: app.echo}
  Node:
    Type: AWS::Serverless::Function
    Properties: {Runtime: nodejs20.x, CodeUri: src/, Handler: index.handler}
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Fn.Arn}
  NodeIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Node.Arn}
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: !Ref Reply, RouteResponseSelectionExpression: $default, Target: !Sub "integrations/${Integration}"}
  Response:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties: {ApiId: !Ref Api, RouteId: !Ref Route, RouteResponseKey: $default}
  NodeRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: node, Target: !Sub "integrations/${NodeIntegration}"}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: dev, AutoDeploy: true}
"""


@pytest.mark.parametrize(("edit", "args", "expected"), [
    (("Resources:", "Resources:\n  Broken: [unclosed"), [], "template.yaml:5: invalid YAML"),
    (("!GetAtt Fn.Arn", "{'Fn::Magic': x}"), [],
     "Resources.Integration.Properties.IntegrationUri: unknown intrinsic function Fn::Magic"),
    (("!Ref Reply", "!Ref Nope"), [], "Resources.Route.Properties.RouteKey: Ref to 'Nope'"),
    (("  Stage:\n", "  Stage:\n    DependsOn: Later\n"),
     [], "circular dependency"),
    (('!Sub "integrations/${NodeIntegration}"', "integrations/nothing"), [],
     "Resources.NodeRoute.Properties.Target: Target 'integrations/nothing' is no integration"),
    (("Handler: app.echo", "Handler: nomodule.echo"), [],
     "Resources.Fn.Properties.Handler: function"),
    ((), ["--parameter-overrides", "Reply=NOT-LOWER"],
     "Parameters.Reply: value 'NOT-LOWER' does not match AllowedPattern '[a-z]+'"),
    ((), ["--stage", "prod"], "--stage selects a serverless.yml stage"),
    ((), ["--demo"], "--template serves the template's APIs; not with module:attr, --demo"),
    ((), ["--parameter-overrides", "novalue"], "'novalue' is not Key=Value"),
])
def test_bad_templates_exit_2_with_one_line(tmp_path: Path, edit: tuple[str, ...],
                                            args: list[str], expected: str) -> None:
    code_dir(tmp_path)
    text = ECHO
    if edit:
        text = text.replace(*edit)
    if "DependsOn: Later" in text:
        text += "  Later:\n    Type: AWS::SNS::Topic\n    DependsOn: Stage\n"
    path = write(tmp_path, text)
    done = run_cli("--template", str(path), "--log-level", "info", *args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("framer: error: "), done.stderr
    assert expected in lines[0]
    assert "serving on" not in done.stderr  # nothing was started


def test_discovers_the_template_in_the_current_directory(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES / "serverless-chat", tmp_path / "app")
    server = TemplateServer(cwd=tmp_path / "app")
    try:
        assert server.banner[0].startswith("framer: serverless.yml (serverless)")
    finally:
        server.stop()
    code_dir(tmp_path / "app")
    write(tmp_path / "app", ECHO)  # template.yaml comes before serverless.yml
    server = TemplateServer(cwd=tmp_path / "app")
    try:
        assert server.banner[0].startswith("framer: template.yaml (cloudformation)")
    finally:
        server.stop()
    server = TemplateServer("-t", str(tmp_path / "app"))  # a directory: looked in
    try:
        assert server.banner[0].startswith(f"framer: {tmp_path / 'app' / 'template.yaml'} ")
    finally:
        server.stop()
    done = run_cli(cwd=tmp_path)
    assert done.returncode == 2 and "nothing to serve" in done.stderr


def test_a_non_python_function_fails_its_routes_only(tmp_path: Path) -> None:
    code_dir(tmp_path)
    server = TemplateServer("-t", str(write(tmp_path, ECHO)))
    try:
        warnings = [line for line in server.banner if "cannot run" in line]
        assert len(warnings) == 1 and "nodejs20.x is not python3.x" in warnings[0]
        assert any("route node" in line and "[CANNOT RUN]" in line for line in server.banner)
        with connect(server.url("/dev")) as ws:
            ws.send(json.dumps({"action": "node"}))
            assert json.loads(ws.recv(timeout=10))["message"] == "Internal server error"
            ws.send(json.dumps({"action": "echo", "n": 1}))
            assert json.loads(ws.recv(timeout=10)) == {"action": "echo", "n": 1}
    finally:
        server.stop()


def test_reload_applies_a_new_deployment_and_keeps_connections(tmp_path: Path) -> None:
    code_dir(tmp_path)
    path = write(tmp_path, ECHO)
    server = TemplateServer("-t", str(path), "--reload")
    try:
        with connect(server.url("/dev")) as ws:
            ws.send(json.dumps({"action": "echo"}))
            assert json.loads(ws.recv(timeout=10)) == {"action": "echo"}
            path.write_text(textwrap.dedent(ECHO).replace("Default: echo", "Default: again"))
            assert "new deployment on Api/dev" in server.wait_for("reloaded|reload failed")
            ws.send(json.dumps({"action": "again"}))  # the same connection, the new route
            assert json.loads(ws.recv(timeout=10)) == {"action": "again"}
            ws.send(json.dumps({"action": "echo"}))  # gone with the old deployment
            assert json.loads(ws.recv(timeout=10))["message"] == "Forbidden"
            path.write_text(ECHO.replace("Resources:", "Resources: ["))
            line = server.wait_for("reloaded|reload failed")
            assert "reload failed, still serving the last good template" in line
            assert "invalid YAML" in line
            ws.send(json.dumps({"action": "again"}))
            assert json.loads(ws.recv(timeout=10)) == {"action": "again"}
        with connect(server.url("/dev")) as fresh:
            fresh.send(json.dumps({"action": "again"}))
            assert json.loads(fresh.recv(timeout=10)) == {"action": "again"}
    finally:
        server.stop()


def test_one_reload_flag_also_replaces_a_functions_workers(tmp_path: Path) -> None:
    source = code_dir(tmp_path) / "app.py"
    path = write(tmp_path, ECHO)
    server = TemplateServer("-t", str(path), "--reload", "--log-level", "info")
    try:
        with connect(server.url("/dev")) as ws:
            ws.send(json.dumps({"action": "echo"}))
            assert json.loads(ws.recv(timeout=10)) == {"action": "echo"}
            source.write_text(source.read_text().replace(
                'return {"statusCode": 200, "body": event.get("body") or ""}',
                'return {"statusCode": 200, "body": "changed"}'))
            assert "app.py changed" in server.wait_for(r"Reloading function '[^']*Fn[^']*'")
            ws.send(json.dumps({"action": "echo"}))  # the same connection, the new code
            assert ws.recv(timeout=10) == "changed"
    finally:
        server.stop()
