"""The Host check (issue 14, item 2): DNS rebinding cannot reach the control plane.

Plain HTTP requests are answered only for the bound address, localhost,
127.0.0.1 and [::1] with the port, ``--allow-host`` names and AWS's own
endpoint names; anything else is 403 with a one-line reason and changes
nothing.  WebSocket handshakes accept any Host.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
from websockets.sync.client import connect

from controlplane.conftest import TIMEOUT, GatewayServer

from .conftest import echo_api, exchange, request


def test_a_foreign_host_cannot_delete_an_api(gateway: GatewayServer) -> None:
    api_id = gateway.client().create_api(Name="keep", ProtocolType="WEBSOCKET",
                                         RouteSelectionExpression="$request.body.action")["ApiId"]
    answer = exchange(gateway.port, request("DELETE", f"/v2/apis/{api_id}", "evil.example"))
    assert answer.status == 403
    assert answer.header("x-amzn-ErrorType") == "ForbiddenException"
    message = json.loads(answer.body)["message"]
    assert "evil.example" in message and "--allow-host" in message and "\n" not in message
    assert [a["ApiId"] for a in gateway.client().get_apis()["Items"]] == [api_id]


def test_a_foreign_host_is_not_echoed_in_api_endpoints(gateway: GatewayServer) -> None:
    gateway.client().create_api(Name="x", ProtocolType="WEBSOCKET",
                                RouteSelectionExpression="$request.body.action")
    answer = exchange(gateway.port, request("GET", "/v2/apis", "evil.example:%d" % gateway.port))
    assert answer.status == 403
    assert b"apiEndpoint" not in answer.body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}",
                                  "[::1]:{port}", "localhost", "127.0.0.1", "abcde12345.execute-api.us-east-1.amazonaws.com"])
def test_local_and_aws_hosts_are_served(gateway: GatewayServer, host: str) -> None:
    answer = exchange(gateway.port, request("GET", "/v2/apis", host.format(port=gateway.port)))
    assert answer.status == 200


@pytest.mark.parametrize("host", ["localhost:1", "127.0.0.1:{other}", "127.0.0.2:{port}",
                                  "localhost.evil.example:{port}", "amazonaws.com.evil.example"])
def test_near_misses_are_refused(gateway: GatewayServer, host: str) -> None:
    host = host.format(port=gateway.port, other=gateway.port + 1)
    answer = exchange(gateway.port, request("GET", "/v2/apis", host))
    assert answer.status == 403


def test_a_request_without_host_is_refused(gateway: GatewayServer) -> None:
    answer = exchange(gateway.port, b"GET /v2/apis HTTP/1.0\r\n\r\n")
    assert answer.status == 403


def test_connections_are_host_checked_too(gateway: GatewayServer) -> None:
    c = gateway.client()
    api_id = echo_api(c, "one", "dev")
    with connect(gateway.ws(f"/{api_id}/dev"), open_timeout=TIMEOUT) as ws:
        (info,) = gateway.app.connections()
        target = f"/{api_id}/dev/@connections/{info.connection_id}"
        refused = exchange(gateway.port, request("POST", target, "evil.example", body=b"no"))
        assert refused.status == 403
        served = exchange(gateway.port, request("POST", target, f"127.0.0.1:{gateway.port}",
                                                body=b"yes"))
        assert served.status == 200
        assert ws.recv(timeout=TIMEOUT) == "yes"  # the refused post was not delivered


def test_websocket_handshakes_accept_any_host(gateway: GatewayServer) -> None:
    api_id = echo_api(gateway.client(), "one", "dev")
    upgrade = request("GET", f"/{api_id}/dev", "chat.example.com", "Upgrade: websocket",
                      "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                      "Sec-WebSocket-Version: 13")
    assert exchange(gateway.port, upgrade, wait=0.5).status == 101


@pytest.fixture
def allowing(tmp_path: Path) -> Iterator[GatewayServer]:
    with GatewayServer(tmp_path / "state", allowed_hosts=("dev.example",)) as running:
        yield running


@pytest.mark.parametrize("host", ["dev.example", "dev.example:8443", "DEV.example:{port}"])
def test_allow_host_names_are_served_on_any_port(allowing: GatewayServer, host: str) -> None:
    answer = exchange(allowing.port, request("GET", "/v2/apis", host.format(port=allowing.port)))
    assert answer.status == 200


def test_allow_host_does_not_open_other_names(allowing: GatewayServer) -> None:
    assert exchange(allowing.port, request("GET", "/v2/apis", "evil.example")).status == 403


def test_allow_host_star_turns_the_check_off(tmp_path: Path) -> None:
    with GatewayServer(tmp_path / "state", allowed_hosts=("*",)) as running:
        assert exchange(running.port, request("GET", "/v2/apis", "evil.example")).status == 200


@pytest.mark.parametrize("bad", ["", "a b", "evil.example/path", "user@host"])
def test_allowed_hosts_are_validated(bad: str) -> None:
    from framer.asyncio import ServerConfig

    with pytest.raises(ValueError, match="allowed_hosts"):
        ServerConfig(allowed_hosts=(bad,))
