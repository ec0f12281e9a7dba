"""Fuzzing the server's HTTP side: request lines, headers, bodies, chunking,
the control plane and @connections, in the style of ``tests/test_fuzz.py``.

Every hypothesis-generated request (well-formed, nearly so, or garbage, sent
in arbitrary pieces) must be answered with HTTP responses or a close; the
server must log no error or traceback, and must keep serving: after each
example a plain ``GET /v2/apis`` is answered 200.  A long run::

    FRAMER_FUZZ_EXAMPLES=20000 python -m pytest tests/edge/test_fuzz_http.py -q -p no:cacheprovider
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controlplane.conftest import GatewayServer

from .conftest import echo_api, exchange, request

EXAMPLES = int(os.environ.get("FRAMER_FUZZ_EXAMPLES", "150"))

FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


class _Errors(logging.Handler):
    """Every record at ERROR or above, or carrying a traceback, from any logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


class Target:
    def __init__(self, gateway: GatewayServer, api_id: str) -> None:
        self.gateway = gateway
        self.api_id = api_id
        self.errors = _Errors()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with GatewayServer(Path(tmp_path_factory.mktemp("fuzz")) / "state",
                       max_request_body=256 * 1024) as gateway:
        api_id = echo_api(gateway.client(), "fuzz", "dev")
        found = Target(gateway, api_id)
        root = logging.getLogger()
        root.addHandler(found.errors)
        try:
            yield found
        finally:
            root.removeHandler(found.errors)


_TOKEN = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-ABC0123456789!#$%&'*+.^_`|~"),
                 min_size=1, max_size=12)
_BYTES = st.binary(max_size=64)
_METHODS = st.one_of(st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD",
                                      "OPTIONS", "CONNECT", "TRACE"]), _TOKEN)


def _paths(api_id: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["/v2/apis", f"/v2/apis/{api_id}", f"/v2/apis/{api_id}/routes",
                         f"/v2/apis/{api_id}/stages/dev", "/v2", "/dev", f"/{api_id}/dev",
                         "/dev/@connections/AAAAAAAAAAAAAAA=",
                         f"/{api_id}/dev/%40connections/AAAAAAAAAAAAAAA%3D",
                         "/dev/@connections/bad id", "*", "/", "//", "/%ff/%00"]),
        st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40).map(lambda t: "/" + t),
    )


@st.composite
def requests(draw: st.DrawFn, api_id: str, host: str) -> list[bytes]:
    """One request's bytes, cut into the pieces it is sent in."""
    method = draw(_METHODS)
    path = draw(_paths(api_id))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.x", ""]))
    line = f"{method} {path} {version}".encode("latin-1")
    headers: list[bytes] = []
    if draw(st.integers(0, 9)):  # mostly a Host, sometimes none
        headers.append(b"Host: " + draw(st.sampled_from([host.encode(), b"evil.example", b"",
                                                         b"localhost", host.encode() + b"x"])))
    body = draw(st.one_of(st.just(b""), _BYTES, st.sampled_from(
        [b"{}", b'{"name":"f","protocolType":"WEBSOCKET","routeSelectionExpression":"$request.body.action"}',
         b"[" * 5000, b'{"name": 1}', b"\xff\xfe"])))
    framing = draw(st.sampled_from(["length", "chunked", "both", "none", "wrong-length", "bad-chunks"]))
    if framing in ("length", "both"):
        headers.append(b"Content-Length: %d" % len(body))
    if framing == "wrong-length":
        headers.append(b"Content-Length: %d" % draw(st.integers(0, 300)))
    if framing in ("chunked", "both", "bad-chunks"):
        headers.append(b"Transfer-Encoding: " + draw(st.sampled_from(
            [b"chunked", b"chunked", b"gzip, chunked", b"Chunked", b"identity"])))
    for name, value in draw(st.lists(st.tuples(_TOKEN, _BYTES), max_size=4)):
        headers.append(name.encode() + b": " + value)
    if draw(st.booleans()):
        headers.append(draw(st.sampled_from([b"Upgrade: websocket", b"Connection: Upgrade",
                                             b"Sec-WebSocket-Version: 13", b"Expect: 100-continue",
                                             b"Authorization: AWS4-HMAC-SHA256 Credential=x"])))
    if framing == "chunked":
        payload = (b"%x\r\n" % len(body) + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    elif framing == "bad-chunks":
        payload = draw(st.sampled_from([b"zz\r\n", b"5\r\nab\r\n", b"-1\r\n\r\n", b"0\r\n"])) + body
    else:
        payload = body
    ending = draw(st.sampled_from([b"\r\n", b"\r\n", b"\n", b"\r"]))
    raw = ending.join([line, *headers]) + ending + ending + payload
    if draw(st.booleans()):
        raw += draw(st.sampled_from([b"", b"GET /v2/apis HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n"]))
    cuts = sorted(draw(st.lists(st.integers(0, len(raw)), max_size=4)))
    pieces, start = [], 0
    for cut in cuts + [len(raw)]:
        pieces.append(raw[start:cut])
        start = cut
    return [p for p in pieces if p]


def _send(port: int, pieces: list[bytes]) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            for piece in pieces:
                sock.sendall(piece)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return data


def test_every_http_input_is_answered_or_closed_and_the_server_keeps_serving(target: Target) -> None:
    host = f"127.0.0.1:{target.gateway.port}"

    @FUZZ
    @given(pieces=requests(target.api_id, host))
    def check(pieces: list[bytes]) -> None:
        data = _send(target.gateway.port, pieces)
        if data:
            assert data.startswith(b"HTTP/1.1 "), data[:200]
            status = int(data[9:12])
            assert 100 <= status <= 599 and status != 500, data[:300]
        assert not target.errors.records, [r.getMessage() for r in target.errors.records]
        alive = exchange(target.gateway.port, request("GET", "/v2/apis", host, "Connection: close"))
        assert alive.status == 200 and alive.closed

    check()
