"""Interop in memory with a peer nobody here wrote: the ``websockets`` library's
sans-IO protocols (``ServerProtocol`` / ``ClientProtocol``).

framer client <-> websockets server, websockets client <-> framer server,
exchanging text and binary across API Gateway's limits, and closing.
websockets' sans-IO layer hands out frames, not messages: ``WsPeer`` joins
them, and keeps each message's frame sizes so framer's fragmentation can be
checked from the outside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.server import ServerProtocol
from websockets.uri import parse_uri
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)

from framer import ConnectionState, ConnectionType, Limits, WSConnection

FRAME = 32768
MESSAGE = 131072
WS_MAX = 2**20  # websockets' limit, above API Gateway's


@dataclass
class WsPeer:
    """A websockets protocol plus the messages it has assembled."""

    proto: ServerProtocol | ClientProtocol
    messages: list[tuple[str, object]] = field(default_factory=list)
    frame_sizes: list[list[int]] = field(default_factory=list)
    pongs: list[bytes] = field(default_factory=list)
    _parts: list[bytes] = field(default_factory=list)
    _sizes: list[int] = field(default_factory=list)
    _opcode: Opcode | None = None

    def feed(self, data: bytes) -> None:
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if isinstance(event, Frame):
                self._frame(event)

    def _frame(self, f: Frame) -> None:
        if f.opcode is Opcode.PONG:
            self.pongs.append(bytes(f.data))
            return
        if f.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._opcode = f.opcode
        elif f.opcode is not Opcode.CONT:
            return  # ping (answered by websockets itself) and close (see proto.close_rcvd)
        self._parts.append(bytes(f.data))
        self._sizes.append(len(f.data))
        if f.fin:
            data = b"".join(self._parts)
            if self._opcode is Opcode.TEXT:
                self.messages.append(("text", data.decode()))
            else:
                self.messages.append(("binary", data))
            self.frame_sizes.append(self._sizes)
            self._parts, self._sizes = [], []

    def outgoing(self) -> bytes:
        # b"" in data_to_send() means "half-close the transport": not data.
        return b"".join(self.proto.data_to_send())


def deliver(peer: WsPeer, conn: WSConnection) -> list[object]:
    """websockets -> framer; returns framer's events."""
    data = peer.outgoing()
    if data:
        conn.receive_data(data)
    return list(conn.events())


def connect_framer_client(limits: Limits | None = None) -> tuple[WSConnection, WsPeer]:
    client = WSConnection(ConnectionType.CLIENT, limits)
    server = ServerProtocol(max_size=WS_MAX)
    server.receive_data(client.send(Request(host="example.com", target="/chat")))
    (request,) = server.events_received()
    assert isinstance(request, WsRequest)
    server.send_response(server.accept(request))
    peer = WsPeer(server)
    (accept,) = deliver(peer, client)
    assert isinstance(accept, AcceptConnection)
    assert client.state is ConnectionState.OPEN
    return client, peer


def connect_ws_client(limits: Limits | None = None) -> tuple[WsPeer, WSConnection]:
    client = ClientProtocol(parse_uri("ws://example.com/chat"), max_size=WS_MAX)
    client.send_request(client.connect())
    server = WSConnection(ConnectionType.SERVER, limits)
    peer = WsPeer(client)
    (request,) = deliver(peer, server)
    assert isinstance(request, Request) and request.target == "/chat"
    client.receive_data(server.send(AcceptConnection()))
    (response,) = client.events_received()
    assert isinstance(response, WsResponse) and response.status_code == 101
    return peer, server


