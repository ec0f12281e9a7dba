"""``framer.WSConnection``: whole messages, sending, closing, handshake, memory.

These run against whichever implementation is active (``framer.implementation``);
CI runs the suite once more with ``FRAMER_NO_EXTENSIONS=1``.
"""

from __future__ import annotations

import os
import random

import pytest
import wsproto
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate
from wsproto.utilities import LocalProtocolError as WsprotoLocalProtocolError

import framer
from _support import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    client_frame,
    close_payload,
    frame,
    open_client,
    open_pair,
    open_server,
    parse_frames,
    server_frame,
)
from framer import (
    ConnectionState,
    ConnectionType,
    Limits,
    LocalProtocolError,
    MessageTooBigError,
    RemoteProtocolError,
    WSConnection,
)

FRAME = 32768
MESSAGE = 131072


# -- construction -------------------------------------------------------------


def test_constructor_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match="connection_type"):
        WSConnection("server")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="limits"):
        WSConnection(ConnectionType.SERVER, {"max_frame_size": 1})  # type: ignore[arg-type]
    conn = WSConnection(ConnectionType.SERVER)
    assert conn.limits == Limits.api_gateway()
    assert conn.state is ConnectionState.CONNECTING
    assert conn.violation is None and conn.buffered == 0


# -- receiving whole messages -------------------------------------------------


def test_fragmented_message_comes_out_whole_with_controls_in_order() -> None:
    server = open_server()
    data = (
        client_frame(OP_TEXT, b"Hel", fin=False)
        + client_frame(OP_PING, b"are you there")
        + client_frame(OP_CONT, b"lo, ", fin=False)
        + client_frame(OP_PONG, b"yes")
        + client_frame(OP_CONT, "wörld".encode())
        + client_frame(OP_TEXT, b"second")
    )
    server.receive_data(data)
    events = list(server.events())
    assert events == [
        Ping(payload=b"are you there"),
        Pong(payload=b"yes"),
        TextMessage(data="Hello, wörld"),
        TextMessage(data="second"),
    ]
    assert all(e.message_finished and e.frame_finished for e in events[2:])


def test_close_between_fragments_is_delivered() -> None:
    server = open_server()
    server.receive_data(client_frame(OP_TEXT, b"part", fin=False))
    server.receive_data(client_frame(OP_CLOSE, close_payload(1001)))
    assert list(server.events()) == [CloseConnection(code=1001, reason="")]
    assert server.state is ConnectionState.REMOTE_CLOSING


def test_messages_spread_over_many_reads() -> None:
    server = open_server(Limits.general())
    data = client_frame(OP_BINARY, b"\x01" * 70000) + client_frame(OP_TEXT, b"t")
    for i in range(0, len(data), 999):
        server.receive_data(data[i : i + 999])
    assert list(server.events()) == [BytesMessage(data=b"\x01" * 70000), TextMessage(data="t")]


def test_events_can_be_read_in_pieces() -> None:
    server = open_server()
    server.receive_data(client_frame(OP_TEXT, b"a") + client_frame(OP_TEXT, b"b"))
    events = server.events()
    assert next(events) == TextMessage(data="a")
    server.receive_data(client_frame(OP_TEXT, b"c"))
    assert list(server.events()) == [TextMessage(data="b"), TextMessage(data="c")]


def test_messages_before_a_close_in_the_same_read_can_be_answered() -> None:
    # As with wsproto, the state changes when the CloseConnection is handed
    # out, so an echo loop can answer what came before it.
    server = open_server()
    server.receive_data(
        client_frame(OP_TEXT, b"echo me") + client_frame(OP_CLOSE, close_payload(1000))
    )
    assert server.state is ConnectionState.OPEN
    events = server.events()
    message = next(events)
    assert message == TextMessage(data="echo me")
    (f,) = parse_frames(server.send(message))
    assert (f.opcode, f.payload) == (OP_TEXT, b"echo me")
    close = next(events)
    assert isinstance(close, CloseConnection) and close.code == 1000
    assert server.state is ConnectionState.REMOTE_CLOSING
    with pytest.raises(LocalProtocolError):
        server.send(TextMessage(data="too late"))


