"""The compiled twin's SIMD kernels against its portable ones and the pure twin.

On a machine with AVX2 the compiled module masks and validates UTF-8 with
AVX2 code; elsewhere SSE2 and plain C run.  ``_use_avx2(False)`` switches to
the portable kernels, so both sets are tested here on any x86-64 machine:
each must give the pure twin's bytes and events exactly.
"""

from __future__ import annotations

import random
import sys
from types import ModuleType
from typing import Iterator

import pytest

from _support import client_frame, str_sizes


@pytest.fixture(params=["avx2", "portable"])
def compiled(request: pytest.FixtureRequest, impl_pair: tuple[ModuleType, ModuleType]) -> Iterator[ModuleType]:
    module = impl_pair[1]
    on = module._use_avx2(request.param == "avx2")
    if request.param == "avx2" and not on:
        pytest.skip("this CPU has no AVX2")
    try:
        yield module
    finally:
        module._use_avx2(True)


def test_mask_agrees_at_every_length_and_alignment(compiled: ModuleType,
                                                   impl_pair: tuple[ModuleType, ModuleType]) -> None:
    pure = impl_pair[0]
    rng = random.Random(5)
    data = rng.randbytes(140_000)
    key = rng.randbytes(4)
    lengths = list(range(0, 300)) + [1023, 1024, 1025, 32767, 32768, 32769, 131072, 131073]
    for n in lengths:
        for start in (0, 1, 3, 17, 31):
            chunk = memoryview(data)[start : start + n]
            for offset in (0, 1, 2, 3):
                expected = pure.mask(chunk, key, offset)
                assert compiled.mask(chunk, key, offset) == expected, (n, start, offset)
                buf = bytearray(b"\0" * start) + bytearray(chunk)
                compiled.mask_inplace(memoryview(buf)[start:], key, offset)
                assert bytes(buf[start:]) == expected, (n, start, offset)


ALPHABET = ["x", " ", "\x7f", "\xe9", "\xff", "\u0100", "\u07ff", "\u0800", "\u20ac", "\ud7ff",
            "\ue000", "\uffff", "\U00010000", "\U0001f600", "\U0010ffff"]


def _events(module: ModuleType, stream: bytes, cuts: list[int]) -> list[list[object]]:
    reader = module.FrameReader(False, 1 << 20, 1 << 20, False)
    out = []
    prev = 0
    for cut in cuts + [len(stream)]:
        out.append(reader.feed(stream[prev:cut]))
        prev = cut
    return out


def test_utf8_agrees_on_mutated_text(compiled: ModuleType,
                                     impl_pair: tuple[ModuleType, ModuleType]) -> None:
    """Valid mixed text, sometimes with bytes overwritten or cut off, in random
    frames and reads: the same events as the pure twin, and as ``bytes.decode``."""
    pure = impl_pair[0]
    rng = random.Random(11)
    for _ in range(1500):
        n = rng.choice([rng.randrange(0, 300), rng.randrange(250, 4000)])
        text = "".join(rng.choice(ALPHABET) if rng.random() < 0.2 else "a" for _ in range(n))
        data = bytearray(text.encode())
        for _ in range(rng.choice([0, 0, 1, 2])):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.1 and data:
            del data[rng.randrange(len(data)) :]
        payload = bytes(data)
        stream = b""
        pos, opcode = 0, 1
        while True:
            size = rng.choice([len(payload), rng.randrange(1, 200), rng.randrange(60, 3000)])
            chunk = payload[pos : pos + size]
            pos += len(chunk)
            stream += client_frame(opcode, chunk, fin=pos >= len(payload))
            opcode = 0
            if pos >= len(payload):
                break
        cuts = sorted(rng.randrange(len(stream) + 1) for _ in range(rng.randrange(0, 6)))
        got = _events(compiled, stream, cuts)
        assert got == _events(pure, stream, cuts), payload[:60]
        flat = [e for read in got for e in read]
        try:
            expected = payload.decode("utf-8")
        except UnicodeDecodeError:
            assert [getattr(e, "code", None) for e in flat] == [1007]
        else:
            assert len(flat) == 1
            data_out = flat[0].data  # type: ignore[attr-defined]
            assert data_out == expected
            assert sys.getsizeof(data_out) in str_sizes(expected)  # the same width
