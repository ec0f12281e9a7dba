"""Unmasking throughput (RFC 6455 section 5.3), each peer through its own function.

* framer: ``framer._fast.mask_inplace(buffer, key)`` (compiled) and
  ``framer._fast_py.mask_inplace`` (pure), in place on a ``bytearray`` made
  before timing, like aiohttp's (``mask(data, key)``, which returns a new
  ``bytes``, is the ``framer-*-copy`` rows of ``test_unmask_copy``);
* wsproto: ``XorMaskerSimple(key).process(data)``, a new masker per frame as
  wsproto's frame decoder makes one;
* websockets: ``websockets.speedups.apply_mask(data, key)`` (C), a new ``bytes``;
* aiohttp: ``_websocket_mask_cython(key, buffer)``, in place on a ``bytearray``
  made before timing (its reader unmasks a buffer it owns);
* picows: skipped: its SIMD masking is internal to its C code, with no Python
  function to call.

Each call is checked against an independent XOR before timing.  Figures are
payload bytes per second.
"""

from __future__ import annotations

import random
from typing import Any, Callable

import pytest
from _harness import PEERS, framer_fast, need, xor_mask

KEY = bytes([0x37, 0xFA, 0x21, 0x3D])
SIZES = {"125B": 125, "4KiB": 4096, "32KiB": 32768, "128KiB": 131072, "1MiB": 1048576}


def masker(peer: str, data: bytes) -> tuple[Callable[[], Any], Callable[[Any], bytes]]:
    """(call, result-as-bytes) for ``peer`` unmasking ``data`` with ``KEY``."""
    if peer.startswith("framer-"):
        mask_inplace = framer_fast(peer).mask_inplace
        framer_buffer = bytearray(data)

        def framer_in_place() -> bytearray:
            mask_inplace(framer_buffer, KEY)
            return framer_buffer

        def framer_checked(result: bytearray) -> bytes:
            out = bytes(result)
            mask_inplace(framer_buffer, KEY)  # back to the original for the timed calls
            return out

        return framer_in_place, framer_checked
    if peer == "wsproto":
        from wsproto.frame_protocol import XorMaskerSimple

        return (lambda: XorMaskerSimple(KEY).process(data)), bytes
    if peer == "websockets":
        from websockets.speedups import apply_mask

        return (lambda: apply_mask(data, KEY)), bytes
    if peer == "aiohttp":
        from aiohttp._websocket.mask import _websocket_mask_cython

        buffer = bytearray(data)

        def in_place() -> bytearray:
            _websocket_mask_cython(KEY, buffer)
            return buffer

        def checked(result: bytearray) -> bytes:
            out = bytes(result)
            _websocket_mask_cython(KEY, buffer)  # back to the original for the timed calls
            return out

        return in_place, checked
    if peer == "picows":
        pytest.skip("picows exposes no Python-level mask function (its SIMD masking is internal)")
    raise ValueError(peer)


@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize("size", list(SIZES))
def test_unmask(benchmark: Any, size: str, peer: str) -> None:
    """Unmask one payload of 125 B (a small frame), 4 KiB, 32 KiB (API Gateway's frame),
    128 KiB (its message) and 1 MiB (beyond the caches' sweet spot)."""
    need(peer)
    n = SIZES[size]
    data = random.Random(n).randbytes(n)
    call, as_bytes = masker(peer, data)
    assert as_bytes(call()) == xor_mask(data, KEY), f"{peer} unmasks {size} wrongly"
    benchmark.group = f"unmask {size}"
    benchmark.extra_info.update(section="mask", row=size, label=f"unmask {size}", feed="", peer=peer, messages=1, bytes=n)
    benchmark(call)


@pytest.mark.parametrize("peer", ["framer-compiled", "framer-pure"])
@pytest.mark.parametrize("size", list(SIZES))
def test_unmask_copy(benchmark: Any, size: str, peer: str) -> None:
    """framer's copying ``mask(data, key)`` (a new ``bytes``), for comparison with
    websockets' ``apply_mask``, which also returns a new object."""
    need(peer)
    n = SIZES[size]
    data = random.Random(n).randbytes(n)
    mask = framer_fast(peer).mask
    assert mask(data, KEY) == xor_mask(data, KEY)
    benchmark.group = f"unmask-copy {size}"
    benchmark.extra_info.update(section="mask-copy", row=size, label=f"unmask {size} (new bytes)",
                                feed="", peer=peer, messages=1, bytes=n)
    benchmark(lambda: mask(data, KEY))