def test_message_before_a_violation_can_be_answered() -> None:
    server = open_server()
    server.receive_data(client_frame(OP_TEXT, b"ok") + client_frame(0x3))
    message, close = server.events()
    assert message == TextMessage(data="ok")
    assert close.code == 1002
    assert server.violation is not None and server.violation.code == 1002
    with pytest.raises(LocalProtocolError):
        server.send(message)  # the close was handed out: too late now


# -- closing ------------------------------------------------------------------


def test_close_handshake_started_locally() -> None:
    client, server = open_pair()
    data = client.send(CloseConnection(code=1000, reason="done"))
    assert client.state is ConnectionState.LOCAL_CLOSING
    (f,) = parse_frames(data)
    assert f.opcode == OP_CLOSE and f.key is not None and f.payload == close_payload(1000, b"done")
    server.receive_data(data)
    (close,) = server.events()
    assert close == CloseConnection(code=1000, reason="done")
    assert server.state is ConnectionState.REMOTE_CLOSING
    reply = server.send(close.response())
    assert server.state is ConnectionState.CLOSED
    client.receive_data(reply)
    assert list(client.events()) == [CloseConnection(code=1000, reason="done")]
    assert client.state is ConnectionState.CLOSED
    with pytest.raises(LocalProtocolError):
        client.receive_data(b"\x81\x00")


def test_close_without_code_sends_an_empty_payload() -> None:
    client, server = open_pair()
    (f,) = parse_frames(server.send(CloseConnection(code=None)))  # type: ignore[arg-type]
    assert f.payload == b""
    (f,) = parse_frames(client.send(CloseConnection(code=1005)))
    assert f.payload == b""


def test_close_reason_without_code_is_refused() -> None:
    _, server = open_pair()
    with pytest.raises(LocalProtocolError):
        server.send(CloseConnection(code=1005, reason="why"))
    assert server.state is ConnectionState.OPEN


@pytest.mark.parametrize("code", [0, 999, 5000, 65535])
def test_close_code_out_of_range_is_refused(code: int) -> None:
    _, server = open_pair()
    with pytest.raises(LocalProtocolError):
        server.send(CloseConnection(code=code))
    assert server.state is ConnectionState.OPEN


@pytest.mark.parametrize("code", [1006, 1015])
def test_local_only_codes_go_out_as_1000(code: int) -> None:
    _, server = open_pair()
    (f,) = parse_frames(server.send(CloseConnection(code=code)))
    assert f.payload == close_payload(1000)


def test_long_close_reason_is_cut_at_a_character_boundary() -> None:
    _, server = open_pair()
    reason = "é" * 100  # 200 bytes
    (f,) = parse_frames(server.send(CloseConnection(code=4000, reason=reason)))
    assert len(f.payload) <= 125
    assert f.payload[2:].decode("utf-8") == "é" * 61


@pytest.mark.parametrize("event", [TextMessage(data="x"), Ping(), Pong(), BytesMessage(data=b"x")])
def test_sending_after_close_is_refused(event: object) -> None:
    _, server = open_pair()
    server.send(CloseConnection(code=1000))
    with pytest.raises(LocalProtocolError):
        server.send(event)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        server.send(CloseConnection(code=1000))


def test_eof_is_1006() -> None:
    _, server = open_pair()
    server.receive_data(None)
    assert list(server.events()) == [CloseConnection(code=1006)]
    assert server.state is ConnectionState.CLOSED
    with pytest.raises(LocalProtocolError):
        server.receive_data(b"\x81\x80")


