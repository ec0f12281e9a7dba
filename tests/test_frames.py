"""Frame level: masking, serialization and ``FrameReader``, against both implementations.

Every test here takes the ``impl`` fixture, so it runs once against the pure
twin (``framer._fast_py``) and once against the compiled ``framer._fast``.
Expected close codes for RFC 6455 violations are not written down by hand:
they are what wsproto's own connection answers to the same bytes.
"""

from __future__ import annotations

import os
import struct
from types import ModuleType

import pytest
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from _support import (
    KEY,
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    close_payload,
    frame,
    header,
    open_receiver,
    open_wsproto,
    parse_frames,
    xor,
)
from framer import ConnectionType, Limits, MessageTooBigError, WSConnection

BIG = 2**25


def reader(impl: ModuleType, *, client: bool = False, frame_size: int = BIG,
           message_size: int = BIG, binary: bool = True) -> object:
    return impl.FrameReader(client, frame_size, message_size, binary)


def feed_bytewise(r: object, data: bytes) -> list[object]:
    out: list[object] = []
    for i in range(len(data)):
        out += r.feed(data[i : i + 1])  # type: ignore[attr-defined]
    return out


# -- mask ---------------------------------------------------------------------


def test_mask_rfc_example(impl: ModuleType) -> None:
    # RFC 6455 section 5.7: "Hello" masked with 37 fa 21 3d.
    assert impl.mask(b"Hello", KEY) == bytes.fromhex("7f9f4d5158")
    assert impl.mask(bytes.fromhex("7f9f4d5158"), KEY) == b"Hello"


@pytest.mark.parametrize(
    "n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 511,
          512, 513, 1000, 65537],
)
def test_mask_matches_bytewise_xor(impl: ModuleType, n: int) -> None:
    data = os.urandom(n)
    key = os.urandom(4)
    assert impl.mask(data, key) == xor(data, key)
    assert impl.mask(bytearray(data), bytearray(key)) == xor(data, key)
    assert impl.mask(memoryview(data), memoryview(key)) == xor(data, key)


@pytest.mark.parametrize("offset", [0, 1, 2, 3, 4, 5, 7, 1001])
def test_mask_offset_continues_the_key_stream(impl: ModuleType, offset: int) -> None:
    data = os.urandom(50)
    whole = xor(b"\0" * offset + data, KEY)[offset:]
    assert impl.mask(data, KEY, offset) == whole
    # Unmasking a payload in pieces gives the same as unmasking it at once.
    masked = xor(data, KEY)
    assert impl.mask(masked[:offset % 50], KEY, 0) + impl.mask(
        masked[offset % 50 :], KEY, offset % 50
    ) == data


@pytest.mark.parametrize("n", [0, 1, 7, 31, 32, 33, 129, 513, 32768, 131073])
@pytest.mark.parametrize("offset", [0, 1, 3])
def test_mask_inplace_matches_mask(impl: ModuleType, n: int, offset: int) -> None:
    data = os.urandom(n)
    buf = bytearray(data)
    assert impl.mask_inplace(buf, KEY, offset) is None
    assert bytes(buf) == impl.mask(data, KEY, offset) == xor(b"\0" * offset + data, KEY)[offset:]
    # A writable view of part of a larger buffer is masked where it lies.
    outer = bytearray(b"!" * 5 + data + b"?" * 5)
    impl.mask_inplace(memoryview(outer)[5 : 5 + n], KEY, offset)
    assert outer == b"!" * 5 + bytes(buf) + b"?" * 5


def test_mask_inplace_refuses_read_only_buffers(impl: ModuleType) -> None:
    with pytest.raises((TypeError, BufferError)):
        impl.mask_inplace(b"read-only", KEY)


@pytest.mark.parametrize("key", [b"", b"abc", b"abcde"])
def test_mask_rejects_a_key_that_is_not_4_bytes(impl: ModuleType, key: bytes) -> None:
    with pytest.raises(ValueError):
        impl.mask(b"data", key)


# -- serialize_frames ---------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "header_size"),
    [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10), (70000, 10)],
)
def test_serialize_uses_the_minimal_length_encoding(
    impl: ModuleType, length: int, header_size: int
) -> None:
    payload = os.urandom(length)
    data = impl.serialize_frames(OP_BINARY, payload, True, BIG, False)
    (f,) = parse_frames(data)
    assert (f.fin, f.rsv, f.opcode, f.key, f.header_size) == (True, 0, OP_BINARY, None, header_size)
    assert f.payload == payload
    assert len(data) == header_size + length


