"""UTF-8 validation of text messages: both twins agree with CPython's decoder.

The compiled twin checks text with its own word-at-a-time validator as it
arrives and decodes each message once into a str of the exact width (short
single-frame text goes through CPython's decoder); the pure twin uses
CPython's incremental decoder throughout.  Both must accept exactly the
messages ``bytes.decode`` accepts, close with 1007 in the same read, give the
same reason, and deliver the same ``str`` (same width, same ASCII flag).
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

from hypothesis import given, settings
from hypothesis import strategies as st

from _support import client_frame, str_sizes

# Pieces that exercise every row of RFC 3629's table and its edges.
PIECES = [
    b"a", b"abcdefghijklmnop", b"\x7f", b"\xc2\x80", b"\xdf\xbf", b"\xe0\xa0\x80",
    b"\xe0\x9f\xbf", b"\xed\x9f\xbf", b"\xed\xa0\x80", b"\xee\x80\x80", b"\xef\xbf\xbf",
    b"\xf0\x90\x80\x80", b"\xf0\x8f\xbf\xbf", b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80",
    b"\xc0\x80", b"\xc1\xbf", b"\xf5\x80\x80\x80", b"\xff", b"\x80", b"\xbf", b"\xe1", b"\xf1\x80",
    "é€😀ж".encode(),
]

text_bytes = st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join)
# Longer texts, mostly valid, with ASCII runs of every length around the
# validator's 8-byte words: past the 256 bytes under which short single-frame
# text takes CPython's decoder.
ASCII_RUNS = [b"abcdefghijklmnopqrstuvwxyz0123456789"[:n] for n in (1, 3, 7, 8, 9, 15, 16, 17, 33)]
long_text_bytes = st.lists(
    st.one_of(st.sampled_from(ASCII_RUNS), st.sampled_from(PIECES)), min_size=20, max_size=300
).map(b"".join)


def events_for(impl: ModuleType, payload: bytes, frame_sizes: list[int],
               read_cuts: list[int]) -> list[object]:
    """Send ``payload`` as a text message in frames, fed in reads; return events per read."""
    stream = b""
    start = 0
    sizes = [s for s in frame_sizes if s > 0] or [len(payload) or 1]
    opcode = 1
    while True:
        size = sizes[0] if sizes else len(payload)
        sizes = sizes[1:]
        chunk = payload[start : start + size]
        start += len(chunk)
        last = start >= len(payload)
        stream += client_frame(opcode, chunk, fin=last)
        opcode = 0
        if last:
            break
    reader = impl.FrameReader(False, 1 << 20, 1 << 20, False)
    out: list[object] = []
    prev = 0
    for cut in sorted(set(c % (len(stream) + 1) for c in read_cuts)) + [len(stream)]:
        out.append(reader.feed(stream[prev:cut]))
        prev = cut
    return out


def assert_same_str(got: str, expected: str) -> None:
    """Equal, and built at the width CPython would pick (ASCII, UCS1, UCS2, UCS4)."""
    assert got == expected
    assert got.isascii() == expected.isascii()
    assert sys.getsizeof(got) in str_sizes(expected)


def assert_twins_agree(impl_pair: tuple[ModuleType, ModuleType], payload: bytes,
                       frame_sizes: list[int], read_cuts: list[int]) -> None:
    """The same events from both twins, read by read, and what ``bytes.decode`` says."""
    pure, compiled = impl_pair
    a = events_for(pure, payload, frame_sizes, read_cuts)
    b = events_for(compiled, payload, frame_sizes, read_cuts)
    assert a == b
    flat = [e for read in b for e in read]
    try:
        expected = payload.decode("utf-8")
    except UnicodeDecodeError:
        assert len(flat) == 1 and flat[0].code == 1007
    else:
        assert len(flat) == 1
        assert_same_str(flat[0].data, expected)


@settings(max_examples=400, deadline=None)
@given(payload=text_bytes, frame_sizes=st.lists(st.integers(1, 40), max_size=6),
       read_cuts=st.lists(st.integers(0, 10_000), max_size=6))
def test_twins_validate_utf8_alike(impl_pair: tuple[ModuleType, ModuleType], payload: bytes,
                                   frame_sizes: list[int], read_cuts: list[int]) -> None:
    assert_twins_agree(impl_pair, payload, frame_sizes, read_cuts)


@settings(max_examples=300, deadline=None)
@given(payload=long_text_bytes, frame_sizes=st.lists(st.integers(1, 700), max_size=4),
       read_cuts=st.lists(st.integers(0, 10_000), max_size=6))
def test_twins_agree_on_long_text(impl_pair: tuple[ModuleType, ModuleType], payload: bytes,
                                  frame_sizes: list[int], read_cuts: list[int]) -> None:
    assert_twins_agree(impl_pair, payload, frame_sizes, read_cuts)


def test_large_mixed_text_in_pieces(impl: ModuleType) -> None:
    text = ("abc é € 😀 ж " * 12000)[:40000]
    payload = text.encode()
    got = events_for(impl, payload, [32768], [1, 1000, 32770, 50000, 65536])
    flat = [e for read in got for e in read]
    assert len(flat) == 1 and flat[0].data == text
    bad = payload[:40000] + b"\xed\xa0\x80" + os.urandom(0) + payload[40000:]
    got = events_for(impl, bad, [32768], [])
    assert [e.code for read in got for e in read] == [1007]


WIDTHS = {
    "ascii": "plain ASCII text ",
    "ucs1": "caf\u00e9 d\u00e9j\u00e0 vu ",
    "ucs2": "caf\u00e9 \u20ac \u0436 ",
    "ucs4": "caf\u00e9 \u20ac \U0001f600 ",
}


def test_text_is_built_at_the_right_width(impl: ModuleType) -> None:
    for name, unit in WIDTHS.items():
        for length in (255, 256, 257, 1000, 40000):
            text = (unit * (length // len(unit) + 1))[:length]
            payload = text.encode()
            for frames in ([len(payload)], [100], [32768]):
                got = events_for(impl, payload, frames, [])
                flat = [e for read in got for e in read]
                assert len(flat) == 1, (name, length, frames)
                assert_same_str(flat[0].data, text)


def test_interleaved_text_messages_on_many_readers(impl: ModuleType) -> None:
    """Text messages in progress on several connections at once, of very
    different sizes, some failing: each reader delivers exactly its own text.
    (The compiled twin lends one spare buffer between text messages.)"""
    rng = __import__("random").Random(7)
    readers = [impl.FrameReader(False, 1 << 20, 1 << 21, False) for _ in range(3)]
    for _ in range(15):
        plans = []
        for reader in readers:
            size = rng.choice([10, 300, 5000, 70000, 300000, 300000, 1500000])
            text = ("abc\u00e9\u20ac\U0001f600" * (size // 12 + 1))[: size // 2]
            payload = text.encode()
            bad = rng.random() < 0.15
            if bad:
                cut = rng.randrange(len(payload))
                payload = payload[:cut] + b"\xff" + payload[cut:]
            frames = [payload[i : i + 65536] for i in range(0, len(payload), 65536)] or [b""]
            wire = [client_frame(1 if i == 0 else 0, f, fin=i == len(frames) - 1) for i, f in enumerate(frames)]
            plans.append((reader, text, bad, wire, []))
        while any(p[3] for p in plans):
            for reader, _text, _bad, wire, got in plans:
                if wire:
                    got.extend(reader.feed(wire.pop(0)))
        for reader, text, bad, _wire, got in plans:
            if bad:
                assert [getattr(e, "code", None) for e in got] == [1007]
                readers[readers.index(reader)] = impl.FrameReader(False, 1 << 20, 1 << 21, False)
            else:
                assert len(got) == 1 and got[0].data == text
                assert reader.buffered == 0
