"""The @connections management API, driven by boto3 and by raw HTTP."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import websocket  # websocket-client
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from framer.demo import Demo, build_demo

from .conftest import TIMEOUT, RunningServer, wait_for

KIB = 1024


def management_client(server: RunningServer) -> Any:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=server.endpoint("dev"),
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 0}, connect_timeout=TIMEOUT, read_timeout=TIMEOUT),
    )


def only_connection(demo: Demo) -> str:
    wait_for(lambda: len(demo.connections) == 1)
    return next(iter(demo.connections))


def test_post_get_delete_then_gone(demo_server: RunningServer, demo: Demo) -> None:
    client = management_client(demo_server)
    with connect(demo_server.url(), open_timeout=TIMEOUT, user_agent_header="framer-test/1.0") as ws:
        cid = only_connection(demo)

        client.post_to_connection(ConnectionId=cid, Data=b"hello from boto3")
        assert ws.recv(timeout=TIMEOUT) == "hello from boto3"

        info = client.get_connection(ConnectionId=cid)
        assert info["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert isinstance(info["ConnectedAt"], datetime)
        assert isinstance(info["LastActiveAt"], datetime)
        assert info["LastActiveAt"] >= info["ConnectedAt"]
        assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "framer-test/1.0"}

        deleted = client.delete_connection(ConnectionId=cid)
        assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=TIMEOUT)

    with pytest.raises(client.exceptions.GoneException) as gone:
        client.post_to_connection(ConnectionId=cid, Data=b"too late")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId=cid)
    with pytest.raises(client.exceptions.GoneException):
        client.delete_connection(ConnectionId=cid)


def test_gone_for_a_client_that_closed(demo_server: RunningServer, demo: Demo) -> None:
    client = management_client(demo_server)
    ws = websocket.create_connection(demo_server.url(), timeout=TIMEOUT)
    cid = only_connection(demo)
    ws.close()
    wait_for(lambda: cid not in demo_server.live_ids())
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=cid, Data=b"x")


def test_unknown_well_formed_id_is_gone(demo_server: RunningServer) -> None:
    client = management_client(demo_server)
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="AAAAAAAAAAAAAAA=", Data=b"x")


def test_malformed_id_is_400(demo_server: RunningServer) -> None:
    client = management_client(demo_server)
    with pytest.raises(ClientError) as info:
        client.post_to_connection(ConnectionId="not-an-id", Data=b"x")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert info.value.response["Error"]["Code"] == "BadRequestException"
    assert "Invalid connectionId: not-an-id" in info.value.response["Error"]["Message"]


def test_payload_over_128k_is_413_and_large_posts_go_out_in_32k_frames(
    demo_server: RunningServer, demo: Demo
) -> None:
    client = management_client(demo_server)
    ws = websocket.create_connection(demo_server.url(), timeout=TIMEOUT)
    try:
        cid = only_connection(demo)
        with pytest.raises(client.exceptions.PayloadTooLargeException):
            client.post_to_connection(ConnectionId=cid, Data=b"a" * (128 * KIB + 1))
        payload = bytes(ord("a") + i % 26 for i in range(128 * KIB))  # exactly the limit
        client.post_to_connection(ConnectionId=cid, Data=payload)
        frames = []
        while True:
            frames.append(ws.recv_frame())
            if frames[-1].fin:
                break
        assert [len(f.data) for f in frames] == [32 * KIB] * 4
        assert b"".join(f.data for f in frames) == payload
    finally:
        ws.close()


def test_percent_40_connections_spelling(demo_server: RunningServer, demo: Demo) -> None:
    with connect(demo_server.url(), open_timeout=TIMEOUT) as ws:
        cid = only_connection(demo)
        conn = http.client.HTTPConnection("127.0.0.1", demo_server.port, timeout=TIMEOUT)
        try:
            conn.request("POST", f"/dev/%40connections/{quote(cid, safe='')}", body=b"via %40")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            assert ws.recv(timeout=TIMEOUT) == "via %40"
            conn.request("GET", f"/dev/%40connections/{quote(cid, safe='')}")
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200
            assert b'"sourceIp": "127.0.0.1"' in body and b'"connectedAt"' in body
            conn.request("GET", "/dev/%40connections/AAAAAAAAAAAAAAA%3D")
            response = conn.getresponse()
            assert response.read() == b""
            assert response.status == 410
            assert response.getheader("x-amzn-ErrorType") == "GoneException"
        finally:
            conn.close()


def test_unknown_stage_on_connections_is_403(demo_server: RunningServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", demo_server.port, timeout=TIMEOUT)
    try:
        conn.request("POST", "/prod/@connections/AAAAAAAAAAAAAAA%3D", body=b"x")
        response = conn.getresponse()
        response.read()
        assert response.status == 403
    finally:
        conn.close()


def _raw_websocket(port: int) -> socket.socket:
    """A client that completes the handshake and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /dev HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_full_client_buffer_gives_429_and_stays_bounded() -> None:
    demo = build_demo()
    max_buffer = 256 * KIB
    with RunningServer(demo, max_buffer=max_buffer) as server:
        client = management_client(server)
        sock = _raw_websocket(server.port)
        try:
            cid = only_connection(demo)
            chunk = b"b" * (128 * KIB)
            posted = 0
            with pytest.raises(client.exceptions.LimitExceededException) as info:
                for _ in range(400):  # the kernel buffers a few MiB at most
                    client.post_to_connection(ConnectionId=cid, Data=chunk)
                    posted += 1
            assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            assert posted > 0
            # The server's own queue for that client never exceeded the bound.
            proto = server.call(lambda: server.server.connections.live[cid])  # type: ignore[union-attr]
            buffered = server.call(lambda: proto.transport.get_write_buffer_size())
            assert buffered <= max_buffer
            # Once the client reads again, posting works again.
            sock.settimeout(0.5)
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                try:
                    if not sock.recv(1 << 20):
                        break
                except socket.timeout:
                    break
            client.post_to_connection(ConnectionId=cid, Data=b"drained")
        finally:
            sock.close()


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_a_connection_id_with_a_trailing_newline_is_malformed(demo_server: RunningServer, method: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", demo_server.port, timeout=TIMEOUT)
    try:
        conn.request(method, "/dev/@connections/" + quote("A" * 15 + "=\n"), body=b"x" if method == "POST" else None)
        response = conn.getresponse()
        assert response.status == 400
        assert response.getheader("x-amzn-ErrorType") == "BadRequestException"
        assert json.loads(response.read()) == {"message": "Invalid connectionId: " + "A" * 15 + "=\n"}
    finally:
        conn.close()
