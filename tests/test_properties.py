"""Hypothesis properties: round trip, chunking invariance, pure/compiled parity.

Sizes are bounded (and payloads built from a seed rather than drawn byte by
byte) so that each property runs in a few seconds.
"""

from __future__ import annotations

import random
import struct
from types import ModuleType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto.events import BytesMessage, CloseConnection, TextMessage

from _support import open_pair, parse_frames, xor
from framer import ConnectionType, Limits, MessageTooBigError
from framer.testing import invalid_frames, messages

FRAME = 32768
MESSAGE = 131072

FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Characters of every UTF-8 length, and a few awkward ones.
ALPHABET = ["a", "~", "\x00", "é", "ß", "€", "\u07ff", "\uffff", "😀", "\U0010ffff"]


def make_text(rng: random.Random, nbytes: int) -> str:
    """Text of exactly ``nbytes`` UTF-8 bytes."""
    chars: list[str] = []
    left = nbytes
    while left:
        ch = rng.choice(ALPHABET)
        size = len(ch.encode())
        if size > left:
            ch = "a"
            size = 1
        chars.append(ch)
        left -= size
    return "".join(chars)


def make_bytes(rng: random.Random, nbytes: int) -> bytes:
    return rng.randbytes(nbytes)


sizes = st.one_of(
    st.integers(0, 200),
    st.sampled_from([FRAME - 1, FRAME, FRAME + 1, 2 * FRAME, MESSAGE - 1, MESSAGE]),
    st.integers(0, MESSAGE),
)
message_specs = st.lists(st.tuples(st.booleans(), sizes), min_size=1, max_size=4)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for p in points + [len(data)]:
        pieces.append(data[start:p])
        start = p
    return pieces


# -- round trip ---------------------------------------------------------------


@FAST
@given(specs=message_specs, seed=st.integers(0, 2**32), client_sends=st.booleans(),
       cuts=st.lists(st.integers(0, 10**6), max_size=6))
def test_round_trip(specs: list[tuple[bool, int]], seed: int, client_sends: bool,
                    cuts: list[int]) -> None:
    rng = random.Random(seed)
    limits = Limits.general(FRAME, MESSAGE)
    client, server = open_pair(limits, limits)
    sender, receiver = (client, server) if client_sends else (server, client)
    sent = []
    wire = b""
    for is_text, size in specs:
        event = (
            TextMessage(data=make_text(rng, size)) if is_text
            else BytesMessage(data=make_bytes(rng, size))
        )
        sent.append(event)
        wire += sender.send(event)
    for piece in split(wire, cuts):
        receiver.receive_data(piece)
    assert list(receiver.events()) == sent


@FAST
@given(size=st.integers(MESSAGE + 1, MESSAGE + 5000), seed=st.integers(0, 2**32))
def test_too_big_is_refused_then_round_trip_continues(size: int, seed: int) -> None:
    rng = random.Random(seed)
    client, server = open_pair()
    try:
        client.send(TextMessage(data=make_text(rng, size)))
    except MessageTooBigError:
        pass
    else:
        raise AssertionError("a message over max_message_size was sent")
    server.receive_data(client.send(TextMessage(data="ok")))
    assert list(server.events()) == [TextMessage(data="ok")]


# -- arbitrary (often invalid) client byte streams ----------------------------

OPCODES = st.sampled_from([0, 1, 2, 8, 9, 10] * 4 + list(range(16)))


@st.composite
def raw_frames(draw: st.DrawFn) -> bytes:
    opcode = draw(OPCODES)
    fin = draw(st.booleans()) if draw(st.integers(0, 3)) == 0 else opcode not in (0, 1, 2) or draw(
        st.booleans()
    )
    rsv = draw(st.sampled_from([0] * 12 + [1, 2, 4, 7]))
    if opcode == 8 and draw(st.booleans()):
        code = draw(st.sampled_from([1000, 1001, 1002, 1005, 1006, 1015, 999, 3000, 4999, 5000]))
        payload = struct.pack("!H", code) + draw(
            st.sampled_from([b"", b"bye", "é".encode(), b"\xff", b"\xe2\x82"])
        )
    elif draw(st.booleans()):
        payload = draw(st.binary(max_size=40))
    else:
        payload = draw(st.text(max_size=40)).encode()
    if draw(st.integers(0, 9)) == 0:
        payload = payload + b"x" * draw(st.sampled_from([60, 126, 200]))
    masked = draw(st.integers(0, 15)) != 0
    width = draw(st.sampled_from([None] * 10 + [16, 64]))
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    m = 0x80 if masked else 0
    n = len(payload)
    if width is None:
        width = 7 if n < 126 else 16 if n < 65536 else 64
    if width == 7:
        head = bytes((b0, m | n))
    elif width == 16:
        head = bytes((b0, m | 126)) + struct.pack("!H", n)
    else:
        head = bytes((b0, m | 127)) + struct.pack("!Q", n)
    if masked:
        key = draw(st.binary(min_size=4, max_size=4))
        return head + key + xor(payload, key)
    return head + payload


# Well-formed messages in fragments, pings and pongs between them, and frames
# with one labelled defect: framer.testing's strategies (the ones users get).
good_messages = messages(ConnectionType.CLIENT, max_size=60, max_fragments=4).map(lambda t: t.data)
bad_frames = invalid_frames(ConnectionType.CLIENT).map(lambda bad: bad.data)


