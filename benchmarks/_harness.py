"""Shared pieces of the engine benchmarks: workloads, peers, an independent frame parser.

Nothing here is timed.  The workloads are built once per process (they are
deterministic: a fixed seed), client-masked with a fresh random key per frame,
as a browser would send them.  The frame parser is written from RFC 6455
section 5.2 and shares no code with framer, so it can check every peer's
output, framer's included.
"""

from __future__ import annotations

import functools
import os
import random
import struct
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Union

import pytest

QUICK = os.environ.get("FRAMER_BENCH_QUICK", "").strip().lower() in ("1", "true", "yes")

# The peers, in the order the report prints them.  framer-compiled and
# framer-pure are one process, two hot paths (WSConnection(implementation=)).
PEERS = ("framer-compiled", "framer-pure", "wsproto", "websockets", "aiohttp", "picows")

FRAME_SIZE = 32 * 1024  # API Gateway's frame limit: framer fragments outgoing messages at it
MESSAGE_SIZE = 128 * 1024  # API Gateway's message limit
CHUNK = 64 * 1024  # one socket read in the "64 KiB" feed mode

Payload = Union[str, bytes]

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2


# -- peers --------------------------------------------------------------------


def need(peer: str) -> None:
    """Skip the calling test, with the reason, when ``peer`` cannot run here."""
    try:
        if peer == "framer-compiled":
            from framer._impl import load

            load("compiled")
        elif peer == "framer-pure":
            import framer  # noqa: F401
        elif peer == "wsproto":
            import wsproto  # noqa: F401
        elif peer == "websockets":
            import websockets.speedups  # noqa: F401  (the C extension: we compare with it)
        elif peer == "aiohttp":
            from aiohttp._websocket import reader

            if not reader.WebSocketReader.__module__.endswith("reader_c"):
                pytest.skip("aiohttp's Cython reader (reader_c) is not built here")
        elif peer == "picows":
            import picows  # noqa: F401
        else:
            raise ValueError(f"unknown peer {peer!r}")
    except ImportError as exc:
        pytest.skip(f"{peer} is not installed or not built: {exc}")


def framer_fast(peer: str) -> ModuleType:
    """The hot-path module of ``framer-compiled`` or ``framer-pure``."""
    from framer._impl import load

    return load(peer.split("-", 1)[1])


# -- workloads ----------------------------------------------------------------


def xor_mask(data: bytes, key: bytes) -> bytes:
    """RFC 6455 masking as one big-integer XOR (independent of every peer)."""
    n = len(data)
    if not n:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


def frame_header(opcode: int, fin: bool, length: int, key: bytes | None) -> bytes:
    first = (0x80 if fin else 0) | opcode
    bit = 0x80 if key is not None else 0
    if length < 126:
        head = struct.pack("!BB", first, bit | length)
    elif length < 65536:
        head = struct.pack("!BBH", first, bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, bit | 127, length)
    return head + key if key is not None else head


def client_frames(payload: bytes, opcode: int, frame_size: int, rng: random.Random) -> list[bytes]:
    """``payload`` as masked client frames of at most ``frame_size`` bytes, one key each."""
    frames = []
    pieces = [payload[i : i + frame_size] for i in range(0, len(payload), frame_size)] or [b""]
    for i, piece in enumerate(pieces):
        key = rng.randbytes(4)
        op = opcode if i == 0 else OP_CONT
        head = frame_header(op, i == len(pieces) - 1, len(piece), key)
        frames.append(head + xor_mask(piece, key))
    return frames


