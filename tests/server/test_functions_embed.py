"""``serve(app, ..., runner=...)``: the Python option for running a Router's
handlers as functions, in worker processes or in this process."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any

import pytest
from websockets.sync.client import connect

from framer.functions import InProcessRunner, RunnerOptions, WorkerRunner
from framer.router import Gateway, Router

from . import functions_app
from .conftest import TIMEOUT, RunningServer


def _router() -> Router:
    gateway = Gateway(clock=lambda: datetime.now(timezone.utc))
    api = gateway.create_api(name="embed", route_selection_expression="$request.body.action")
    made = gateway.create_integration(api.api_id, integration_type="AWS_PROXY",
                                      handler=functions_app.env)
    route = gateway.create_route(api.api_id, route_key="$default",
                                 target=f"integrations/{made.integration_id}",
                                 route_response_selection_expression="$default")
    gateway.create_route_response(api.api_id, route.route_id, route_response_key="$default")
    gateway.create_stage(api.api_id, "dev")
    gateway.create_deployment(api.api_id, stage_name="dev")
    return Router(gateway, api.api_id)


@pytest.mark.parametrize("make, in_this_process", [
    (lambda: WorkerRunner(RunnerOptions(region="ap-south-1")), False),
    (lambda: InProcessRunner(RunnerOptions(region="ap-south-1")), True),
])
def test_runner_option_runs_router_handlers_as_functions(make: Any, in_this_process: bool) -> None:
    with RunningServer(_router(), runner=make()) as running:
        with connect(running.url()) as ws:
            ws.send("hi")
            answer = json.loads(ws.recv(TIMEOUT))
    assert (answer["pid"] == os.getpid()) is in_this_process
    assert answer["arn"] == "arn:aws:lambda:ap-south-1:123456789012:function:env"
    assert answer["name"] == "env" and 0 < answer["remaining"] <= 3000