def text_of(size: int) -> str:
    """Text of exactly ``size`` UTF-8 bytes; 3-byte characters straddle frame boundaries."""
    return "€" * (size // 3) + "a" * (size % 3)


GENERAL = Limits.general(FRAME, MESSAGE)


# -- framer sends, websockets receives ----------------------------------------


@pytest.mark.parametrize("size", [0, 1, FRAME, FRAME + 1, 3 * FRAME + 7, MESSAGE])
@pytest.mark.parametrize("direction", ["framer-client", "framer-server"])
def test_framer_sends_text_and_binary_to_websockets(size: int, direction: str) -> None:
    if direction == "framer-client":
        conn, peer = connect_framer_client(GENERAL)
    else:
        peer, conn = connect_ws_client(GENERAL)
    text = text_of(size)
    binary = os.urandom(size)
    peer.feed(conn.send(TextMessage(data=text)) + conn.send(BytesMessage(data=binary)))
    assert peer.messages == [("text", text), ("binary", binary)]
    expected_frames = [FRAME] * (size // FRAME) + ([size % FRAME] if size % FRAME else [])
    assert peer.frame_sizes == [expected_frames or [0]] * 2
    assert peer.proto.close_rcvd is None and peer.proto.parser_exc is None


# -- websockets sends, framer receives ----------------------------------------


def ws_send(peer: WsPeer, kind: str, data: bytes, frames: list[int] | None) -> None:
    """Send one message, as one frame (``frames=None``) or fragmented."""
    first = peer.proto.send_text if kind == "text" else peer.proto.send_binary
    if frames is None:
        first(data)
        return
    assert sum(frames) == len(data)
    pos = 0
    for i, size in enumerate(frames):
        piece, last = data[pos : pos + size], i == len(frames) - 1
        if i == 0:
            first(piece, fin=last)
        else:
            peer.proto.send_continuation(piece, fin=last)
        pos += size


ACCEPTED = [
    ("one-frame-32768", FRAME, None),
    ("one-frame-0", 0, None),
    ("4-frames-131072", MESSAGE, [FRAME] * 4),
    ("5-frames-131072", MESSAGE, [FRAME, FRAME, FRAME, FRAME - 2, 2]),
]
REJECTED = [
    ("one-frame-32769", FRAME + 1, None),
    ("one-frame-131072", MESSAGE, None),
    ("5-frames-131073", MESSAGE + 1, [FRAME] * 4 + [1]),
]


@pytest.mark.parametrize("direction", ["to-framer-client", "to-framer-server"])
@pytest.mark.parametrize("kind", ["text", "binary"])
@pytest.mark.parametrize(("case", "size", "frames"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_websockets_sends_within_the_limits(direction: str, kind: str, case: str, size: int,
                                            frames: list[int] | None) -> None:
    limits = Limits.general(FRAME, MESSAGE)
    if direction == "to-framer-client":
        conn, peer = connect_framer_client(limits)
    else:
        peer, conn = connect_ws_client(limits)
    data = text_of(size).encode() if kind == "text" else os.urandom(size)
    ws_send(peer, kind, data, frames)
    ws_send(peer, kind, b"tail", None)
    events = deliver(peer, conn)
    if kind == "text":
        assert events == [TextMessage(data=data.decode()), TextMessage(data="tail")]
    else:
        assert events == [BytesMessage(data=data), BytesMessage(data=b"tail")]
    assert conn.state is ConnectionState.OPEN


@pytest.mark.parametrize("direction", ["to-framer-client", "to-framer-server"])
@pytest.mark.parametrize(("case", "size", "frames"), REJECTED, ids=[c[0] for c in REJECTED])
def test_websockets_over_the_limits_gets_1009(direction: str, case: str, size: int,
                                              frames: list[int] | None) -> None:
    if direction == "to-framer-client":
        conn, peer = connect_framer_client()
    else:
        peer, conn = connect_ws_client()
    ws_send(peer, "text", b"x" * size, frames)
    events = deliver(peer, conn)
    assert [type(e) for e in events] == [CloseConnection] and events[0].code == 1009
    assert conn.buffered == 0
    # framer answers with 1009; websockets sees it and completes the close.
    peer.feed(conn.send(events[0].response()))
    assert peer.proto.close_rcvd is not None and peer.proto.close_rcvd.code == 1009
    assert conn.state is ConnectionState.CLOSED
    reply = peer.outgoing()
    assert reply[:1] == b"\x88"  # websockets echoed the close frame


def test_binary_from_websockets_is_1003_in_api_gateway_mode() -> None:
    peer, server = connect_ws_client()
    peer.proto.send_binary(b"\x00\x01")
    (close,) = deliver(peer, server)
    assert close.code == 1003
    peer.feed(server.send(close.response()))
    assert peer.proto.close_rcvd.code == 1003


def test_invalid_utf8_from_websockets_is_1007() -> None:
    conn, peer = connect_framer_client()
    peer.proto.send_text(b"ok\xff", fin=False)  # websockets does not check what it sends
    (close,) = deliver(peer, conn)
    assert close.code == 1007


# -- control frames and closing ------------------------------------------------


def test_ping_from_websockets_and_framer() -> None:
    peer, server = connect_ws_client()
    peer.proto.send_ping(b"hello?")
    (ping,) = deliver(peer, server)
    assert ping == Ping(payload=b"hello?")
    peer.feed(server.send(ping.response()))
    assert peer.pongs == [b"hello?"]
    # framer pings, websockets answers by itself.
    peer.feed(server.send(Ping(payload=b"you?")))
    assert deliver(peer, server) == [Pong(payload=b"you?")]


def test_ping_between_fragments_from_websockets() -> None:
    conn, peer = connect_framer_client(GENERAL)
    peer.proto.send_text(b"frag", fin=False)
    peer.proto.send_ping(b"mid")
    peer.proto.send_continuation(b"ment", fin=True)
    assert deliver(peer, conn) == [Ping(payload=b"mid"), TextMessage(data="fragment")]


@pytest.mark.parametrize("code", [1000, 1001, 1011, 3000, 4999])
def test_websockets_closes_framer_client(code: int) -> None:
    conn, peer = connect_framer_client()
    peer.proto.send_close(code, "bye ✓")
    (close,) = deliver(peer, conn)
    assert close == CloseConnection(code=code, reason="bye ✓")
    assert conn.state is ConnectionState.REMOTE_CLOSING
    peer.feed(conn.send(close.response()))
    assert conn.state is ConnectionState.CLOSED
    assert peer.proto.close_rcvd.code == code and peer.proto.close_rcvd.reason == "bye ✓"


@pytest.mark.parametrize("code", [1000, 1001, 4000])
def test_framer_server_closes_websockets_client(code: int) -> None:
    peer, server = connect_ws_client()
    peer.feed(server.send(CloseConnection(code=code, reason="closing")))
    assert server.state is ConnectionState.LOCAL_CLOSING
    assert peer.proto.close_rcvd.code == code and peer.proto.close_rcvd.reason == "closing"
    (close,) = deliver(peer, server)
    assert close == CloseConnection(code=code, reason="closing")
    assert server.state is ConnectionState.CLOSED


def test_close_without_code_both_ways() -> None:
    conn, peer = connect_framer_client()
    peer.proto.send_close()
    (close,) = deliver(peer, conn)
    assert close.code == 1005 and close.reason == ""
    peer.feed(conn.send(close.response()))
    assert peer.proto.close_rcvd.code == 1005
