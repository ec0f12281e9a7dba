"""The AWS CLI itself runs the seed's three commands against framer serve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from .conftest import TIMEOUT, GatewayServer, lambda_uri

pytest.importorskip("awscli")


def aws(gateway: GatewayServer, tmp_path: Path, *args: str) -> Any:
    """Run ``aws apigatewayv2 ARGS --endpoint-url ...`` and parse its JSON output."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="",
               AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"))
    env.pop("AWS_PROFILE", None)
    done = subprocess.run(
        [sys.executable, "-m", "awscli", "apigatewayv2", "--region", "us-east-1", *args,
         "--endpoint-url", f"http://127.0.0.1:{gateway.port}", "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_seed_commands_with_the_aws_cli(gateway: GatewayServer, tmp_path: Path) -> None:
    api = aws(gateway, tmp_path, "create-api", "--name", "cli", "--protocol-type", "WEBSOCKET",
              "--route-selection-expression", "$request.body.action")
    api_id = api["ApiId"]
    assert api["ApiEndpoint"] == f"ws://127.0.0.1:{gateway.port}/{api_id}"
    integration = aws(gateway, tmp_path, "create-integration", "--api-id", api_id,
                      "--integration-type", "AWS_PROXY", "--integration-uri",
                      lambda_uri("echo"))
    route = aws(gateway, tmp_path, "create-route", "--api-id", api_id, "--route-key", "$default",
                "--target", f"integrations/{integration['IntegrationId']}",
                "--route-response-selection-expression", "$default")
    aws(gateway, tmp_path, "create-route-response", "--api-id", api_id,
        "--route-id", route["RouteId"], "--route-response-key", "$default")

    # The seed: aws apigatewayv2 create-deployment --api-id ...
    deployment = aws(gateway, tmp_path, "create-deployment", "--api-id", api_id)
    assert set(deployment) >= {"DeploymentId", "DeploymentStatus", "CreatedDate"}
    assert deployment["DeploymentStatus"] == "DEPLOYED"
    assert deployment["CreatedDate"].startswith("20")

    # aws apigatewayv2 create-stage --api-id ... --deployment-id ... --stage-name test
    stage = aws(gateway, tmp_path, "create-stage", "--api-id", api_id,
                "--deployment-id", deployment["DeploymentId"], "--stage-name", "test")
    assert set(stage) >= {"StageName", "CreatedDate", "DeploymentId", "DefaultRouteSettings",
                          "LastUpdatedDate", "StageVariables", "RouteSettings"}
    assert stage["StageName"] == "test"
    assert stage["DeploymentId"] == deployment["DeploymentId"]
    assert stage["DefaultRouteSettings"] == {
        "DataTraceEnabled": False, "DetailedMetricsEnabled": False,
        "ThrottlingBurstLimit": 5000, "ThrottlingRateLimit": 10000.0}
    assert stage["StageVariables"] == {} and stage["RouteSettings"] == {}

    with connect(gateway.ws("/test"), open_timeout=TIMEOUT) as ws:
        ws.send("hello")
        assert ws.recv(timeout=TIMEOUT) == "echo:hello"

    # aws apigatewayv2 update-stage --api-id ... --stage-name ... --deployment-id ...
    again = aws(gateway, tmp_path, "create-deployment", "--api-id", api_id)
    updated = aws(gateway, tmp_path, "update-stage", "--api-id", api_id, "--stage-name", "test",
                  "--deployment-id", again["DeploymentId"])
    assert updated["DeploymentId"] == again["DeploymentId"]
    assert updated["StageName"] == "test"
    listed = aws(gateway, tmp_path, "get-stages", "--api-id", api_id)
    assert [s["StageName"] for s in listed["Items"]] == ["test"]