def test_serialize_splits_into_frames_of_at_most_max_frame_size(impl: ModuleType) -> None:
    payload = os.urandom(100)
    frames = parse_frames(impl.serialize_frames(OP_TEXT, payload, True, 30, False))
    assert [f.opcode for f in frames] == [OP_TEXT, OP_CONT, OP_CONT, OP_CONT]
    assert [f.fin for f in frames] == [False, False, False, True]
    assert [len(f.payload) for f in frames] == [30, 30, 30, 10]
    assert b"".join(f.payload for f in frames) == payload


def test_serialize_exact_multiple_has_no_empty_trailing_frame(impl: ModuleType) -> None:
    frames = parse_frames(impl.serialize_frames(OP_BINARY, b"x" * 90, True, 30, False))
    assert [len(f.payload) for f in frames] == [30, 30, 30]
    assert [f.fin for f in frames] == [False, False, True]


def test_serialize_without_fin_and_as_continuation(impl: ModuleType) -> None:
    frames = parse_frames(impl.serialize_frames(OP_CONT, b"abcdef", False, 4, False))
    assert [(f.opcode, f.fin, f.payload) for f in frames] == [
        (OP_CONT, False, b"abcd"),
        (OP_CONT, False, b"ef"),
    ]
    (empty,) = parse_frames(impl.serialize_frames(OP_TEXT, b"", True, 4, False))
    assert (empty.opcode, empty.fin, empty.payload) == (OP_TEXT, True, b"")


def test_client_frames_are_masked_with_a_fresh_key_each(impl: ModuleType) -> None:
    payload = os.urandom(1000)
    frames = parse_frames(impl.serialize_frames(OP_BINARY, payload, True, 10, True))
    assert len(frames) == 100
    assert all(f.key is not None and len(f.key) == 4 for f in frames)
    keys = {f.key for f in frames}
    # 100 random 4-byte keys: a repeat is a 1-in-10^6 event, a constant key is a bug.
    assert len(keys) >= 99
    assert b"".join(f.payload for f in frames) == payload
    # Two serializations of the same short frame use different keys too.
    a = parse_frames(impl.serialize_frames(OP_TEXT, b"hi", True, 10, True))[0].key
    b = parse_frames(impl.serialize_frames(OP_TEXT, b"hi", True, 10, True))[0].key
    c = parse_frames(impl.serialize_frames(OP_TEXT, b"hi", True, 10, True))[0].key
    assert len({a, b, c}) > 1


def test_serialize_accepts_bytearray_and_memoryview(impl: ModuleType) -> None:
    payload = os.urandom(77)
    expected = impl.serialize_frames(OP_BINARY, payload, True, 20, False)
    assert impl.serialize_frames(OP_BINARY, bytearray(payload), True, 20, False) == expected
    assert impl.serialize_frames(OP_BINARY, memoryview(payload), True, 20, False) == expected


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536, 70000])
@pytest.mark.parametrize("max_frame", [1000, 65536, BIG])
def test_serialize_parts_are_serialize_frames_without_the_copy(
    impl: ModuleType, length: int, max_frame: int
) -> None:
    payload = os.urandom(length)
    parts = impl.serialize_parts(OP_BINARY, payload, True, max_frame, False)
    assert b"".join(parts) == impl.serialize_frames(OP_BINARY, payload, True, max_frame, False)
    if length <= max_frame:
        assert len(parts) == 2 and parts[1] is payload  # passed through, not copied
    else:
        # Views of the payload, not copies of it.
        assert all(isinstance(p, memoryview) and p.obj is payload for p in parts[1::2])


def test_serialize_parts_as_a_client_is_one_masked_bytes(impl: ModuleType) -> None:
    payload = os.urandom(300)
    (data,) = impl.serialize_parts(OP_BINARY, payload, False, 100, True)
    frames = parse_frames(data)
    assert [(f.opcode, f.fin, f.payload) for f in frames] == [
        (OP_BINARY, False, payload[:100]), (OP_CONT, False, payload[100:200]),
        (OP_CONT, False, payload[200:]),
    ]
    assert all(f.key is not None for f in frames)


