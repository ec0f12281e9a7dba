"""Helpers for the engine's tests: an independent frame builder and parser,
and connections opened through a real handshake.

The builder and parser here are written from RFC 6455 section 5.2 without
using framer's code, so a test that checks framer's bytes with them does not
check framer against itself.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import wsproto
from wsproto.events import AcceptConnection, Request

import framer
from framer import ConnectionType, Limits

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

KEY = b"\x37\xfa\x21\x3d"


def xor(data: bytes, key: bytes) -> bytes:
    """RFC 6455 section 5.3 masking, the slow and obvious way."""
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def header(
    opcode: int,
    length: int,
    *,
    fin: bool = True,
    rsv: int = 0,
    key: bytes | None = KEY,
    width: int | None = None,
) -> bytes:
    """A frame header announcing ``length`` payload bytes.

    ``width`` forces the length encoding (7, 16 or 64 bits) so tests can
    build non-minimal encodings; ``key=None`` builds an unmasked header.
    """
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    m = 0x80 if key is not None else 0
    if width is None:
        width = 7 if length < 126 else 16 if length < 65536 else 64
    if width == 7:
        head = bytes((b0, m | length))
    elif width == 16:
        head = bytes((b0, m | 126)) + struct.pack("!H", length)
    else:
        head = bytes((b0, m | 127)) + struct.pack("!Q", length)
    return head + (key if key is not None else b"")


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    key: bytes | None = KEY,
    width: int | None = None,
) -> bytes:
    """A whole frame; masked with ``key`` unless ``key`` is None."""
    head = header(opcode, len(payload), fin=fin, rsv=rsv, key=key, width=width)
    return head + (xor(payload, key) if key is not None else payload)


def client_frame(opcode: int, payload: bytes = b"", **kw: object) -> bytes:
    """A masked frame with a random key, as a client sends it."""
    return frame(opcode, payload, key=os.urandom(4), **kw)  # type: ignore[arg-type]


def server_frame(opcode: int, payload: bytes = b"", **kw: object) -> bytes:
    return frame(opcode, payload, key=None, **kw)  # type: ignore[arg-type]


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


@dataclass
class Frame:
    fin: bool
    rsv: int
    opcode: int
    key: bytes | None
    payload: bytes  # unmasked
    header_size: int


def parse_frames(data: bytes) -> list[Frame]:
    """Split a byte stream into frames; fails on a truncated stream."""
    frames = []
    pos = 0
    while pos < len(data):
        b0, b1 = data[pos], data[pos + 1]
        length = b1 & 0x7F
        size = 2
        if length == 126:
            (length,) = struct.unpack("!H", data[pos + 2 : pos + 4])
            size = 4
        elif length == 127:
            (length,) = struct.unpack("!Q", data[pos + 2 : pos + 10])
            size = 10
        key = None
        if b1 & 0x80:
            key = data[pos + size : pos + size + 4]
            size += 4
        payload = data[pos + size : pos + size + length]
        assert len(payload) == length, "truncated frame"
        if key is not None:
            payload = xor(payload, key) if length < 4096 else _fast_unmask(payload, key)
        frames.append(Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, key, payload, size))
        pos += size + length
    return frames


def _fast_unmask(payload: bytes, key: bytes) -> bytes:
    # Same as xor(), via big integers, for long payloads (still independent
    # of framer's code).
    n = len(payload)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


# -- connections opened through a real handshake ---------------------------


def open_pair(
    client_limits: Limits | None = None, server_limits: Limits | None = None
) -> tuple[framer.WSConnection, framer.WSConnection]:
    """A framer client and a framer server, handshake done, no events pending."""
    client = framer.WSConnection(ConnectionType.CLIENT, client_limits)
    server = framer.WSConnection(ConnectionType.SERVER, server_limits)
    server.receive_data(client.send(Request(host="example.com", target="/chat")))
    (request,) = server.events()
    assert isinstance(request, Request)
    client.receive_data(server.send(AcceptConnection()))
    (accept,) = client.events()
    assert isinstance(accept, AcceptConnection)
    return client, server


def open_server(limits: Limits | None = None) -> framer.WSConnection:
    """A framer server after the handshake, ready for raw client frames."""
    return open_pair(None, limits)[1]


def open_client(limits: Limits | None = None) -> framer.WSConnection:
    """A framer client after the handshake, ready for raw server frames."""
    return open_pair(limits, None)[0]


def open_receiver(sender: ConnectionType, limits: Limits | None, impl: str) -> framer.WSConnection:
    """A framer endpoint on ``impl``, past its handshake, of the role that
    receives ``sender``'s bytes (its peer is a framer endpoint too)."""
    me = framer.WSConnection(
        ConnectionType.SERVER if sender is ConnectionType.CLIENT else ConnectionType.CLIENT,
        limits, implementation=impl,
    )
    peer = framer.WSConnection(sender)
    client, server = (peer, me) if sender is ConnectionType.CLIENT else (me, peer)
    server.receive_data(client.send(Request(host="example.com", target="/")))
    list(server.events())
    client.receive_data(server.send(AcceptConnection()))
    list(client.events())
    return me


def open_wsproto(connection_type: ConnectionType) -> wsproto.WSConnection:
    """wsproto's own connection of the given role, handshake done with a wsproto peer."""
    if connection_type is ConnectionType.SERVER:
        server = wsproto.WSConnection(ConnectionType.SERVER)
        client = wsproto.WSConnection(ConnectionType.CLIENT)
    else:
        client = wsproto.WSConnection(ConnectionType.CLIENT)
        server = wsproto.WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="example.com", target="/chat")))
    list(server.events())
    client.receive_data(server.send(AcceptConnection()))
    list(client.events())
    return server if connection_type is ConnectionType.SERVER else client


def drain(conn: object) -> list[object]:
    return list(conn.events())  # type: ignore[attr-defined]


def str_sizes(text: str) -> set[int]:
    """The sizes CPython gives ``text`` at the width it would pick: bare, or
    with its UTF-8 form cached (``bytes.decode`` keeps it on 3.13). A str
    built wider than needed has neither size."""
    import sys

    bare = sys.getsizeof(text.encode("utf-32-le").decode("utf-32-le"))
    sizes = {bare, bare + len(text.encode("utf-8", "surrogatepass")) + 1}
    if len(text) == 1:
        # CPython hands out a cached one-character str (on 3.13 with its UTF-8
        # form); a fresh one of the same width is one character smaller than
        # the same character twice.
        code = ord(text)
        width = 1 if code < 0x100 else 2 if code < 0x10000 else 4
        sizes.add(sys.getsizeof(text * 2) - width)
    return sizes

