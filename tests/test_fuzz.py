"""Fuzzing ``WSConnection.receive_data``: both roles, both implementations.

Every input must give events or a documented close, never an exception, and
the compiled twin must agree with the pure one on every event, the state, the
violation and the bytes held.  Inputs are hypothesis-generated: arbitrary
bytes, framer.testing's valid and invalid traffic, and that traffic with
bytes flipped, cut short or followed by garbage, fed in arbitrary pieces.

The normal suite makes a short run.  A long one::

    FRAMER_FUZZ_EXAMPLES=200000 python -m pytest tests/test_fuzz.py -q -p no:cacheprovider

(``FRAMER_FUZZ_EXAMPLES`` is the number of hypothesis examples per test; the
long run disables hypothesis' example database so it does not grow.)
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)

from framer import ConnectionState, ConnectionType, Limits, RemoteProtocolError, WSConnection
from framer.testing import at_limits, frames, invalid_frames, messages, over_limits
from _support import open_receiver

EXAMPLES = int(os.environ.get("FRAMER_FUZZ_EXAMPLES", "300"))
LONG = EXAMPLES > 1000

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None if LONG else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def _implementations() -> list[str]:
    try:
        importlib.import_module("framer._fast")
    except ImportError:
        # As in conftest.py: CI must not pass by fuzzing only the pure twin.
        if os.environ.get("FRAMER_REQUIRE_COMPILED", "").strip().lower() in {"1", "true", "yes"}:
            raise
        return ["pure"]
    return ["pure", "compiled"]


IMPLEMENTATIONS = _implementations()
ROLES = st.sampled_from([ConnectionType.CLIENT, ConnectionType.SERVER])
LIMITS = st.sampled_from([
    Limits.api_gateway(),
    Limits(max_frame_size=20, max_message_size=50),
    Limits.general(64, 200),
    Limits(max_frame_size=1, max_message_size=1),
    Limits.general(),
])
# Close codes framer sends when the peer breaks a rule (RFC 6455 section 7.4.1).
VIOLATION_CODES = {1002, 1003, 1007, 1009}
DELIVERED = (TextMessage, BytesMessage, Ping, Pong, CloseConnection)


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with a few bytes flipped, maybe cut short or followed by garbage."""
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 3))):
        if data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
    if data and draw(st.booleans()):
        del data[draw(st.integers(0, len(data))):]
    if draw(st.integers(0, 3)) == 0:
        data += draw(st.binary(max_size=30))
    return bytes(data)


@st.composite
def fuzz_inputs(draw: st.DrawFn, sender: ConnectionType, limits: Limits) -> bytes:
    small = Limits(
        max_frame_size=min(limits.max_frame_size, 2000),
        max_message_size=min(limits.max_message_size, 4000),
        allow_binary=limits.allow_binary,
    )
    source = draw(st.sampled_from(["bytes", "valid", "invalid", "mixed", "limits"]))
    if source == "bytes":
        return draw(st.binary(max_size=400))
    if source == "limits":
        strategy: Any = at_limits(small, sender) if draw(st.booleans()) else over_limits(small, sender)
        base = draw(strategy).data
    elif source == "valid":
        base = b"".join(t.data for t in draw(st.lists(
            st.one_of(frames(sender, limits=small, max_size=300), messages(sender, limits=small, max_size=300)),
            max_size=4,
        )))
    elif source == "invalid":
        base = draw(invalid_frames(sender, limits=small)).data
    else:
        pieces = draw(st.lists(st.one_of(
            messages(sender, max_size=200).map(lambda t: t.data),
            invalid_frames(sender).map(lambda b: b.data),
            st.binary(max_size=20),
        ), max_size=4))
        base = b"".join(pieces)
    return draw(mutated(base)) if draw(st.booleans()) else base


