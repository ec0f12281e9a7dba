"""``framer serve --control-plane`` options and ``framer functions``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from framer.cli import main

from .conftest import ServeProcess, client, lambda_uri


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["serve", "--control-plane", "--demo"], "not with module:attr or --demo"),
        (["serve", "--function", "echo=nosuchmodule:fn"],
         "handler 'nosuchmodule:fn': cannot import module 'nosuchmodule'"),
        (["serve", "--function", "echo=framer.demo.DEMO_STAGE"],  # Lambda's form too
         "handler 'framer.demo.DEMO_STAGE' is not callable"),
        (["serve", "--function", "echo=nodots"],
         "'nodots' must be module:callable or file_or_module.function"),
        (["serve", "--function", "bad name=framer.demo:build_demo"], "invalid function name"),
        (["serve", "--function", "no-equals-sign"], "NAME=module:callable"),
        (["serve", "--control-plane", "--stage", "dev"], "--stage"),
    ],
)
def test_errors_are_one_line(capsys: Any, tmp_path: Path, argv: list[str], fragment: str) -> None:
    assert main(argv + ["--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("framer: error: ") and fragment in err


def test_functions_lists_mappings_and_uses(tmp_path: Path, capsys: Any) -> None:
    state = tmp_path / "state"
    server = ServeProcess(state, "echo=handlers:echo")
    try:
        assert any("function echo = handlers:echo" in line for line in server.banner)
        c = client(server.port)
        api_id = c.create_api(Name="f", ProtocolType="WEBSOCKET",
                              RouteSelectionExpression="$request.body.action")["ApiId"]
        integration = c.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                           IntegrationUri=lambda_uri("echo"))
        # Listing works while the server holds the state directory.
        assert main(["functions", "--state-dir", str(state), "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert rows == [{"name": "echo", "handler": None,
                         "usedBy": [f"{api_id}/integrations/{integration['IntegrationId']}"]}]
    finally:
        assert server.stop() == 0
    assert main(["functions", "--state-dir", str(state), "--function",
                 "echo=tests.controlplane.handlers:echo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("echo  tests.controlplane.handlers:echo  [")