@pytest.mark.parametrize("client", [False, True])
def test_send_text_limits_the_utf8_size_at_its_exact_boundary(
    impl: ModuleType, client: bool
) -> None:
    text = "h\u00e9llo \U0001f600" * 20  # 11 UTF-8 bytes per repetition: 220 in all
    size = len(text.encode("utf-8"))
    name = "pure" if impl.__name__ == "framer._fast_py" else "compiled"
    peer = ConnectionType.SERVER if client else ConnectionType.CLIENT

    def sender(max_message_size: int) -> WSConnection:
        limits = Limits(max_frame_size=100, max_message_size=max_message_size)
        return open_receiver(peer, limits, name)

    with pytest.raises(MessageTooBigError):
        sender(size - 1).send_text(text)
    frames = parse_frames(sender(size).send_text(text))
    assert [(f.opcode, f.fin, len(f.payload)) for f in frames] == [
        (OP_TEXT, False, 100), (OP_CONT, False, 100), (OP_CONT, True, 20),
    ]
    assert b"".join(f.payload for f in frames) == text.encode("utf-8")
    assert all((f.key is not None) == client for f in frames)


def test_serialize_refuses_a_max_frame_size_under_one(impl: ModuleType) -> None:
    for call in (lambda: impl.serialize_frames(OP_BINARY, b"ab", True, 0, False),
                 lambda: impl.serialize_parts(OP_BINARY, b"ab", True, 0, False)):
        with pytest.raises(ValueError, match="max_frame_size must be at least 1"):
            call()


# -- FrameReader: messages ----------------------------------------------------


def test_reader_whole_text_and_binary_messages(impl: ModuleType) -> None:
    r = reader(impl)
    events = r.feed(frame(OP_TEXT, "héllo".encode()) + frame(OP_BINARY, b"\x00\xff"))
    assert events == [TextMessage(data="héllo"), BytesMessage(data=b"\x00\xff")]
    assert all(e.message_finished and e.frame_finished for e in events)
    assert r.buffered == 0 and not r.done and not r.closed


def test_reader_joins_fragments_with_controls_in_between(impl: ModuleType) -> None:
    data = (
        frame(OP_TEXT, b"one ", fin=False)
        + frame(OP_PING, b"p1")
        + frame(OP_CONT, b"two ", fin=False)
        + frame(OP_PONG, b"p2")
        + frame(OP_CONT, b"", fin=False)
        + frame(OP_CONT, b"three")
        + frame(OP_BINARY, b"b1", fin=False)
        + frame(OP_PING, b"")
        + frame(OP_CONT, b"b2")
    )
    expected = [
        Ping(payload=b"p1"),
        Pong(payload=b"p2"),
        TextMessage(data="one two three"),
        Ping(payload=b""),
        BytesMessage(data=b"b1b2"),
    ]
    assert reader(impl).feed(data) == expected
    assert feed_bytewise(reader(impl), data) == expected


def test_reader_multibyte_character_split_across_frames(impl: ModuleType) -> None:
    euro = "€".encode()  # e2 82 ac
    data = frame(OP_TEXT, b"a" + euro[:1], fin=False) + frame(OP_CONT, euro[1:2], fin=False)
    data += frame(OP_CONT, euro[2:] + b"b")
    assert reader(impl).feed(data) == [TextMessage(data="a€b")]
    assert feed_bytewise(reader(impl), data) == [TextMessage(data="a€b")]


def test_reader_close_frame_ends_parsing(impl: ModuleType) -> None:
    r = reader(impl)
    events = r.feed(frame(OP_CLOSE, close_payload(1001, "bye".encode())) + frame(OP_TEXT, b"late"))
    assert events == [CloseConnection(code=1001, reason="bye")]
    assert r.closed and r.done and r.violation_code == 0
    assert r.feed(frame(OP_TEXT, b"later")) == []


def test_reader_empty_close_is_1005(impl: ModuleType) -> None:
    r = reader(impl)
    assert r.feed(frame(OP_CLOSE)) == [CloseConnection(code=1005, reason="")]
    assert r.closed


def test_reader_client_side_reads_unmasked_frames(impl: ModuleType) -> None:
    r = reader(impl, client=True)
    assert r.feed(frame(OP_TEXT, b"hi", key=None)) == [TextMessage(data="hi")]


