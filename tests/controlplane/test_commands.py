"""The control plane's commands with plain arguments, and the errors they raise:
``framer functions`` and the startup warnings share one account of where the
state uses each function; problems come back as ``ControlPlaneError``, which
``framer`` prints as one line with exit status 2."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from framer.cli import main
from framer.controlplane import (
    ControlPlaneError,
    FunctionRegistry,
    StateDirBusy,
    list_functions,
    open_gateway,
    serve_gateway,
)

from . import handlers
from .conftest import lambda_uri


def _make_state(state: Path) -> dict[str, str]:
    """An API whose integration and authorizer name functions, deployed once."""
    app = open_gateway(state, FunctionRegistry({"echo": handlers.echo,
                                                "authorize": handlers.authorize}))
    try:
        gw = app.gateway
        api = gw.create_api(name="uses", route_selection_expression="$request.body.action")
        integration = gw.create_integration(api.api_id, integration_type="AWS_PROXY",
                                            integration_uri=lambda_uri("echo"),
                                            handler=handlers.echo)
        authorizer = gw.create_authorizer(api.api_id, name="a",
                                          identity_source=["route.request.header.Auth"],
                                          authorizer_uri=lambda_uri("authorize"),
                                          handler=handlers.authorize)
        gw.create_route(api.api_id, route_key="$default",
                        target=f"integrations/{integration.integration_id}")
        deployment = gw.create_deployment(api.api_id)
    finally:
        app.close()
    return {"api": api.api_id, "integration": integration.integration_id,
            "authorizer": authorizer.authorizer_id, "deployment": deployment.deployment_id}


def test_functions_lists_live_and_deployed_uses_as_the_server_warns(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ids = _make_state(state)
    out = io.StringIO()
    list_functions(state, FunctionRegistry(), as_json=True, out=out)
    api, deployed = ids["api"], f"{ids['api']}/deployments/{ids['deployment']}"
    expected = {
        "authorize": [f"{api}/authorizers/{ids['authorizer']}",
                      f"{deployed}/authorizers/{ids['authorizer']}"],
        "echo": [f"{api}/integrations/{ids['integration']}",
                 f"{deployed}/integrations/{ids['integration']}"],
    }
    assert json.loads(out.getvalue()) == [
        {"name": name, "handler": None, "usedBy": places}
        for name, places in sorted(expected.items())]
    # The server, started without a mapping for echo, warns about the same places.
    app = open_gateway(state, FunctionRegistry({"authorize": handlers.authorize}))
    try:
        assert app.gateway.unmapped_functions() == {"echo": expected["echo"]}
    finally:
        app.close()


def test_a_state_dir_in_use_is_a_control_plane_error(tmp_path: Path) -> None:
    app = open_gateway(tmp_path)
    try:
        with pytest.raises(StateDirBusy) as caught:
            serve_gateway("127.0.0.1", 0, state_dir=tmp_path)
        assert isinstance(caught.value, ControlPlaneError)
        assert str(tmp_path) in str(caught.value)
    finally:
        app.close()


def test_a_damaged_state_file_is_one_line_naming_it(tmp_path: Path, capsys: Any) -> None:
    (tmp_path / "state.sqlite3").write_bytes(b"this is not a database" * 100)
    assert main(["functions", "--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"framer: error: cannot read {tmp_path / 'state.sqlite3'}: ")
    assert err.count("\n") == 1
    assert main(["serve", "--state-dir", str(tmp_path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"framer: error: cannot open state in {tmp_path}: ")
    assert err.count("\n") == 1
