"""A hand-written WebSocket echo server that follows API Gateway's rules, except one.

It is written here from RFC 6455 with the tests' own frame builder
(``_support.server_frame``) and its own reader, so ``framer conform`` is
checked against a peer that shares no code with it.  ``defect`` names the one
rule it breaks (None: it breaks none); each ``framer conform`` rule has a
defect that must make exactly that rule fail.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
from typing import Optional

from _support import close_payload, server_frame, xor

from .peers import Threaded

DEFECTS = (
    "frame-limit-off-by-one",  # refuses a 32768-byte frame
    "accepts-big-frames",  # takes a 32769-byte frame
    "message-limit-off-by-one",  # refuses a 131072-byte message
    "accepts-big-messages",  # takes a 131073-byte message
    "accepts-binary",  # echoes binary frames instead of closing with 1003
    "echoes-invalid-utf8",  # echoes invalid UTF-8 as text (picows 2.3.1 did)
    "wrong-pong",  # answers a ping with a pong of another payload
    "close-keeps-tcp",  # answers a close but keeps the TCP connection open
    "drops-on-ping-in-message",  # drops the connection on a ping between fragments
)

MAX_FRAME = 32768
MAX_MESSAGE = 131072
_VALID_CODES = set(range(1000, 1004)) | set(range(1007, 1012)) | set(range(3000, 5000))


class _Refuse(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Connection:
    def __init__(self, defect: Optional[str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.defect = defect
        self.reader = reader
        self.writer = writer
        self.parts: Optional[list[bytes]] = None
        self.text = False

    async def handshake(self) -> bool:
        head = await self.reader.readuntil(b"\r\n\r\n")
        key = b""
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        self.writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        return bool(key)

    async def frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = await self.reader.readexactly(2)
        length = b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        fin, rsv, opcode = bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF
        if not b1 & 0x80:
            raise _Refuse(1002, "unmasked frame")
        if rsv:
            raise _Refuse(1002, "RSV bits")
        if opcode in (3, 4, 5, 6, 7) or opcode > 0xA:
            raise _Refuse(1002, "reserved opcode")
        if opcode >= 8 and (not fin or length > 125):
            raise _Refuse(1002, "bad control frame")
        if length >> 63:
            raise _Refuse(1002, "length with the top bit set")
        limit = MAX_FRAME - (self.defect == "frame-limit-off-by-one")
        if length > (2**20 if self.defect == "accepts-big-frames" else limit):
            raise _Refuse(1009, "frame too big")
        key = await self.reader.readexactly(4)
        return fin, opcode, xor(await self.reader.readexactly(length), key)

    async def serve(self) -> None:
        while True:
            fin, opcode, payload = await self.frame()
            if opcode == 0x9:
                if self.parts is not None and self.defect == "drops-on-ping-in-message":
                    self.writer.transport.abort()
                    return
                pong = b"wrong" if self.defect == "wrong-pong" else payload
                self.writer.write(server_frame(0xA, pong))
            elif opcode == 0x8:
                await self.answer_close(payload)
                return
            elif opcode in (0x1, 0x2):
                if self.parts is not None:
                    raise _Refuse(1002, "new message inside a message")
                if opcode == 0x2 and self.defect != "accepts-binary":
                    raise _Refuse(1003, "binary frames are not accepted")
                self.parts, self.text = [], opcode == 0x1
            elif opcode == 0x0 and self.parts is None:
                raise _Refuse(1002, "continuation with no message")
            if opcode in (0x0, 0x1, 0x2):
                assert self.parts is not None
                self.parts.append(payload)
                size = sum(map(len, self.parts))
                big = size > MAX_MESSAGE - (self.defect == "message-limit-off-by-one")
                if big and self.defect != "accepts-big-messages":
                    raise _Refuse(1009, "message too big")
                if fin:
                    self.echo(b"".join(self.parts))

    def echo(self, message: bytes) -> None:
        self.parts = None
        if self.text and not _valid_utf8(message) and self.defect != "echoes-invalid-utf8":
            raise _Refuse(1007, "invalid UTF-8")
        self.writer.write(server_frame(0x1 if self.text else 0x2, message))

    async def answer_close(self, payload: bytes) -> None:
        if len(payload) == 1:
            raise _Refuse(1002, "1-byte close payload")
        if payload:
            (code,) = struct.unpack("!H", payload[:2])
            if code not in _VALID_CODES:
                raise _Refuse(1002, "invalid close code")
            if not _valid_utf8(payload[2:]):
                raise _Refuse(1007, "invalid close reason")
        self.writer.write(server_frame(0x8, payload[:2]))
        if self.defect == "close-keeps-tcp":
            await self.reader.read()  # until the client gives up
        await self.end()

    async def refuse(self, refusal: _Refuse) -> None:
        self.writer.write(server_frame(0x8, close_payload(refusal.code, str(refusal).encode())))
        await self.end()

    async def end(self) -> None:
        """Close the TCP connection (the server does, RFC 6455 section 7.1.1) without a reset:
        send FIN, read what the client still sends, then close."""
        try:
            self.writer.write_eof()
            await asyncio.wait_for(self.reader.read(), 2.0)
        except (asyncio.TimeoutError, OSError):
            pass
        self.writer.close()


class BrokenServer(Threaded):
    """The server on 127.0.0.1 in a thread: ``with BrokenServer("wrong-pong") as s: s.url``."""

    def __init__(self, defect: Optional[str]) -> None:
        assert defect is None or defect in DEFECTS, defect
        super().__init__()
        self.defect = defect

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(self.defect, reader, writer)
        try:
            if await connection.handshake():
                await connection.serve()
        except _Refuse as refusal:
            await connection.refuse(refusal)
        except (asyncio.IncompleteReadError, OSError):
            writer.transport.abort()

    async def _serve(self, stop: asyncio.Event) -> None:
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await stop.wait()
