"""Every limit at its exact boundary, on the reader (both implementations) and
on ``framer.WSConnection``; and ``Limits`` itself."""

from __future__ import annotations

import os
from types import ModuleType

import pytest
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

from _support import (
    KEY,
    OP_BINARY,
    OP_CONT,
    OP_PING,
    OP_TEXT,
    frame,
    header,
    open_client,
    open_server,
    xor,
)
from framer import (
    API_GATEWAY_MAX_FRAME_SIZE,
    API_GATEWAY_MAX_MESSAGE_SIZE,
    ConnectionState,
    Limits,
)

FRAME = 32768
MESSAGE = 131072


def test_api_gateway_numbers() -> None:
    assert API_GATEWAY_MAX_FRAME_SIZE == FRAME
    assert API_GATEWAY_MAX_MESSAGE_SIZE == MESSAGE
    limits = Limits.api_gateway()
    assert (limits.max_frame_size, limits.max_message_size, limits.allow_binary) == (
        FRAME,
        MESSAGE,
        False,
    )
    assert Limits() == limits


def test_general_allows_binary_and_takes_sizes() -> None:
    limits = Limits.general(max_frame_size=10, max_message_size=20)
    assert (limits.max_frame_size, limits.max_message_size, limits.allow_binary) == (10, 20, True)
    default = Limits.general()
    assert default.allow_binary and default.max_frame_size >= 16 * 2**20
    assert default.max_message_size >= 16 * 2**20
    assert Limits.general(max_handshake_size=100).max_handshake_size == 100


@pytest.mark.parametrize("field", ["max_frame_size", "max_message_size", "max_handshake_size"])
@pytest.mark.parametrize("value", [0, -1, 2**63])
def test_limits_out_of_range_names_the_field(field: str, value: int) -> None:
    with pytest.raises(ValueError) as info:
        Limits(**{field: value})
    assert field in str(info.value)
    assert str(value) in str(info.value)


@pytest.mark.parametrize("field", ["max_frame_size", "max_message_size", "max_handshake_size"])
@pytest.mark.parametrize("value", [1.5, "10", None, True])
def test_limits_wrong_type_names_the_field(field: str, value: object) -> None:
    with pytest.raises(TypeError) as info:
        Limits(**{field: value})
    assert field in str(info.value)


def test_limits_allow_binary_must_be_bool() -> None:
    with pytest.raises(TypeError, match="allow_binary"):
        Limits(allow_binary=1)  # type: ignore[arg-type]


def test_limits_extremes_are_valid_and_frozen() -> None:
    limits = Limits(max_frame_size=1, max_message_size=2**63 - 1)
    assert limits.max_message_size == 2**63 - 1
    with pytest.raises(AttributeError):
        limits.max_frame_size = 5  # type: ignore[misc]


# -- frame size ---------------------------------------------------------------


def api_reader(impl: ModuleType, client: bool = False) -> object:
    return impl.FrameReader(client, FRAME, MESSAGE, False)


def test_frame_of_32768_is_accepted(impl: ModuleType) -> None:
    payload = b"a" * FRAME
    r = api_reader(impl)
    assert r.feed(frame(OP_TEXT, payload)) == [TextMessage(data=payload.decode())]
    assert not r.done


def test_frame_of_32769_is_1009_at_the_header(impl: ModuleType) -> None:
    r = api_reader(impl)
    events = r.feed(header(OP_TEXT, FRAME + 1))
    assert [type(e) for e in events] == [CloseConnection]
    assert events[0].code == 1009
    assert r.violation_code == 1009 and r.buffered == 0
    assert r.feed(xor(b"a" * (FRAME + 1), KEY)) == []
    assert r.buffered == 0


def test_frame_limit_is_checked_before_the_mask_key_arrives(impl: ModuleType) -> None:
    # 2 bytes + 2-byte length: enough to know the frame is too big.
    r = api_reader(impl)
    events = r.feed(header(OP_TEXT, FRAME + 1)[:4])
    assert [e.code for e in events] == [1009]


def test_frame_limit_on_a_continuation_frame(impl: ModuleType) -> None:
    r = api_reader(impl)
    assert r.feed(frame(OP_TEXT, b"a", fin=False)) == []
    events = r.feed(header(OP_CONT, FRAME + 1))
    assert [e.code for e in events] == [1009]
    assert r.buffered == 0