def test_reader_accepts_bytearray_and_memoryview(impl: ModuleType) -> None:
    data = frame(OP_TEXT, b"hello", fin=False) + frame(OP_CONT, b" world")
    for kind in (bytearray, memoryview):
        assert reader(impl).feed(kind(data)) == [TextMessage(data="hello world")]


def test_reader_violation_sets_code_and_stops(impl: ModuleType) -> None:
    r = reader(impl)
    events = r.feed(frame(OP_TEXT, b"ok") + frame(0x3) + frame(OP_TEXT, b"never"))
    assert events[0] == TextMessage(data="ok")
    assert isinstance(events[1], CloseConnection) and events[1].code == 1002
    assert len(events) == 2
    assert r.done and not r.closed
    assert r.violation_code == 1002 and r.violation_reason
    assert events[1].reason == r.violation_reason
    assert r.feed(frame(OP_TEXT, b"more")) == []
    assert r.buffered == 0


# -- RFC 6455 violations: same close code as wsproto --------------------------

# (id, bytes a client sends to a server); every one is a violation.
SERVER_CASES: list[tuple[str, bytes]] = [
    *[(f"opcode-{op:#x}", frame(op, b"x")) for op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF)],
    *[(f"rsv{bit}-text", frame(OP_TEXT, b"x", rsv=1 << (3 - bit))) for bit in (1, 2, 3)],
    ("rsv-binary", frame(OP_BINARY, b"x", rsv=7)),
    ("rsv-ping", frame(OP_PING, b"x", rsv=4)),
    ("rsv-continuation", frame(OP_TEXT, b"x", fin=False) + frame(OP_CONT, b"y", rsv=2)),
    ("fragmented-ping", frame(OP_PING, b"x", fin=False)),
    ("fragmented-pong", frame(OP_PONG, b"x", fin=False)),
    ("fragmented-close", frame(OP_CLOSE, close_payload(1000), fin=False)),
    ("ping-126", frame(OP_PING, b"x" * 126)),
    ("pong-126", frame(OP_PONG, b"x" * 126)),
    ("close-126", frame(OP_CLOSE, close_payload(1000, b"x" * 124))),
    ("ping-16bit-length", frame(OP_PING, b"x" * 10, width=16)),
    ("unmasked-client-frame", frame(OP_TEXT, b"x", key=None)),
    ("unmasked-ping", frame(OP_PING, b"", key=None)),
    ("16bit-length-for-0", frame(OP_TEXT, b"", width=16)),
    ("16bit-length-for-125", frame(OP_TEXT, b"x" * 125, width=16)),
    ("64bit-length-for-126", frame(OP_TEXT, b"x" * 126, width=64)),
    ("64bit-length-for-65535", frame(OP_BINARY, b"x" * 65535, width=64)),
    ("64bit-length-msb-set", header(OP_BINARY, 2**63)),
    ("64bit-length-all-ones", header(OP_BINARY, 2**64 - 1)),
    ("continuation-without-start", frame(OP_CONT, b"x")),
    ("continuation-after-finished-message", frame(OP_TEXT, b"x") + frame(OP_CONT, b"y")),
    ("text-inside-text", frame(OP_TEXT, b"x", fin=False) + frame(OP_TEXT, b"y")),
    ("binary-inside-text", frame(OP_TEXT, b"x", fin=False) + frame(OP_BINARY, b"y")),
    ("text-inside-binary", frame(OP_BINARY, b"x", fin=False) + frame(OP_TEXT, b"y")),
    ("close-1-byte", frame(OP_CLOSE, b"\x03")),
    *[
        (f"close-code-{code}", frame(OP_CLOSE, close_payload(code)))
        for code in (0, 1, 999, 1004, 1005, 1006, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535)
    ],
    ("close-reason-invalid-utf8", frame(OP_CLOSE, close_payload(1000, b"\xff"))),
    ("close-reason-truncated-utf8", frame(OP_CLOSE, close_payload(1000, "€".encode()[:2]))),
    ("close-reason-surrogate", frame(OP_CLOSE, close_payload(4000, b"\xed\xa0\x80"))),
    ("text-invalid-utf8", frame(OP_TEXT, b"\xff")),
    ("text-overlong", frame(OP_TEXT, b"\xc0\xaf")),
    ("text-surrogate", frame(OP_TEXT, b"a\xed\xa0\x80b")),
    ("text-above-10ffff", frame(OP_TEXT, b"\xf4\x90\x80\x80")),
    ("text-truncated-at-end", frame(OP_TEXT, b"ok\xe2\x82")),
    (
        "fragmented-text-invalid-in-second",
        frame(OP_TEXT, b"ok", fin=False) + frame(OP_CONT, b"\xce\xba\xf8"),
    ),
    (
        "fragmented-text-truncated-at-end",
        frame(OP_TEXT, b"ok\xf0", fin=False) + frame(OP_CONT, b"\x9f\x98"),
    ),
    ("message-after-good-one", frame(OP_PING, b"p") + frame(OP_TEXT, b"a") + frame(OP_CONT, b"b")),
]

