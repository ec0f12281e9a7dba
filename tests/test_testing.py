"""framer.testing: its strategies against framer's engine, and their labels
against a peer nobody here wrote (websockets' sans-IO ServerProtocol).

Sizes are bounded so each property runs in a few seconds.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from wsproto.events import CloseConnection

import framer.testing
from _support import frame as support_frame
from _support import open_receiver, parse_frames
from framer import ConnectionType, Limits, WSConnection
from framer._wire import FrameReader, describe_frames, split_frames
from framer.testing import (
    InvalidFrame,
    Traffic,
    at_limits,
    encode_frame,
    frames,
    invalid_frames,
    messages,
    over_limits,
)

FAST = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW = settings(FAST, max_examples=15)

SMALL = Limits(max_frame_size=100, max_message_size=300)
SMALL_BINARY = Limits.general(100, 300)
ROLES = st.sampled_from([ConnectionType.CLIENT, ConnectionType.SERVER])


def feed_in_pieces(conn: WSConnection, data: bytes, cuts: list[int]) -> list[object]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    start = 0
    for p in [*points, len(data)]:
        conn.receive_data(data[start:p])
        start = p
    return list(conn.events())


def impl_name(module: object) -> str:
    return "pure" if getattr(module, "__name__", "").endswith("_fast_py") else "compiled"


# -- valid traffic is delivered as labelled ------------------------------------


@FAST
@given(sender=ROLES, data=st.data(), cuts=st.lists(st.integers(0, 10**6), max_size=5))
def test_frames_give_their_events(impl: object, sender: ConnectionType, data: st.DataObject,
                                  cuts: list[int]) -> None:
    traffic = data.draw(frames(sender, limits=Limits.general(), max_size=70_000))
    conn = open_receiver(sender, Limits.general(), impl_name(impl))
    assert feed_in_pieces(conn, traffic.data, cuts) == list(traffic.events)
    assert conn.violation is None


@FAST
@given(sender=ROLES, data=st.data(), cuts=st.lists(st.integers(0, 10**6), max_size=5))
def test_frames_cover_every_length_encoding(impl: object, sender: ConnectionType,
                                            data: st.DataObject, cuts: list[int]) -> None:
    traffic = data.draw(frames(sender))
    (frame,) = parse_frames(traffic.data)
    assert (frame.key is not None) is (sender is ConnectionType.CLIENT)
    n = len(frame.payload)
    assert frame.header_size - (4 if frame.key else 0) == (2 if n < 126 else 4 if n < 65536 else 10)


def test_frames_strategy_reaches_every_opcode_and_width() -> None:
    seen_opcodes: set[int] = set()
    seen_headers: set[int] = set()

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(frames(ConnectionType.SERVER))
    def collect(traffic: Traffic) -> None:
        (frame,) = parse_frames(traffic.data)
        seen_opcodes.add(frame.opcode)
        seen_headers.add(frame.header_size)

    collect()
    assert seen_opcodes == {1, 2, 8, 9, 10}
    assert seen_headers == {2, 4, 10}


@FAST
@given(sender=ROLES, limits=st.sampled_from([None, SMALL, SMALL_BINARY, Limits()]),
       data=st.data(), cuts=st.lists(st.integers(0, 10**6), max_size=8))
def test_messages_give_their_events(impl: object, sender: ConnectionType, limits: Limits | None,
                                    data: st.DataObject, cuts: list[int]) -> None:
    traffic = data.draw(messages(sender, limits=limits, max_size=1000))
    conn = open_receiver(sender, limits or Limits.general(), impl_name(impl))
    assert feed_in_pieces(conn, traffic.data, cuts) == list(traffic.events)
    assert conn.violation is None
    frame_cap = (limits or Limits.general()).max_frame_size
    assert all(len(f.payload) <= frame_cap for f in parse_frames(traffic.data) if f.opcode < 8)


@FAST
@given(sender=ROLES, limits=st.sampled_from([SMALL, SMALL_BINARY, Limits(max_frame_size=7, max_message_size=20)]),
       data=st.data())
def test_at_limits_is_accepted(impl: object, sender: ConnectionType, limits: Limits,
                               data: st.DataObject) -> None:
    traffic = data.draw(at_limits(limits, sender))
    conn = open_receiver(sender, limits, impl_name(impl))
    conn.receive_data(traffic.data)
    assert list(conn.events()) == list(traffic.events)
    assert conn.violation is None


@SLOW
@given(sender=ROLES, data=st.data())
def test_at_api_gateway_limits_is_accepted(impl: object, sender: ConnectionType,
                                          data: st.DataObject) -> None:
    traffic = data.draw(at_limits(Limits.api_gateway(), sender))
    sizes = [len(f.payload) for f in parse_frames(traffic.data) if f.opcode < 8]
    assert sum(sizes) in (32767, 32768, 131071, 131072) and max(sizes) <= 32768
    conn = open_receiver(sender, Limits.api_gateway(), impl_name(impl))
    conn.receive_data(traffic.data)
    assert list(conn.events()) == list(traffic.events)


# -- invalid traffic gets its code ----------------------------------------------


def close_codes(conn: WSConnection) -> list[int]:
    return [int(e.code) for e in conn.events() if isinstance(e, CloseConnection)]


@FAST
@given(sender=ROLES, limits=st.sampled_from([SMALL, SMALL_BINARY, Limits(max_frame_size=7, max_message_size=20)]),
       data=st.data(), cuts=st.lists(st.integers(0, 10**6), max_size=5))
def test_over_limits_get_their_code(impl: object, sender: ConnectionType, limits: Limits,
                                    data: st.DataObject, cuts: list[int]) -> None:
    bad = data.draw(over_limits(limits, sender))
    conn = open_receiver(sender, limits, impl_name(impl))
    assert [int(e.code) for e in feed_in_pieces(conn, bad.data, cuts)
            if isinstance(e, CloseConnection)] == [bad.code]
    assert conn.violation is not None and conn.violation.code == bad.code


@SLOW
@given(sender=ROLES, data=st.data())
def test_over_api_gateway_limits_get_their_code(impl: object, sender: ConnectionType,
                                                data: st.DataObject) -> None:
    bad = data.draw(over_limits(Limits.api_gateway(), sender))
    conn = open_receiver(sender, Limits.api_gateway(), impl_name(impl))
    conn.receive_data(bad.data)
    assert close_codes(conn) == [bad.code]


@FAST
@given(sender=ROLES, limits=st.sampled_from([None, SMALL, SMALL_BINARY, Limits()]),
       data=st.data(), cuts=st.lists(st.integers(0, 10**6), max_size=5))
def test_invalid_frames_get_their_code(impl: object, sender: ConnectionType, limits: Limits | None,
                                       data: st.DataObject, cuts: list[int]) -> None:
    bad = data.draw(invalid_frames(sender, limits=limits))
    assert isinstance(bad, InvalidFrame) and bad.code in (1002, 1003, 1007, 1009)
    conn = open_receiver(sender, limits or Limits.general(), impl_name(impl))
    codes = [int(e.code) for e in feed_in_pieces(conn, bad.data, cuts) if isinstance(e, CloseConnection)]
    assert codes == [bad.code], bad.why
    assert conn.violation is not None and conn.violation.code == bad.code


def websockets_close_code(data: bytes) -> int | None:
    """The close code websockets' server gives ``data``, or None if it accepts it.

    Its sans-IO layer leaves decoding text to the layer above (which fails
    with 1007); that step is done here: a text message that does not decode
    counts as 1007.
    """
    proto = ServerProtocol(state=State.OPEN, max_size=None)
    proto.receive_data(data)
    text: list[bytes] = []
    in_text = False
    for event in proto.events_received():
        if not isinstance(event, Frame) or event.opcode not in (Opcode.TEXT, Opcode.CONT, Opcode.BINARY):
            continue
        if event.opcode is not Opcode.CONT:
            in_text, text = event.opcode is Opcode.TEXT, []
        if in_text:
            text.append(bytes(event.data))
            if event.fin:
                try:
                    b"".join(text).decode("utf-8")
                except UnicodeDecodeError:
                    return 1007
    out = b"".join(proto.data_to_send())
    for frame in parse_frames(out) if out else []:
        if frame.opcode == 8:
            return Close.parse(frame.payload).code
    return None


@FAST
@given(invalid_frames(ConnectionType.CLIENT, non_minimal_lengths=False))
def test_invalid_frame_labels_agree_with_websockets(impl: object, bad: InvalidFrame) -> None:
    """An independent RFC 6455 implementation answers each defect with the same code."""
    if impl_name(impl) == "compiled":
        pytest.skip("independent of framer's implementation: run once")
    if "most significant bit" in bad.why:
        # websockets does not check the top bit: it waits for 2**63 bytes.
        assert websockets_close_code(bad.data) is None
        return
    assert websockets_close_code(bad.data) == bad.code, bad.why


@FAST
@given(messages(ConnectionType.CLIENT, max_size=3000))
def test_message_labels_agree_with_websockets(impl: object, traffic: Traffic) -> None:
    if impl_name(impl) == "compiled":
        pytest.skip("independent of framer's implementation: run once")
    proto = ServerProtocol(state=State.OPEN, max_size=None)
    proto.receive_data(traffic.data)
    got = [f for f in proto.events_received() if isinstance(f, Frame)]
    assert len(got) == traffic.frames
    assert proto.close_code is None


# -- the package itself -------------------------------------------------------------


def test_exports() -> None:
    assert sorted(framer.testing.__all__) == sorted([
        "INVALID_CLOSE_CODES", "VALID_CLOSE_CODES", "InvalidFrame", "Traffic", "at_limits",
        "encode_frame", "frames", "invalid_frames", "mask_payload", "messages", "over_limits",
    ])
    for name in framer.testing.__all__:
        assert getattr(framer.testing, name).__doc__ or name.isupper()


def test_bad_arguments_are_refused_early() -> None:
    with pytest.raises(TypeError, match="sender"):
        frames("client")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="limits"):
        messages(limits={"max_frame_size": 10})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_fragments"):
        messages(max_fragments=0)


def test_encode_frame_layout() -> None:
    assert encode_frame(1, b"hi") == b"\x81\x02hi"
    assert encode_frame(1, b"hi", fin=False, rsv=4) == b"\x41\x02hi"
    assert encode_frame(2, b"", width=64, length=2**63 - 1) == b"\x82\x7f" + (2**63 - 1).to_bytes(8, "big")
    assert encode_frame(9, b"ab", mask=b"\x01\x02\x03\x04") == b"\x89\x82\x01\x02\x03\x04\x60\x60"
    with pytest.raises(ValueError):
        encode_frame(1, b"x" * 126, width=7)


def test_missing_hypothesis_is_a_clear_import_error() -> None:
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n    import framer.testing\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'framer[testing]'" in out.stdout, out.stderr


def test_module_docstring_example_runs() -> None:
    import textwrap

    doc = framer.testing.__doc__ or ""
    code = doc[doc.index("    from hypothesis"):doc.index("Needs hypothesis")]
    namespace: dict[str, object] = {}
    exec(textwrap.dedent(code), namespace)
    namespace["test_refused"]()  # type: ignore[operator]


# -- framer._wire: the shared encoder and the raw reader, against tests/_support -------------


@FAST
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 7), st.integers(0, 15), st.binary(max_size=300),
                       st.one_of(st.none(), st.binary(min_size=4, max_size=4))), min_size=1, max_size=5),
    st.lists(st.integers(0, 2000), max_size=6),
)
def test_frame_reader_reads_what_the_oracle_builds(
    impl: object, specs: list[tuple[bool, int, int, bytes, bytes | None]], cuts: list[int]
) -> None:
    """Any frame at all (RSV bits, reserved opcodes, masks either way) is read back as built, in any pieces."""
    if impl_name(impl) == "compiled":
        pytest.skip("independent of framer's implementation: run once")
    data = b"".join(support_frame(op, payload, fin=fin, rsv=rsv, key=key) for fin, rsv, op, payload, key in specs)
    assert b"".join(encode_frame(op, payload, fin=fin, rsv=rsv, mask=key) for fin, rsv, op, payload, key in specs) == data
    reader = FrameReader()
    got = []
    start = 0
    for point in sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]:
        got += reader.feed(data[start:point])
        start = point
    assert reader.pending == b""
    assert [(f.fin, f.rsv, f.opcode, f.payload, f.mask, f.length) for f in got] == [
        (fin, rsv, op, payload, key, len(payload)) for fin, rsv, op, payload, key in specs
    ]
    assert split_frames(data) == (got, b"")


def test_describe_frames_reads_each_field_and_says_what_is_missing() -> None:
    data = support_frame(0x1, b"hello", key=b"\x00\x00\x00\x01") + support_frame(0x9, b"", fin=True, rsv=5, key=None)
    data += b"\x81\xff" + (2**63 - 1).to_bytes(8, "big") + b"\x00\x00\x00\x00ab"
    assert describe_frames(data) == [
        "FIN=1 RSV=0 opcode=0x1 (text) mask=00000001 length=5 payload=b'hello'",
        "FIN=1 RSV=5 opcode=0x9 (ping) mask=- length=0 payload=b''",
        "FIN=1 RSV=0 opcode=0x1 (text) mask=00000000 length=9223372036854775807 payload=b'ab' "
        "[9223372036854775805 bytes missing]",
    ]
    assert describe_frames(b"\x81\x7e\x00") == ["3 trailing bytes, not a whole header: 817e00"]
    assert describe_frames(support_frame(0x3, b"x" * 30, key=None), preview=4) == [
        "FIN=1 RSV=0 opcode=0x3 (reserved) mask=- length=30 payload=b'xxxx'... (26 more)"
    ]


def test_wire_module_needs_no_hypothesis() -> None:
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import framer._wire, framer.conform\n"
        "print(framer._wire.encode_frame(1, b'ok').hex())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout == "81026f6b\n", out.stderr
