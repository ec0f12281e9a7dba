"""Hostile clients against the real server: oversized and stalled handshakes,
a 2**63-1-byte frame announced, a 128 KiB message dripped a byte at a time,
many idle connections.  What the server holds is read from its connection
objects (``WSConnection.buffered``, h11's unprocessed bytes) on its own loop.
"""

from __future__ import annotations

import base64
import os
import socket
import time
from typing import Any

import pytest

from framer import ConnectionType, Limits, WSConnection
from framer.asyncio import ServerConfig
from framer.testing import encode_frame
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from .conftest import TIMEOUT, RunningServer

FRAME = 32768
MESSAGE = 131072
HEADER_MAX = 14  # longest frame header: 2 + 8 length bytes + 4 mask bytes


def upgrade_request(path: str = "/dev", extra: bytes = b"") -> bytes:
    key = base64.b64encode(os.urandom(16))
    return (
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n"
        + extra + b"\r\n"
    )


def raw(server: RunningServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_closed(sock: socket.socket, timeout: float = TIMEOUT) -> bytes:
    sock.settimeout(timeout)
    chunks = []
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


class Client:
    """A blocking client on framer's engine, for reading the server's frames."""

    def __init__(self, server: RunningServer) -> None:
        self.sock = raw(server)
        self.ws = WSConnection(ConnectionType.CLIENT, Limits.general())
        self.sock.sendall(self.ws.send(Request(host="127.0.0.1", target="/dev")))
        assert isinstance(self.next_event(), AcceptConnection)

    def next_event(self) -> Any:
        while True:
            for event in self.ws.events():
                return event
            data = self.sock.recv(65536)
            self.ws.receive_data(data or None)


def server_buffers(server: RunningServer) -> list[int]:
    """Bytes each upgraded connection's engine holds, read on the server's loop."""
    assert server.server is not None
    protocols = server.server._shared.protocols
    return server.call(lambda: [p.ws.buffered for p in list(protocols) if p.ws is not None])


def http_buffers(server: RunningServer) -> list[int]:
    """Bytes h11 holds for each connection still reading a request head."""
    assert server.server is not None
    protocols = server.server._shared.protocols
    return server.call(lambda: [len(p.h11.trailing_data[0]) for p in list(protocols) if p.h11 is not None])


def protocol_count(server: RunningServer) -> int:
    assert server.server is not None
    protocols = server.server._shared.protocols
    return server.call(lambda: len(protocols))


# -- the opening handshake ------------------------------------------------------------


def test_defaults() -> None:
    config = ServerConfig()
    assert config.handshake_timeout == 10.0
    assert config.max_handshake_size == 16 * 1024 == Limits().max_handshake_size
    with pytest.raises(ValueError, match="handshake_timeout"):
        ServerConfig(handshake_timeout=0)


@pytest.mark.parametrize("complete", [False, True])
def test_oversized_request_head_gets_431(demo_server: RunningServer, complete: bool) -> None:
    with raw(demo_server) as sock:
        head = upgrade_request(extra=b"X-Padding: " + b"a" * (17 * 1024) + b"\r\n")
        sock.sendall(head if complete else head[:-4])
        reply = read_until_closed(sock)
    assert reply.startswith(b"HTTP/1.1 431 "), reply[:80]


def test_head_size_is_configurable(demo: Any) -> None:
    with RunningServer(demo, max_handshake_size=2048) as server:
        with raw(server) as sock:
            sock.sendall(upgrade_request(extra=b"X-Padding: " + b"a" * 3000 + b"\r\n"))
            assert read_until_closed(sock).startswith(b"HTTP/1.1 431 ")


def test_head_under_the_limit_is_served(demo_server: RunningServer) -> None:
    with raw(demo_server) as sock:
        sock.sendall(upgrade_request(extra=b"X-Padding: " + b"a" * (15 * 1024) + b"\r\n"))
        assert sock.recv(65536).startswith(b"HTTP/1.1 101 ")


def test_non_ascii_header_gets_400_not_a_crash(demo_server: RunningServer) -> None:
    with raw(demo_server) as sock:
        sock.sendall(upgrade_request().replace(b"Host: ", b"Host:\xa0"))
        assert read_until_closed(sock).startswith(b"HTTP/1.1 400 ")
    client = Client(demo_server)  # and the server still serves
    client.sock.sendall(client.ws.send(TextMessage(data="still here")))
    assert client.next_event() == TextMessage(data="still here")


@pytest.mark.parametrize("sent", [b"", b"GET /dev HTTP/1.1\r\nHost: 127.0.0.1\r\n"])
def test_incomplete_handshake_is_closed_after_the_timeout(demo: Any, sent: bytes) -> None:
    with RunningServer(demo, handshake_timeout=0.5) as server:
        with raw(server) as sock:
            started = time.monotonic()
            sock.sendall(sent)
            reply = read_until_closed(sock)
            waited = time.monotonic() - started
        assert 0.4 <= waited < 3.0
        # Nothing sent: just closed.  Half a head: 408, then closed.
        assert reply == b"" if not sent else reply.startswith(b"HTTP/1.1 408 ")


def test_upgraded_connections_are_not_timed_out(demo: Any) -> None:
    with RunningServer(demo, handshake_timeout=0.3) as server:
        client = Client(server)
        time.sleep(0.8)
        client.sock.sendall(client.ws.send(TextMessage(data="after the handshake timeout")))
        assert client.next_event() == TextMessage(data="after the handshake timeout")


# -- bounded memory -------------------------------------------------------------------


def test_announced_2_63_frame_is_refused_before_any_payload(demo_server: RunningServer) -> None:
    client = Client(demo_server)
    client.sock.sendall(encode_frame(0x1, b"", mask=os.urandom(4), width=64, length=2**63 - 1))
    client.sock.sendall(b"x" * 65536)  # payload that must not be kept
    event = client.next_event()
    assert isinstance(event, CloseConnection) and event.code == 1009
    assert all(held == 0 for held in server_buffers(demo_server))


@pytest.mark.parametrize("frame_size", [FRAME, 1], ids=["4 frames", "131072 one-byte frames"])
def test_dripped_128k_message_holds_no_more_than_the_limit(demo_server: RunningServer,
                                                           frame_size: int) -> None:
    client = Client(demo_server)
    text = "d" * MESSAGE
    sender = WSConnection(ConnectionType.CLIENT, Limits(max_frame_size=frame_size))
    sender._open()  # an open engine, only to frame the message (handshake not needed)
    wire = sender.send(TextMessage(data=text))
    peak = 0
    step = 1 if frame_size == FRAME else 7  # one payload byte per write
    for i in range(0, len(wire), step):
        client.sock.send(wire[i : i + step])
        if i % 8192 < step:
            peak = max(peak, *server_buffers(demo_server))
    event = client.next_event()
    assert event == TextMessage(data=text)  # accepted whole, echoed back
    assert 0 < peak <= MESSAGE + HEADER_MAX
    assert server_buffers(demo_server) == [0]


def test_many_idle_connections_hold_nothing_and_are_dropped(demo: Any) -> None:
    with RunningServer(demo, handshake_timeout=5.0) as server:
        started = time.monotonic()
        silent = [raw(server) for _ in range(200)]
        partial = [raw(server) for _ in range(50)]
        for sock in partial:
            sock.sendall(b"GET /dev HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 8000)
        open_ws = [Client(server) for _ in range(20)]
        deadline = time.monotonic() + TIMEOUT
        while sum(http_buffers(server)) < 50 * 8000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert time.monotonic() - started < 4.5, "too slow to measure before the timeout"
        held = http_buffers(server)
        assert len(held) == 250 and protocol_count(server) == 270
        # Each head in progress costs its bytes so far, never more than the limit.
        assert max(held) <= 16 * 1024 and sum(held) == 50 * (8000 + 47)
        assert server_buffers(server) == [0] * 20
        # The handshake timeout drops every connection that never upgraded.
        for sock in silent:
            assert read_until_closed(sock, 8.0) == b""
        for sock in partial:
            assert read_until_closed(sock, 8.0).startswith(b"HTTP/1.1 408 ")
        assert time.monotonic() - started >= 5.0
        deadline = time.monotonic() + TIMEOUT
        while protocol_count(server) > 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert protocol_count(server) == 20
        for sock in silent + partial:
            sock.close()
        for client in open_ws:
            client.sock.close()
