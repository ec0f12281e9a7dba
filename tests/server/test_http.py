"""Plain HTTP on the WebSocket port: 426, refused stages, malformed requests."""

from __future__ import annotations

import http.client
import socket

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from .conftest import TIMEOUT, RunningServer


def _get(server: RunningServer, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_plain_get_on_the_websocket_url_is_426(demo_server: RunningServer) -> None:
    response = _get(demo_server, "/dev")
    assert response.status == 426
    assert response.getheader("Upgrade") == "websocket"


def test_keep_alive_serves_several_requests_on_one_connection(demo_server: RunningServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", demo_server.port, timeout=TIMEOUT)
    try:
        for _ in range(3):
            conn.request("GET", "/dev?x=1")
            response = conn.getresponse()
            response.read()
            assert response.status == 426
    finally:
        conn.close()


def test_unknown_stage_refuses_the_upgrade(demo_server: RunningServer) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(demo_server.url("nosuchstage"), open_timeout=TIMEOUT)
    assert info.value.response.status_code == 403


def test_unknown_path_is_403(demo_server: RunningServer) -> None:
    assert _get(demo_server, "/dev/some/thing").status == 403
    assert _get(demo_server, "/nosuchstage").status == 403


def test_garbage_request_gets_400_and_close(demo_server: RunningServer) -> None:
    with socket.create_connection(("127.0.0.1", demo_server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        data = sock.recv(4096)
        assert data.startswith(b"HTTP/1.1 400")