# (id, bytes a server sends to a client).
CLIENT_CASES: list[tuple[str, bytes]] = [
    ("masked-server-frame", frame(OP_TEXT, b"x")),
    ("masked-server-ping", frame(OP_PING, b"")),
    ("opcode-0xb", frame(0xB, b"", key=None)),
    ("rsv1", frame(OP_TEXT, b"x", rsv=4, key=None)),
    ("fragmented-ping", frame(OP_PING, b"", fin=False, key=None)),
    ("close-code-1005", frame(OP_CLOSE, close_payload(1005), key=None)),
    ("text-invalid-utf8", frame(OP_TEXT, b"\x80", key=None)),
    ("16bit-length-for-3", frame(OP_BINARY, b"abc", width=16, key=None)),
]


def wsproto_close_code(connection_type: ConnectionType, data: bytes) -> int | None:
    conn = open_wsproto(connection_type)
    conn.receive_data(data)
    closes = [e for e in conn.events() if isinstance(e, CloseConnection)]
    return int(closes[-1].code) if closes else None


def framer_close_code(impl: ModuleType, client: bool, data: bytes) -> int | None:
    events = reader(impl, client=client).feed(data)
    closes = [e for e in events if isinstance(e, CloseConnection)]
    if closes:
        assert events[-1] is closes[0], "a close must be the last event"
    return int(closes[0].code) if closes else None


@pytest.mark.parametrize(("case", "data"), SERVER_CASES, ids=[c for c, _ in SERVER_CASES])
def test_server_violation_code_matches_wsproto(impl: ModuleType, case: str, data: bytes) -> None:
    expected = wsproto_close_code(ConnectionType.SERVER, data)
    assert expected in (1002, 1007), f"wsproto did not reject {case}"
    assert framer_close_code(impl, False, data) == expected
    # The same bytes one at a time.
    r = reader(impl)
    closes = [e for e in feed_bytewise(r, data) if isinstance(e, CloseConnection)]
    assert [c.code for c in closes] == [expected]
    assert r.violation_code == expected


@pytest.mark.parametrize(("case", "data"), CLIENT_CASES, ids=[c for c, _ in CLIENT_CASES])
def test_client_violation_code_matches_wsproto(impl: ModuleType, case: str, data: bytes) -> None:
    expected = wsproto_close_code(ConnectionType.CLIENT, data)
    assert expected in (1002, 1007), f"wsproto did not reject {case}"
    assert framer_close_code(impl, True, data) == expected


VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
                     3000, 3999, 4000, 4999]


@pytest.mark.parametrize("code", VALID_CLOSE_CODES)
def test_valid_close_codes_accepted_like_wsproto(impl: ModuleType, code: int) -> None:
    data = frame(OP_CLOSE, close_payload(code, "ça va".encode()))
    conn = open_wsproto(ConnectionType.SERVER)
    conn.receive_data(data)
    assert list(conn.events()) == [CloseConnection(code=code, reason="ça va")]
    r = reader(impl)
    assert r.feed(data) == [CloseConnection(code=code, reason="ça va")]
    assert r.closed and r.violation_code == 0


def test_wsproto_and_framer_agree_on_valid_streams(impl: ModuleType) -> None:
    # A sanity check of the comparison itself: no close for valid input.
    data = frame(OP_TEXT, "ünïcödé".encode()) + frame(OP_PING, b"x" * 125)
    data += frame(OP_BINARY, b"\x00" * 126, width=16) + frame(OP_BINARY, b"1" * 65536)
    assert wsproto_close_code(ConnectionType.SERVER, data) is None
    assert framer_close_code(impl, False, data) is None


