"""Shared pieces of the engine benchmarks: workloads, peers, an independent frame parser.

Nothing here is timed.  The workloads are built once per process (they are
deterministic: a fixed seed), client-masked with a fresh random key per frame,
as a browser would send them.  The frame parser is written from RFC 6455
section 5.2 and shares no code with framer, so it can check every peer's
output, framer's included.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import os
import random
import socket
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


def upgrade_request(path: str, *, host: str = "127.0.0.1", extensions: str = "") -> bytes:
    """A client's opening handshake (RFC 6455 section 4.1), with a fresh key."""
    key = base64.b64encode(os.urandom(16)).decode()
    offer = f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else ""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
    ).encode()


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


# -- peers brought to the open state (in-memory handshakes) -------------------------


def open_framer(impl: str, text: bool) -> Any:
    """A framer server connection in the OPEN state, after a real in-memory handshake."""
    from framer import AcceptConnection, ConnectionState, ConnectionType, Limits, Request, WSConnection

    limits = Limits.api_gateway() if text else Limits.general(32768, MESSAGE_SIZE)
    client = WSConnection(ConnectionType.CLIENT, limits=limits, implementation=impl)
    server = WSConnection(ConnectionType.SERVER, limits=limits, implementation=impl)
    server.receive_data(client.send(Request(host="localhost", target="/")))
    for _ in server.events():
        pass
    client.receive_data(server.send(AcceptConnection()))
    for _ in client.events():
        pass
    assert server.state is ConnectionState.OPEN
    return server



def open_wsproto() -> Any:
    from wsproto import ConnectionType, WSConnection
    from wsproto.connection import ConnectionState
    from wsproto.events import AcceptConnection, Request

    client = WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="localhost", target="/")))
    for _ in server.events():
        pass
    client.receive_data(server.send(AcceptConnection()))
    assert server.state is ConnectionState.OPEN
    return server



def open_websockets() -> Any:
    from websockets.client import ClientProtocol
    from websockets.protocol import State
    from websockets.server import ServerProtocol
    from websockets.uri import parse_uri

    client = ClientProtocol(parse_uri("ws://localhost/"), max_size=MESSAGE_SIZE)
    server = ServerProtocol(max_size=MESSAGE_SIZE)
    client.send_request(client.connect())
    for data in client.data_to_send():
        server.receive_data(data)
    (request,) = server.events_received()
    server.send_response(server.accept(request))
    for data in server.data_to_send():
        client.receive_data(data)
    assert server.state is State.OPEN
    return server



class FlowControl:
    """What aiohttp's queue calls on its protocol; it never pauses at our sizes."""

    _reading_paused = False

    def pause_reading(self) -> None:
        self._reading_paused = True

    def resume_reading(self) -> None:
        self._reading_paused = False


@functools.lru_cache(maxsize=1)
def idle_loop() -> asyncio.AbstractEventLoop:
    """An event loop that is never run: aiohttp's queue and picows want one."""
    return asyncio.new_event_loop()


def open_aiohttp() -> tuple[Any, Any]:
    from aiohttp._websocket.reader import WebSocketDataQueue, WebSocketReader

    queue = WebSocketDataQueue(FlowControl(), 2**30, loop=idle_loop())
    # aiohttp's limit is exclusive: a message of exactly max_msg_size fails.
    reader = WebSocketReader(queue, MESSAGE_SIZE + 1, False, True)
    return reader, queue._buffer



@functools.lru_cache(maxsize=1)
def _tcp_socket() -> socket.socket:
    """picows sets TCP options on its transport's socket; it is never connected."""
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM)


class FakeTransport:
    """The asyncio transport picows writes to: it keeps what it is given.

    ``get_write_buffer_size`` is never 0, so picows does not try its direct
    ``send()`` on the socket and hands every write to the transport.  With
    ``copy`` the views given to ``writelines`` are copied (to check them);
    without, they are kept as they are, as a writev to a socket that accepts
    everything would leave them.
    """

    def __init__(self, copy: bool = False) -> None:
        self.out: list[Any] = []
        self.write = self.out.append
        self.writelines = self._copy_lines if copy else self.out.extend

    def _copy_lines(self, buffers: list[Any]) -> None:
        self.out.append(b"".join(buffers))

    def get_write_buffer_size(self) -> int:
        return 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "socket":
            return _tcp_socket()
        if name in ("peername", "sockname"):
            return ("127.0.0.1", 8080)
        return default

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass



def open_picows(listener: Any = None, copy: bool = False) -> tuple[Any, FakeTransport]:
    """A picows server protocol after its handshake, over a fake transport."""
    from picows import WSAutoPingStrategy, WSListener
    from picows.picows import WSProtocol

    if listener is None:
        listener = WSListener()

    async def make() -> Any:  # WSProtocol wants a running loop when it is made
        return WSProtocol(
            None, None, False, lambda request: listener, logging.getLogger("bench.picows"),
            True, None, False, 10.0, 10.0, WSAutoPingStrategy.PING_WHEN_IDLE, True,
            MESSAGE_SIZE, None, 16 * 1024,
        )

    proto = idle_loop().run_until_complete(make())
    transport = FakeTransport(copy)
    proto.connection_made(transport)
    request = upgrade_request("/", host="localhost")
    buffer = proto.get_buffer(-1)
    buffer[: len(request)] = request
    proto.buffer_updated(len(request))
    assert transport.out and bytes(transport.out[0]).startswith(b"HTTP/1.1 101"), transport.out
    transport.out.clear()
    return proto, transport

