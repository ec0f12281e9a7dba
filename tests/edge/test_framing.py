"""HTTP framing at the edge (issue 14, item 4), with the exact bytes that got through before.

RFC 9112 section 6.3: Content-Length with Transfer-Encoding is an error (a
second request hidden in such a body was answered before); a coding other
than one ``chunked`` is 501; a head over ``max_handshake_size`` is 431 in one
read or many; bodies are read whole up to ``max_request_body`` and refused
with 413 before the server reads past it; bad JSON is 400, never 500.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controlplane.conftest import GatewayServer

from .conftest import exchange, request

SMUGGLED = b"GET /v2/apis HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _host(gateway: GatewayServer) -> str:
    return f"127.0.0.1:{gateway.port}"


def test_content_length_with_chunked_is_400_and_the_hidden_request_is_not_answered(
        gateway: GatewayServer) -> None:
    body = b"0\r\n\r\n" + SMUGGLED
    head = (f"POST /v2/apis HTTP/1.1\r\nHost: {_host(gateway)}\r\n"
            f"Content-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    answer = exchange(gateway.port, head + body)
    assert answer.statuses == [400]
    assert answer.closed
    assert b"Transfer-Encoding" in answer.body


@pytest.mark.parametrize("coding", [b"gzip, chunked", b"chunked, chunked", b"identity", b"xchunked"])
def test_a_coding_other_than_one_chunked_is_501_and_closed(gateway: GatewayServer,
                                                          coding: bytes) -> None:
    head = (f"POST /v2/apis HTTP/1.1\r\nHost: {_host(gateway)}\r\n".encode()
            + b"Transfer-Encoding: " + coding + b"\r\n\r\n0\r\n\r\n" + SMUGGLED)
    answer = exchange(gateway.port, head)
    assert answer.statuses == [501]
    assert answer.closed


def test_two_transfer_encoding_headers_are_501_and_closed(gateway: GatewayServer) -> None:
    head = (f"POST /v2/apis HTTP/1.1\r\nHost: {_host(gateway)}\r\n".encode()
            + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    answer = exchange(gateway.port, head)
    assert answer.statuses == [501]
    assert answer.closed


def _head_of(size: int, host: str, target: str = "/v2/apis") -> bytes:
    """A GET head of exactly *size* bytes (padded with one header)."""
    bare = request("GET", target, host, "X-Pad: ")
    pad = size - len(bare)
    assert pad >= 0
    return request("GET", target, host, "X-Pad: " + "a" * pad)


@pytest.mark.parametrize("target", ["/v2/apis", "/dev", "/dev/@connections/AAAAAAAAAAAAAAA=", "/nowhere"])
def test_a_head_over_max_handshake_size_is_431_in_one_read(gateway: GatewayServer,
                                                           target: str) -> None:
    limit = 16 * 1024
    answer = exchange(gateway.port, _head_of(limit + 1, _host(gateway), target))
    assert answer.statuses == [431]
    assert answer.closed
    # 17 to 60 KiB in one read was answered before (426/200/403).
    for size in (17 * 1024, 60 * 1024):
        assert exchange(gateway.port, _head_of(size, _host(gateway), target)).statuses == [431]


def test_a_head_of_exactly_max_handshake_size_is_served(gateway: GatewayServer) -> None:
    answer = exchange(gateway.port, _head_of(16 * 1024, _host(gateway)))
    assert answer.statuses == [200]
    assert not answer.closed


def test_a_head_over_the_limit_in_many_reads_is_431(gateway: GatewayServer) -> None:
    head = _head_of(16 * 1024 + 1, _host(gateway))
    pieces = [head[i:i + 1000] for i in range(0, len(head), 1000)]
    answer = exchange(gateway.port, *pieces)
    assert answer.statuses == [431]
    assert answer.closed


def test_a_200_kib_create_api_is_read_whole(gateway: GatewayServer) -> None:
    doc = {"name": "big", "protocolType": "WEBSOCKET",
           "routeSelectionExpression": "$request.body.action"}
    body = json.dumps(doc).encode() + b" " * (200 * 1024)
    answer = exchange(gateway.port, request("POST", "/v2/apis", _host(gateway), body=body))
    assert answer.status == 201, answer.data[:300]
    assert json.loads(answer.body)["name"] == "big"


@pytest.fixture
def small_bodies(tmp_path: Path):  # type: ignore[no-untyped-def]
    with GatewayServer(tmp_path / "state", max_request_body=64 * 1024) as running:
        yield running


def test_a_body_of_exactly_max_request_body_is_read(small_bodies: GatewayServer) -> None:
    doc = json.dumps({"name": "edge", "protocolType": "WEBSOCKET",
                      "routeSelectionExpression": "$request.body.action"}).encode()
    body = doc + b" " * (64 * 1024 - len(doc))
    answer = exchange(small_bodies.port, request("POST", "/v2/apis", _host(small_bodies), body=body))
    assert answer.status == 201


def test_a_content_length_over_max_request_body_is_413_before_the_body(
        small_bodies: GatewayServer) -> None:
    head = (f"POST /v2/apis HTTP/1.1\r\nHost: {_host(small_bodies)}\r\n"
            f"Content-Length: {64 * 1024 + 1}\r\n\r\n").encode()
    answer = exchange(small_bodies.port, head)  # no body sent: answered at once
    assert answer.statuses == [413]
    assert answer.header("x-amzn-ErrorType") == "PayloadTooLargeException"
    assert answer.closed


def test_a_chunked_body_over_max_request_body_is_413_and_closed(
        small_bodies: GatewayServer) -> None:
    head = (f"POST /v2/apis HTTP/1.1\r\nHost: {_host(small_bodies)}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"%x\r\n" % (32 * 1024) + b" " * (32 * 1024) + b"\r\n"
    answer = exchange(small_bodies.port, head, chunk, chunk, chunk)
    assert answer.statuses == [413]
    assert answer.closed


@pytest.mark.parametrize("body", [b"[" * 100_000, b"{\"a\":" * 100_000, b"\xff\xfe{}", b"{nope"])
def test_bad_json_is_400_bad_request_never_500(gateway: GatewayServer, body: bytes) -> None:
    answer = exchange(gateway.port, request("POST", "/v2/apis", _host(gateway), body=body))
    assert answer.status == 400
    assert answer.header("x-amzn-ErrorType") == "BadRequestException"
    assert "Invalid request body" in json.loads(answer.body)["message"]
    assert not answer.closed