# Mostly well-formed traffic, sometimes a bad frame, a random tail or random bytes.
streams = st.one_of(
    st.lists(st.one_of(good_messages, good_messages, raw_frames(), bad_frames), max_size=6).map(b"".join),
    st.tuples(st.lists(good_messages, max_size=3).map(b"".join), st.binary(max_size=20)).map(
        lambda t: t[0] + t[1]
    ),
    st.lists(raw_frames(), max_size=6).map(b"".join),
    st.binary(max_size=60),
)
reader_limits = st.tuples(st.sampled_from([1, 20, 64, 300]), st.sampled_from([1, 50, 100, 1000]),
                          st.booleans())


def feed_all(r: object, pieces: list[bytes]) -> list[object]:
    out: list[object] = []
    for p in pieces:
        out += r.feed(p)  # type: ignore[attr-defined]
    return out


def state(r: object) -> tuple[object, ...]:
    return (r.done, r.closed, r.violation_code, r.violation_reason, r.buffered)  # type: ignore[attr-defined]


@FAST
@given(data=streams, limits=reader_limits, cuts=st.lists(st.integers(0, 10**6), max_size=10),
       client=st.booleans())
def test_chunking_invariance(impl: ModuleType, data: bytes, limits: tuple[int, int, bool],
                             cuts: list[int], client: bool) -> None:
    def new() -> object:
        return impl.FrameReader(client, *limits)

    whole = new()
    expected = whole.feed(data)
    bytewise = new()
    assert feed_all(bytewise, [data[i : i + 1] for i in range(len(data))]) == expected
    pieces = new()
    assert feed_all(pieces, split(data, cuts)) == expected
    assert state(whole) == state(bytewise) == state(pieces)
    closes = [e for e in expected if isinstance(e, CloseConnection)]
    assert len(closes) <= 1 and (not closes or expected[-1] is closes[0])


@settings(FAST, max_examples=30)
@given(data=streams, cuts=st.lists(st.integers(0, 10**6), max_size=10))
def test_chunking_invariance_on_the_connection(data: bytes, cuts: list[int]) -> None:
    whole, one, two = (open_pair(None, Limits(max_frame_size=64, max_message_size=100))[1]
                       for _ in range(3))
    whole.receive_data(data)
    for i in range(len(data)):
        one.receive_data(data[i : i + 1])
    for piece in split(data, cuts):
        two.receive_data(piece)
    expected = list(whole.events())
    assert list(one.events()) == expected
    assert list(two.events()) == expected
    assert whole.state is one.state is two.state
    assert whole.violation == one.violation == two.violation


# -- pure and compiled agree --------------------------------------------------

BUFFER_KINDS = st.sampled_from([bytes, bytearray, memoryview])


@FAST
@given(data=streams, limits=reader_limits, cuts=st.lists(st.integers(0, 10**6), max_size=6),
       client=st.booleans(), kind=BUFFER_KINDS)
def test_pure_and_compiled_read_alike(impl_pair: tuple[ModuleType, ModuleType], data: bytes,
                                      limits: tuple[int, int, bool], cuts: list[int],
                                      client: bool, kind: type) -> None:
    pure, compiled = impl_pair
    a = pure.FrameReader(client, *limits)
    b = compiled.FrameReader(client, *limits)
    for piece in split(data, cuts):
        assert a.feed(kind(piece)) == b.feed(kind(piece))
        assert state(a) == state(b)


@FAST
@given(data=st.binary(max_size=300), key=st.binary(min_size=4, max_size=4),
       offset=st.integers(0, 2**20), kind=BUFFER_KINDS)
def test_pure_and_compiled_mask_alike(impl_pair: tuple[ModuleType, ModuleType], data: bytes,
                                      key: bytes, offset: int, kind: type) -> None:
    pure, compiled = impl_pair
    assert pure.mask(kind(data), kind(key), offset) == compiled.mask(kind(data), kind(key), offset)
    assert pure.mask(data, key, offset) == xor(b"\0" * (offset % 4) + data, key)[offset % 4 :]


@FAST
@given(size=sizes, seed=st.integers(0, 2**32), opcode=st.sampled_from([0, 1, 2, 8, 9, 10]),
       fin=st.booleans(), max_frame=st.sampled_from([1, 125, 126, FRAME, 65536, MESSAGE]),
       kind=BUFFER_KINDS)
def test_pure_and_compiled_serialize_alike(impl_pair: tuple[ModuleType, ModuleType], size: int,
                                           seed: int, opcode: int, fin: bool, max_frame: int,
                                           kind: type) -> None:
    pure, compiled = impl_pair
    if max_frame == 1:
        size = min(size, 300)  # keep the frame count small
    payload = random.Random(seed).randbytes(size)
    server = pure.serialize_frames(opcode, kind(payload), fin, max_frame, False)
    assert compiled.serialize_frames(opcode, kind(payload), fin, max_frame, False) == server
    # Client role: the same frames once unmasked; keys differ.
    a = parse_frames(pure.serialize_frames(opcode, kind(payload), fin, max_frame, True))
    b = parse_frames(compiled.serialize_frames(opcode, kind(payload), fin, max_frame, True))
    expected = parse_frames(server)
    for frames in (a, b):
        assert [(f.fin, f.rsv, f.opcode, f.payload, f.header_size - 4) for f in frames] == [
            (f.fin, f.rsv, f.opcode, f.payload, f.header_size) for f in expected
        ]
        assert all(f.key is not None for f in frames)