def _mixed_text(rng: random.Random, size: int, pool: str) -> str:
    """A str whose UTF-8 encoding is exactly ``size`` bytes, taken from ``pool``."""
    start = rng.randrange(len(pool) // 2)
    data = pool[start : start + size].encode("utf-8")[:size]
    text = data.decode("utf-8", "ignore")  # drop a character cut in half at the end
    return text + "a" * (size - len(text.encode("utf-8")))


@functools.lru_cache(maxsize=1)
def _text_pool() -> str:
    """~300 k characters, about 5 % of them multibyte (2, 3 and 4 bytes)."""
    rng = random.Random(1)
    ascii_chars = [chr(c) for c in range(0x20, 0x7F)]
    multibyte = list("éüßñçøåЖЩюж€中文字日本語한국") + ["\U0001F600", "\U0001F680", "\U00010348"]
    chars = rng.choices(ascii_chars, k=300_000)
    for i in rng.sample(range(len(chars)), k=15_000):
        chars[i] = rng.choice(multibyte)
    return "".join(chars)


@dataclass(frozen=True)
class Workload:
    """One row: ``count`` messages, and the client's wire bytes that carry them."""

    name: str  # the row's label in the report
    text: bool
    messages: tuple[Payload, ...]
    frames: tuple[bytes, ...]  # client-masked wire frames, in order

    @property
    def count(self) -> int:
        return len(self.messages)

    @property
    def payload_bytes(self) -> int:
        return sum(len(m.encode("utf-8")) if isinstance(m, str) else len(m) for m in self.messages)

    def chunks(self, feed: str) -> list[bytes]:
        """The wire cut for ``feed``: one frame per read, or 64 KiB reads (frames straddle them)."""
        if feed == "frames":
            return list(self.frames)
        if feed == "64k":
            wire = b"".join(self.frames)
            return [wire[i : i + CHUNK] for i in range(0, len(wire), CHUNK)]
        raise ValueError(feed)


# Receive rows: (id, label, text?, count, size).  Sizes over FRAME_SIZE are
# sent as FRAME_SIZE frames (4 x 32 KiB for 128 KiB).
RECEIVE_ROWS = {
    "text64": ("text 64 B x1000", True, 1000, 64),
    "bin1k": ("binary 1 KiB x1000", False, 1000, 1024),
    "bin128k": ("binary 128 KiB (4 x 32 KiB frames) x100", False, 100, MESSAGE_SIZE),
    "text128k": ("UTF-8 text 128 KiB, ~5% multibyte (4 x 32 KiB frames) x100", True, 100, MESSAGE_SIZE),
}

SEND_ROWS = {
    "text64": ("text 64 B x1000", True, 1000, 64),
    "bin1k": ("binary 1 KiB x1000", False, 1000, 1024),
    "bin128k": ("binary 128 KiB x100 (sent as 4 x 32 KiB frames)", False, 100, MESSAGE_SIZE),
}


@functools.lru_cache(maxsize=None)
def workload(row: str, send: bool = False) -> Workload:
    """The messages of ``row`` and their client-masked frames (deterministic)."""
    label, text, count, size = (SEND_ROWS if send else RECEIVE_ROWS)[row]
    rng = random.Random(f"{row}-{send}")
    messages: list[Payload] = []
    for _ in range(count):
        if not text:
            messages.append(rng.randbytes(size))
        elif size <= 125:
            messages.append("".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789 ", k=size)))
        else:
            messages.append(_mixed_text(rng, size, _text_pool()))
    frames: list[bytes] = []
    for m in messages:
        payload = m.encode("utf-8") if isinstance(m, str) else m
        frames += client_frames(payload, OP_TEXT if text else OP_BINARY, FRAME_SIZE, rng)
    return Workload(label, text, tuple(messages), tuple(frames))


def check_messages(peer: str, work: Workload, got: list[Any]) -> None:
    """Every message delivered, complete, byte-identical and of the right type."""
    assert len(got) == work.count, f"{peer}: {len(got)} messages, expected {work.count}"
    for i, (want, have) in enumerate(zip(work.messages, got)):
        if work.text:
            assert isinstance(have, str), f"{peer}: message {i} is {type(have).__name__}, not str"
        else:
            assert isinstance(have, (bytes, bytearray)), f"{peer}: message {i} is {type(have).__name__}"
        assert have == want, f"{peer}: message {i} differs"


# -- an independent parser for what the server sends ---------------------------


def parse_server_stream(data: bytes) -> list[tuple[int, bool, bytes]]:
    """Split unmasked server frames into (opcode, fin, payload); strict RFC 6455 5.2."""
    frames = []
    pos, end = 0, len(data)
    while pos < end:
        assert end - pos >= 2, "truncated header"
        b0, b1 = data[pos], data[pos + 1]
        assert b0 & 0x70 == 0, "RSV bits set"
        assert b1 & 0x80 == 0, "a server frame must not be masked"
        length, pos = b1 & 0x7F, pos + 2
        if length == 126:
            (length,) = struct.unpack_from("!H", data, pos)
            assert length >= 126, "non-minimal length"
            pos += 2
        elif length == 127:
            (length,) = struct.unpack_from("!Q", data, pos)
            assert length >= 65536, "non-minimal length"
            pos += 8
        assert pos + length <= end, "truncated payload"
        frames.append((b0 & 0x0F, bool(b0 & 0x80), data[pos : pos + length]))
        pos += length
    return frames


def check_sent(peer: str, work: Workload, wire: bytes, max_frame: int) -> None:
    """Re-parse ``wire`` and compare with ``work``'s messages; frames at most ``max_frame``."""
    got: list[Payload] = []
    parts: list[bytes] = []
    opcode = 0
    for op, fin, payload in parse_server_stream(wire):
        assert len(payload) <= max_frame, f"{peer}: a {len(payload)}-byte frame (max {max_frame})"
        if parts:
            assert op == OP_CONT, f"{peer}: opcode {op} inside a fragmented message"
        else:
            assert op in (OP_TEXT, OP_BINARY), f"{peer}: unexpected opcode {op}"
            opcode = op
        parts.append(payload)
        if fin:
            data = b"".join(parts)
            parts = []
            got.append(data.decode("utf-8") if opcode == OP_TEXT else data)
    assert not parts, f"{peer}: the last message is unfinished"
    check_messages(peer, work, got)