def test_frame_limit_applies_on_the_client_side_too(impl: ModuleType) -> None:
    r = api_reader(impl, client=True)
    assert r.feed(frame(OP_TEXT, b"b" * FRAME, key=None)) == [TextMessage(data="b" * FRAME)]
    events = r.feed(header(OP_TEXT, FRAME + 1, key=None))
    assert [e.code for e in events] == [1009]


def test_announced_2_63_minus_1_is_1009(impl: ModuleType) -> None:
    r = impl.FrameReader(False, 2**26, 2**26, True)
    assert [e.code for e in r.feed(header(OP_BINARY, 2**63 - 1))] == [1009]
    r = api_reader(impl)
    assert [e.code for e in r.feed(header(OP_TEXT, 2**63 - 1))] == [1009]
    assert r.buffered == 0


def test_announced_2_63_is_1002(impl: ModuleType) -> None:
    # RFC 6455 section 5.2: the most significant bit must be 0 (wsproto: 1002).
    r = api_reader(impl)
    assert [e.code for e in r.feed(header(OP_TEXT, 2**63))] == [1002]
    r = impl.FrameReader(False, 2**63 - 1, 2**63 - 1, True)
    assert [e.code for e in r.feed(header(OP_BINARY, 2**63))] == [1002]


def test_largest_limits_accept_a_2_63_minus_1_header(impl: ModuleType) -> None:
    r = impl.FrameReader(False, 2**63 - 1, 2**63 - 1, True)
    assert r.feed(header(OP_BINARY, 2**63 - 1)) == []
    assert not r.done and r.buffered == 0


# -- message size -------------------------------------------------------------


def fragments(payload: bytes, sizes: list[int], opcode: int = OP_TEXT) -> list[bytes]:
    assert sum(sizes) == len(payload)
    out, pos = [], 0
    for i, size in enumerate(sizes):
        op = opcode if i == 0 else OP_CONT
        out.append(frame(op, payload[pos : pos + size], fin=i == len(sizes) - 1))
        pos += size
    return out