def pieces_of(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, start = [], 0
    for p in [*points, len(data)]:
        out.append(data[start:p])
        start = p
    return out


def run(impl: str, sender: ConnectionType, limits: Limits, data: bytes, cuts: list[int],
        eof: bool) -> tuple[Any, ...]:
    conn = open_receiver(sender, limits, impl)
    events: list[Any] = []
    try:
        for piece in pieces_of(data, cuts):
            conn.receive_data(piece)
            events += conn.events()
        if eof:
            conn.receive_data(None)
            events += conn.events()
    except Exception as exc:  # the property: nothing escapes
        raise AssertionError(f"{impl}: receive_data raised {exc!r} on {data!r}") from exc
    assert all(isinstance(e, DELIVERED) for e in events), events
    closes = [i for i, e in enumerate(events) if isinstance(e, CloseConnection)]
    end = len(events)
    if eof:
        # A peer's close or a violation, then the EOF's 1006; or the 1006 alone.
        assert closes and closes[-1] == len(events) - 1 and events[-1].code == 1006
        assert conn.state is ConnectionState.CLOSED
        closes = closes[:-1]
        end -= 1
    assert len(closes) <= 1 and (not closes or closes[0] == end - 1)
    if conn.violation is not None:
        assert conn.violation.code in VIOLATION_CODES
        assert closes and events[closes[0]].code == conn.violation.code
        assert conn.buffered == 0
    # Nothing held beyond the limits: the message so far, a header, a control payload.
    assert conn.buffered <= limits.max_message_size + 14 + 125
    return (events, conn.state, conn.violation, conn.buffered)


@FUZZ
@given(sender=ROLES, limits=LIMITS, data=st.data(), eof=st.booleans())
def test_receive_data_gives_events_or_a_documented_close(sender: ConnectionType, limits: Limits,
                                                          data: st.DataObject, eof: bool) -> None:
    stream = data.draw(fuzz_inputs(sender, limits), label="stream")
    cuts = data.draw(st.lists(st.integers(0, 10**6), max_size=8), label="cuts")
    results = [run(impl, sender, limits, stream, cuts, eof) for impl in IMPLEMENTATIONS]
    assert all(r == results[0] for r in results[1:]), "compiled and pure disagree"
    # Splitting the same stream differently changes nothing (one byte at a time here).
    if len(stream) <= 600:
        bytewise = run(IMPLEMENTATIONS[-1], sender, limits, stream, list(range(len(stream))), eof)
        assert bytewise == results[0]


# -- the opening handshake -----------------------------------------------------------

REQUEST = (
    b"GET /dev HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
)


@FUZZ
@given(data=st.data(), client=st.booleans(), cuts=st.lists(st.integers(0, 10**6), max_size=6))
def test_handshake_gives_events_or_a_remote_protocol_error(data: st.DataObject, client: bool,
                                                           cuts: list[int]) -> None:
    """Before the upgrade: events, or RemoteProtocolError (documented), nothing else."""
    base = RESPONSE if client else REQUEST
    stream = data.draw(st.one_of(mutated(base), st.binary(max_size=300),
                                 st.binary(max_size=40).map(lambda tail: base + tail)), label="stream")
    limits = Limits(max_handshake_size=data.draw(st.sampled_from([16 * 1024, 100, 200])))
    outcomes = []
    for impl in IMPLEMENTATIONS:
        conn = WSConnection(ConnectionType.CLIENT if client else ConnectionType.SERVER, limits,
                            implementation=impl)
        if client:
            conn.send(Request(host="example.com", target="/dev"))
        got: list[Any] = []
        error = None
        try:
            for piece in pieces_of(stream, cuts):
                conn.receive_data(piece)
                got += conn.events()
        except RemoteProtocolError as exc:
            error = type(exc)
            if exc.event_hint is not None:
                assert isinstance(exc.event_hint, RejectConnection)
        except Exception as exc:
            raise AssertionError(f"{impl}: handshake raised {exc!r} on {stream!r}") from exc
        assert conn.buffered <= limits.max_handshake_size + len(stream)
        outcomes.append((error, [type(e) for e in got]))
    assert all(o == outcomes[0] for o in outcomes[1:])


@pytest.mark.parametrize("header", [b"Host: ", b"Connection: "])
def test_non_ascii_header_is_a_remote_protocol_error(header: bytes) -> None:
    server = WSConnection(ConnectionType.SERVER)
    with pytest.raises(RemoteProtocolError):
        server.receive_data(REQUEST.replace(header, header[:-1] + b"\xa0"))