def test_violation_is_answered_with_its_code() -> None:
    client, server = open_pair()
    server.receive_data(client_frame(OP_TEXT, b"\xff"))
    (close,) = server.events()
    assert close.code == 1007
    assert server.violation == framer.ProtocolViolation(1007, close.reason)
    client.receive_data(server.send(close.response()))
    assert [e.code for e in client.events()] == [1007]
    assert server.state is ConnectionState.CLOSED
    assert client.state is ConnectionState.REMOTE_CLOSING


def test_input_after_a_violation_is_ignored() -> None:
    server = open_server()
    server.receive_data(client_frame(0x3))
    assert [e.code for e in server.events()] == [1002]
    server.receive_data(client_frame(OP_TEXT, b"ignored"))
    assert list(server.events()) == []
    assert server.buffered == 0


# -- sending ------------------------------------------------------------------


def test_ping_pong_roundtrip() -> None:
    client, server = open_pair()
    server.receive_data(client.send(Ping(payload=b"x" * 125)))
    (ping,) = server.events()
    assert ping == Ping(payload=b"x" * 125)
    client.receive_data(server.send(ping.response()))
    assert list(client.events()) == [Pong(payload=b"x" * 125)]
    with pytest.raises(LocalProtocolError):
        client.send(Ping(payload=b"x" * 126))
    with pytest.raises(LocalProtocolError):
        server.send(Pong(payload=b"x" * 126))