@pytest.mark.parametrize(
    "sizes",
    [[FRAME] * 4, [FRAME, FRAME, FRAME, FRAME - 1, 1], [1, FRAME, FRAME, FRAME, FRAME - 1],
     [0, FRAME, FRAME, FRAME, FRAME]],
    ids=["4-frames", "5-frames", "5-frames-small-first", "5-frames-empty-first"],
)
def test_message_of_131072_is_accepted(impl: ModuleType, sizes: list[int]) -> None:
    payload = os.urandom(MESSAGE // 2).hex().encode()
    r = api_reader(impl)
    events = []
    for data in fragments(payload, sizes):
        events += r.feed(data)
    assert events == [TextMessage(data=payload.decode())]
    assert r.buffered == 0


def test_message_of_131073_over_5_frames_is_1009_at_the_fifth_header(impl: ModuleType) -> None:
    payload = b"z" * (MESSAGE + 1)
    *first, last = fragments(payload, [FRAME] * 4 + [1])
    r = api_reader(impl)
    for data in first:
        assert r.feed(data) == []
    held = r.buffered
    assert held == MESSAGE
    # Only the first two bytes of the crossing frame's header.
    events = r.feed(last[:2])
    assert [type(e) for e in events] == [CloseConnection] and events[0].code == 1009
    assert r.buffered == 0


def test_message_of_131073_over_4_frames_hits_the_frame_limit(impl: ModuleType) -> None:
    payload = b"z" * (MESSAGE + 1)
    *first, last = fragments(payload, [FRAME, FRAME, FRAME, FRAME + 1])
    r = api_reader(impl)
    for data in first:
        assert r.feed(data) == []
    assert [e.code for e in r.feed(last[:4])] == [1009]


def test_message_limit_below_the_frame_limit(impl: ModuleType) -> None:
    r = impl.FrameReader(False, 100, 50, True)
    assert r.feed(frame(OP_BINARY, b"x" * 50)) == [BytesMessage(data=b"x" * 50)]
    assert [e.code for e in r.feed(header(OP_BINARY, 51))] == [1009]


def test_message_size_resets_between_messages(impl: ModuleType) -> None:
    r = impl.FrameReader(False, 10, 25, True)
    for _ in range(3):
        events = []
        for data in fragments(b"m" * 25, [10, 10, 5], OP_BINARY):
            events += r.feed(data)
        assert events == [BytesMessage(data=b"m" * 25)]


def test_control_frames_do_not_count_toward_the_message(impl: ModuleType) -> None:
    r = impl.FrameReader(False, 10, 20, True)
    data = frame(OP_TEXT, b"a" * 10, fin=False) + frame(OP_PING, b"p" * 125)
    data += frame(OP_CONT, b"b" * 10)
    assert r.feed(data) == [Ping(payload=b"p" * 125), TextMessage(data="a" * 10 + "b" * 10)]


@pytest.mark.parametrize("frame_size", [1, 7, 10])
def test_custom_frame_limit_honoured(impl: ModuleType, frame_size: int) -> None:
    r = impl.FrameReader(False, frame_size, 1000, True)
    assert r.feed(frame(OP_BINARY, b"q" * frame_size)) == [BytesMessage(data=b"q" * frame_size)]
    assert [e.code for e in r.feed(header(OP_BINARY, frame_size + 1))] == [1009]


# -- binary policy ------------------------------------------------------------


def test_binary_frame_is_1003_in_api_gateway_mode(impl: ModuleType) -> None:
    r = api_reader(impl)
    events = r.feed(header(OP_BINARY, 5))
    assert [e.code for e in events] == [1003]
    assert r.violation_code == 1003


def test_fragmented_binary_is_1003_at_its_first_frame(impl: ModuleType) -> None:
    r = api_reader(impl)
    assert [e.code for e in r.feed(frame(OP_BINARY, b"x", fin=False))] == [1003]


def test_binary_accepted_when_allowed(impl: ModuleType) -> None:
    r = impl.FrameReader(False, FRAME, MESSAGE, True)
    assert r.feed(frame(OP_BINARY, b"\x00\x01")) == [BytesMessage(data=b"\x00\x01")]


# -- the same on WSConnection -------------------------------------------------


def test_connection_frame_boundary() -> None:
    conn = open_server()
    conn.receive_data(frame(OP_TEXT, b"a" * FRAME))
    assert list(conn.events()) == [TextMessage(data="a" * FRAME)]
    conn.receive_data(header(OP_TEXT, FRAME + 1))
    (close,) = conn.events()
    assert isinstance(close, CloseConnection) and close.code == 1009
    assert conn.buffered == 0
    assert conn.violation is not None and conn.violation.code == 1009
    assert conn.state is ConnectionState.REMOTE_CLOSING
    conn.receive_data(xor(b"a" * (FRAME + 1), KEY))
    assert list(conn.events()) == [] and conn.buffered == 0
    # Answering the violation completes the close with 1009 on the wire.
    data = conn.send(close.response())
    assert data[:4] == b"\x88" + bytes([len(data) - 2]) + b"\x03\xf1"
    assert conn.state is ConnectionState.CLOSED


def test_connection_message_boundary_over_4_and_5_frames() -> None:
    conn = open_server()
    for data in fragments(b"y" * MESSAGE, [FRAME] * 4):
        conn.receive_data(data)
    assert list(conn.events()) == [TextMessage(data="y" * MESSAGE)]
    *first, last = fragments(b"y" * (MESSAGE + 1), [FRAME] * 4 + [1])
    for data in first:
        conn.receive_data(data)
    assert list(conn.events()) == []
    conn.receive_data(last)
    assert [e.code for e in conn.events()] == [1009]


def test_connection_binary_policy() -> None:
    conn = open_server()
    conn.receive_data(frame(OP_BINARY, b"x"))
    assert [e.code for e in conn.events()] == [1003]
    assert conn.violation is not None and conn.violation.code == 1003
    conn = open_server(Limits.general())
    conn.receive_data(frame(OP_BINARY, b"x"))
    assert list(conn.events()) == [BytesMessage(data=b"x")]
    client = open_client()
    client.receive_data(frame(OP_BINARY, b"x", key=None))
    assert [e.code for e in client.events()] == [1003]


def test_connection_custom_limits() -> None:
    conn = open_server(Limits(max_frame_size=10, max_message_size=25))
    for data in fragments(b"m" * 25, [10, 10, 5]):
        conn.receive_data(data)
    assert list(conn.events()) == [TextMessage(data="m" * 25)]
    conn.receive_data(b"".join(fragments(b"m" * 26, [10, 10, 6])))
    assert [e.code for e in conn.events()] == [1009]


def test_connection_2_63_headers() -> None:
    conn = open_server(Limits.general())
    conn.receive_data(header(OP_BINARY, 2**63 - 1))
    assert [e.code for e in conn.events()] == [1009]
    conn = open_server(Limits.general())
    conn.receive_data(header(OP_BINARY, 2**63))
    assert [e.code for e in conn.events()] == [1002]