# -- invalid UTF-8 is caught as soon as it arrives ----------------------------


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        (b"ok", b"\xff"),
        (b"ok", b"\xc0"),  # never valid
        (b"ok", b"\xf5"),  # never valid
        (b"ok\xe0", b"\x80"),  # overlong
        (b"ok\xed", b"\xa0"),  # UTF-16 surrogate
        (b"ok\xf4", b"\x90"),  # above U+10FFFF
        (b"ok\xf0", b"\x80"),  # overlong
        (b"ok\xc2", b"A"),  # missing continuation byte
        (b"\xe2\x82", b"A"),
    ],
)
def test_invalid_utf8_closes_before_the_message_ends(
    impl: ModuleType, good: bytes, bad: bytes
) -> None:
    # The frame announces 100 more bytes and no FIN; the close must come out
    # as soon as the first byte that makes the text invalid arrives.
    payload = good + bad + b"a" * 100
    data = header(OP_TEXT, len(payload), fin=False) + xor(payload, KEY)
    r = reader(impl)
    prefix = len(header(OP_TEXT, len(payload))) + len(good)
    assert r.feed(data[:prefix]) == []
    events = r.feed(data[prefix : prefix + len(bad)])
    assert len(events) == 1 and events[0].code == 1007
    assert r.violation_code == 1007 and r.buffered == 0


def test_invalid_utf8_in_later_fragment_closes_at_once(impl: ModuleType) -> None:
    r = reader(impl)
    assert r.feed(frame(OP_TEXT, b"fine", fin=False)) == []
    events = r.feed(frame(OP_CONT, b"\xff", fin=False))
    assert [e.code for e in events] == [1007]


def test_text_ending_mid_sequence_is_1007(impl: ModuleType) -> None:
    r = reader(impl)
    assert r.feed(frame(OP_TEXT, "x€".encode()[:-1], fin=False)) == []
    events = r.feed(frame(OP_CONT, b""))
    assert [e.code for e in events] == [1007]


def test_incomplete_but_valid_prefix_waits(impl: ModuleType) -> None:
    # e2 82 could still become "€": no close until the message ends.
    r = reader(impl)
    assert r.feed(frame(OP_TEXT, b"\xe2\x82", fin=False)) == []
    assert not r.done
    assert r.feed(frame(OP_CONT, b"\xac")) == [TextMessage(data="€")]


def test_binary_is_not_utf8_checked(impl: ModuleType) -> None:
    assert reader(impl).feed(frame(OP_BINARY, b"\xff\xfe")) == [BytesMessage(data=b"\xff\xfe")]


def test_wsproto_itself_treats_the_cases_as_documented() -> None:
    # Guard against a wsproto upgrade changing the reference silently.
    assert wsproto_close_code(ConnectionType.SERVER, frame(OP_TEXT, b"\xff")) == 1007
    assert wsproto_close_code(ConnectionType.SERVER, frame(0x3)) == 1002


def test_buffered_counts_bytes_of_multibyte_text(impl: ModuleType) -> None:
    r = reader(impl)
    assert r.feed(frame(OP_TEXT, "ä€😀".encode(), fin=False)) == []
    assert r.buffered == 2 + 3 + 4
    assert r.feed(frame(OP_CONT, "€".encode()[:2], fin=False)) == []
    assert r.buffered == 2 + 3 + 4 + 2  # the incomplete sequence counts too
    assert r.feed(header(OP_CONT, 10)[:3]) == []
    assert r.buffered == 11 + 3  # plus the carried header bytes


@pytest.mark.parametrize("n", [31, 32, 33, 127, 128, 129, 300, 4099])
def test_mask_at_every_alignment(impl: ModuleType, n: int) -> None:
    # The compiled twin aligns its stores to 32 bytes first: every start
    # address and every key phase must give the plain XOR.
    for start in range(0, 34):
        data = os.urandom(n + 40)
        expected = xor(data[start : start + n], KEY)
        buf = bytearray(data)
        impl.mask_inplace(memoryview(buf)[start : start + n], KEY)
        assert bytes(buf[start : start + n]) == expected
        assert buf[:start] == data[:start] and buf[start + n :] == data[start + n :]
        for offset in range(4):
            assert impl.mask(data[start : start + n], KEY, offset) == xor(
                b"\0" * offset + data[start : start + n], KEY
            )[offset:]