@pytest.mark.parametrize("role", ["server", "client"])
@pytest.mark.parametrize("size", [0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME + 5, MESSAGE])
def test_send_splits_at_max_frame_size(role: str, size: int) -> None:
    client, server = open_pair(Limits.general(FRAME, MESSAGE), Limits.general(FRAME, MESSAGE))
    sender = server if role == "server" else client
    payload = os.urandom(size)
    frames = parse_frames(sender.send(BytesMessage(data=payload)))
    expected_count = max(1, -(-size // FRAME))
    assert len(frames) == expected_count
    assert [f.opcode for f in frames] == [OP_BINARY] + [OP_CONT] * (expected_count - 1)
    assert [f.fin for f in frames] == [False] * (expected_count - 1) + [True]
    assert all(len(f.payload) <= FRAME for f in frames)
    assert all(f.rsv == 0 for f in frames)
    assert b"".join(f.payload for f in frames) == payload
    if role == "client":
        keys = [f.key for f in frames]
        assert all(k is not None for k in keys)
        assert len(set(keys)) == len(keys) or len(keys) == 1
    else:
        assert all(f.key is None for f in frames)


def test_client_masks_every_message_with_a_new_key() -> None:
    client, _ = open_pair()
    keys = [parse_frames(client.send(TextMessage(data="same")))[0].key for _ in range(50)]
    assert len(set(keys)) >= 49


def test_text_is_split_by_bytes_not_characters() -> None:
    _, server = open_pair(None, Limits(max_frame_size=10, max_message_size=100))
    frames = parse_frames(server.send(TextMessage(data="€" * 7)))  # 21 bytes
    assert [len(f.payload) for f in frames] == [10, 10, 1]
    assert b"".join(f.payload for f in frames).decode() == "€" * 7


def test_message_at_the_limit_is_sent() -> None:
    client, server = open_pair()
    data = server.send(TextMessage(data="x" * MESSAGE))
    assert len(parse_frames(data)) == 4
    client.receive_data(data)
    assert list(client.events()) == [TextMessage(data="x" * MESSAGE)]


@pytest.mark.parametrize(
    "event",
    [TextMessage(data="x" * (MESSAGE + 1)), TextMessage(data="€" * 43691)],
    ids=["ascii", "multibyte"],
)
def test_message_over_the_limit_raises_and_sends_nothing(event: TextMessage) -> None:
    client, server = open_pair()
    with pytest.raises(MessageTooBigError) as info:
        server.send(event)
    assert isinstance(info.value, LocalProtocolError)
    assert info.value.limit == MESSAGE and info.value.size == len(event.data.encode())
    assert str(MESSAGE) in str(info.value)
    # Still usable, and nothing half-sent confuses the peer.
    assert server.state is ConnectionState.OPEN
    client.receive_data(server.send(TextMessage(data="after")))
    assert list(client.events()) == [TextMessage(data="after")]


def test_binary_over_the_limit_from_a_client() -> None:
    client, server = open_pair(Limits.general(FRAME, MESSAGE), Limits.general(FRAME, MESSAGE))
    with pytest.raises(MessageTooBigError):
        client.send(BytesMessage(data=bytearray(MESSAGE + 1)))
    server.receive_data(client.send(BytesMessage(data=memoryview(b"ok"))))
    assert list(server.events()) == [BytesMessage(data=b"ok")]


def test_message_sent_in_pieces_counts_toward_the_limit() -> None:
    client, server = open_pair(None, Limits(max_frame_size=10, max_message_size=30))
    out = server.send(TextMessage(data="a" * 20, message_finished=False))
    with pytest.raises(MessageTooBigError):
        server.send(TextMessage(data="b" * 11, message_finished=True))
    out += server.send(TextMessage(data="b" * 10, message_finished=True))
    frames = parse_frames(out)
    assert [f.opcode for f in frames] == [OP_TEXT, OP_CONT, OP_CONT]
    assert [f.fin for f in frames] == [False, False, True]
    client.receive_data(out)
    assert list(client.events()) == [TextMessage(data="a" * 20 + "b" * 10)]
    # The count starts again for the next message.
    client.receive_data(server.send(TextMessage(data="c" * 30)))
    assert list(client.events()) == [TextMessage(data="c" * 30)]


def test_message_in_pieces_keeps_its_type() -> None:
    _, server = open_pair(None, Limits.general())
    server.send(TextMessage(data="a", message_finished=False))
    with pytest.raises(LocalProtocolError):
        server.send(BytesMessage(data=b"b"))


def test_wrong_payload_types_are_refused() -> None:
    _, server = open_pair()
    with pytest.raises(TypeError):
        server.send(TextMessage(data=b"bytes"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        server.send(BytesMessage(data="str"))  # type: ignore[arg-type]


def test_sends_in_the_wrong_state_raise_local_protocol_error() -> None:
    client = WSConnection(ConnectionType.CLIENT)
    with pytest.raises(LocalProtocolError):
        client.send(TextMessage(data="before handshake"))
    server = WSConnection(ConnectionType.SERVER)
    with pytest.raises(LocalProtocolError):
        server.send(AcceptConnection())  # no request yet
    _, server = open_pair()
    with pytest.raises(LocalProtocolError):
        server.send(AcceptConnection())
    with pytest.raises(LocalProtocolError):
        server.send(Request(host="x", target="/"))
    # Code written for wsproto catches them unchanged.
    assert issubclass(LocalProtocolError, WsprotoLocalProtocolError)


# -- handshake ----------------------------------------------------------------


def test_client_gets_frames_pipelined_after_the_101() -> None:
    client = WSConnection(ConnectionType.CLIENT)
    peer = wsproto.WSConnection(ConnectionType.SERVER)
    peer.receive_data(client.send(Request(host="example.com", target="/")))
    list(peer.events())
    data = peer.send(AcceptConnection()) + server_frame(OP_TEXT, b"welcome")
    data += server_frame(OP_PING, b"p")
    client.receive_data(data)
    events = list(client.events())
    assert isinstance(events[0], AcceptConnection)
    assert events[1:] == [TextMessage(data="welcome"), Ping(payload=b"p")]
    assert client.state is ConnectionState.OPEN


def test_client_gets_pipelined_frames_byte_by_byte() -> None:
    client = WSConnection(ConnectionType.CLIENT)
    peer = wsproto.WSConnection(ConnectionType.SERVER)
    peer.receive_data(client.send(Request(host="example.com", target="/")))
    list(peer.events())
    data = peer.send(AcceptConnection()) + server_frame(OP_TEXT, b"hi")
    for i in range(len(data)):
        client.receive_data(data[i : i + 1])
    events = list(client.events())
    assert isinstance(events[0], AcceptConnection) and events[1:] == [TextMessage(data="hi")]


def test_server_delivers_pipelined_frames_after_accepting() -> None:
    peer = wsproto.WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    request = peer.send(Request(host="example.com", target="/chat"))
    frames = client_frame(OP_TEXT, b"early") + client_frame(OP_PING, b"!")
    server.receive_data(request + frames)
    (event,) = server.events()
    assert isinstance(event, Request) and event.target == "/chat"
    assert server.buffered == len(frames)  # held, not parsed yet
    accept = server.send(AcceptConnection())
    assert server.state is ConnectionState.OPEN
    assert list(server.events()) == [TextMessage(data="early"), Ping(payload=b"!")]
    peer.receive_data(accept)
    assert isinstance(next(peer.events()), AcceptConnection)


def test_pipelined_violation_after_the_request() -> None:
    peer = wsproto.WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(peer.send(Request(host="h", target="/")) + client_frame(0x7))
    assert isinstance(next(server.events()), Request)
    server.send(AcceptConnection())
    assert [e.code for e in server.events()] == [1002]


def test_extensions_are_refused() -> None:
    client = WSConnection(ConnectionType.CLIENT)
    with pytest.raises(LocalProtocolError, match="extension"):
        client.send(Request(host="h", target="/", extensions=[PerMessageDeflate()]))
    # A client offering permessage-deflate is accepted without it.
    peer = wsproto.WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(peer.send(Request(host="h", target="/", extensions=[PerMessageDeflate()])))
    (request,) = server.events()
    with pytest.raises(LocalProtocolError, match="extension"):
        server.send(AcceptConnection(extensions=[PerMessageDeflate()]))
    peer.receive_data(server.send(AcceptConnection()))
    (accept,) = peer.events()
    assert isinstance(accept, AcceptConnection) and accept.extensions == []
    # No RSV1 frames expected: a compressed-looking frame is a violation.
    server.receive_data(client_frame(OP_TEXT, b"x", rsv=4))
    assert [e.code for e in server.events()] == [1002]


def request_head(size: int) -> bytes:
    """A valid upgrade request head of exactly ``size`` bytes."""
    base = (
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    )
    filler = size - len(base) - len(b"X-Pad: \r\n\r\n")
    assert filler >= 0
    return base + b"X-Pad: " + b"p" * filler + b"\r\n\r\n"


def test_request_head_at_the_limit_is_accepted() -> None:
    server = WSConnection(ConnectionType.SERVER, Limits(max_handshake_size=1000))
    head = request_head(1000)
    assert len(head) == 1000
    server.receive_data(head)
    (event,) = server.events()
    assert isinstance(event, Request)


@pytest.mark.parametrize("chunk", [None, 100], ids=["whole", "in-chunks"])
def test_oversized_request_head_is_431(chunk: int | None) -> None:
    server = WSConnection(ConnectionType.SERVER, Limits(max_handshake_size=1000))
    head = request_head(1001)
    with pytest.raises(RemoteProtocolError) as info:
        if chunk is None:
            server.receive_data(head)
        else:
            for i in range(0, len(head), chunk):
                server.receive_data(head[i : i + chunk])
    hint = info.value.event_hint
    assert isinstance(hint, RejectConnection) and hint.status_code == 431
    assert isinstance(info.value, wsproto.utilities.RemoteProtocolError)


def test_default_head_limit_is_16_kib() -> None:
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(request_head(16384))
    assert isinstance(next(server.events()), Request)
    server = WSConnection(ConnectionType.SERVER)
    with pytest.raises(RemoteProtocolError):
        server.receive_data(request_head(16385))


def test_endless_head_without_terminator_is_bounded() -> None:
    server = WSConnection(ConnectionType.SERVER, Limits(max_handshake_size=1000))
    server.receive_data(b"GET / HTTP/1.1\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        for _ in range(100):
            server.receive_data(b"X-A: " + b"a" * 20 + b"\r\n")
            assert server.buffered <= 1000
    assert info.value.event_hint.status_code == 431  # type: ignore[union-attr]


# -- memory -------------------------------------------------------------------


def message_stream(sizes: list[int], char: str = "ä") -> bytes:
    """One text message of ``sum(sizes)`` bytes split into frames of ``sizes``."""
    total = sum(sizes)
    payload = (char * total).encode()[:total]
    assert len(payload) == total
    out, pos = [], 0
    for i, size in enumerate(sizes):
        op = OP_TEXT if i == 0 else OP_CONT
        out.append(client_frame(op, payload[pos : pos + size], fin=i == len(sizes) - 1))
        pos += size
    return b"".join(out)


def test_dripping_a_128_kib_message_holds_at_most_message_plus_header() -> None:
    server = open_server()
    data = message_stream([FRAME] * 4)
    peak = 0
    for i in range(len(data)):
        server.receive_data(data[i : i + 1])
        peak = max(peak, server.buffered)
        assert server.buffered <= MESSAGE + 14 + 1
    assert peak >= MESSAGE - 1  # the bound is reached, so the check is real
    (message,) = server.events()
    assert len(message.data.encode()) == MESSAGE
    assert server.buffered == 0


@pytest.mark.parametrize("seed", range(5))
def test_buffered_bound_after_every_feed(seed: int) -> None:
    rng = random.Random(seed)
    server = open_server()
    stream = message_stream([FRAME, FRAME, 100, FRAME, FRAME - 100]) + message_stream([5, 7])
    stream += client_frame(OP_PING, b"p" * 125) + message_stream([FRAME] * 4)
    pos = 0
    while pos < len(stream):
        n = rng.choice([1, 2, 13, 14, 15, 1000, 40000])
        chunk = stream[pos : pos + n]
        pos += n
        server.receive_data(chunk)
        assert server.buffered <= MESSAGE + 14 + len(chunk)
    events = list(server.events())
    assert [type(e) for e in events] == [TextMessage, TextMessage, Ping, TextMessage]
    assert server.buffered == 0


def test_control_frame_between_fragments_holds_at_most_its_125_bytes() -> None:
    # A ping's payload has to be held until it is complete; RFC 6455 caps it at 125.
    server = open_server()
    stream = b"".join(
        [client_frame(OP_TEXT, b"a" * FRAME, fin=False)]
        + [client_frame(OP_CONT, b"a" * FRAME, fin=False)] * 2
        + [client_frame(OP_CONT, b"a" * (FRAME - 1), fin=False)]
        + [client_frame(OP_PING, b"q" * 125), client_frame(OP_CONT, b"a")]
    )
    for i in range(len(stream)):
        server.receive_data(stream[i : i + 1])
        assert server.buffered <= MESSAGE + 14 + 125
    assert list(server.events()) == [Ping(payload=b"q" * 125), TextMessage(data="a" * MESSAGE)]


def test_a_too_big_frame_is_never_buffered() -> None:
    server = open_server()
    server.receive_data(client_frame(OP_TEXT, b"x" * (FRAME + 1)))
    assert [e.code for e in server.events()] == [1009]
    assert server.buffered == 0


def test_pong_and_binary_received_by_client() -> None:
    client = open_client(Limits.general())
    client.receive_data(server_frame(OP_PONG, b"") + server_frame(OP_BINARY, b"\x00"))
    assert list(client.events()) == [Pong(payload=b""), BytesMessage(data=b"\x00")]
