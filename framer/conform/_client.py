"""One probing connection: a hand-written handshake and a raw frame reader.

The client never lets an engine judge the server: it reads the server's
frames with :class:`framer._wire.FrameReader`, joins data frames into
:class:`Message` objects, and writes down every way the server's frames break
RFC 6455 (a mask, RSV bits, a reserved opcode, a continuation with no
message, invalid UTF-8 in a text message) as a :attr:`Probe.defects` line.
The verdict is left to the rules and properties that read :class:`Seen`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import ssl
from dataclasses import dataclass, field
from typing import Callable, Optional

from framer._wire import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    WireFrame,
    encode_frame,
)

from ._target import ConformError, Target

__all__ = ["Assembler", "Message", "Probe", "Seen", "messages_in", "valid_utf8"]

_READ = 65536
_HEAD_LIMIT = 64 * 1024
#: Seconds a close may lag behind the pong that follows the refused traffic.
LATE_CLOSE = 0.25
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


def valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Message:
    """A whole data message: text or binary, and its payload bytes as sent."""

    text: bool
    payload: bytes

    def describe(self, preview: int = 16) -> str:
        """``text message of 5 bytes 'hello'``: valid text as text, anything else as bytes."""
        shown: object = self.payload[:preview]
        if self.text and valid_utf8(self.payload):
            shown = self.payload.decode()[:preview]
        more = "..." if len(self.payload) > preview else ""
        return f"{'text' if self.text else 'binary'} message of {len(self.payload)} bytes {shown!r}{more}"


@dataclass(frozen=True, slots=True)
class Seen:
    """How a wait ended: ``match`` (what was waited for), ``close``, ``eof`` or ``timeout``."""

    kind: str
    ms: float
    code: Optional[int] = None
    reason: str = ""

    def describe(self) -> str:
        if self.kind == "match":
            return f"still answering (pong after {self.ms:.0f} ms)"
        if self.kind == "close":
            reason = f" {self.reason!r}" if self.reason else ""
            return f"closed with {'no code' if self.code is None else self.code}{reason}"
        if self.kind == "eof":
            return "connection dropped without a close frame"
        return f"no answer within {self.ms / 1000:.1f} s"


class Assembler:
    """Joins data frames into messages, noting frames that do not fit (:attr:`defects`)."""

    def __init__(self) -> None:
        self.defects: list[str] = []
        self._parts: Optional[list[bytes]] = None
        self._text = False

    def add(self, frame: WireFrame) -> Optional[Message]:
        """The message ``frame`` completes, if any; control frames are not looked at."""
        if frame.opcode in (OP_TEXT, OP_BINARY):
            if self._parts is not None:
                self.defects.append("started a new message before the previous one finished")
            self._text, self._parts = frame.opcode == OP_TEXT, []
        elif frame.opcode != OP_CONTINUATION:
            return None
        elif self._parts is None:
            self.defects.append("sent a continuation frame with no message in progress")
            return None
        self._parts.append(frame.payload)
        if not frame.fin:
            return None
        message = Message(self._text, b"".join(self._parts))
        self._parts = None
        return message


def messages_in(data: bytes) -> list[Message]:
    """The whole messages in a byte stream of frames (a client's traffic, say)."""
    assembler = Assembler()
    found = (assembler.add(frame) for frame in FrameReader().feed(data))
    return [message for message in found if message is not None]


@dataclass
class _Inbox:
    """What the server sent so far, read frame by frame."""

    frames: list[WireFrame] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    pongs: list[bytes] = field(default_factory=list)
    close: Optional[WireFrame] = None
    _assembler: Assembler = field(default_factory=Assembler)

    @property
    def defects(self) -> list[str]:
        return self._assembler.defects

    def add(self, frame: WireFrame) -> None:
        self.frames.append(frame)
        if frame.mask is not None:
            self.defects.append(f"sent a masked frame ({frame.describe()})")
        if frame.rsv:
            self.defects.append(f"sent RSV bits with no extension ({frame.describe()})")
        if frame.opcode == OP_PONG:
            self.pongs.append(frame.payload)
        elif frame.opcode == OP_CLOSE:
            self.close = frame
        elif frame.opcode not in (OP_PING, OP_TEXT, OP_BINARY, OP_CONTINUATION):
            self.defects.append(f"sent a frame with reserved opcode {frame.opcode:#x}")
        message = self._assembler.add(frame)
        if message is None:
            return
        self.messages.append(message)
        if message.text and not valid_utf8(message.payload):
            self.defects.append(f"sent invalid UTF-8 in a {message.describe()}")


def _close_fields(frame: WireFrame) -> tuple[Optional[int], str]:
    if len(frame.payload) < 2:
        return None, ""
    return int.from_bytes(frame.payload[:2], "big"), frame.payload[2:].decode("utf-8", "replace")


class _Socket:
    """A non-blocking socket, read and written with the event loop's ``sock_*`` calls.

    Not an asyncio transport: a transport that fails to write (the server
    already closed) drops the connection with the bytes still unread, and
    those may hold the server's close frame.  Here a failed write only ends
    the writing.  TLS (``wss://``) runs over memory BIOs.
    """

    def __init__(self, sock: socket.socket, tls: Optional[ssl.SSLObject] = None) -> None:
        self._sock = sock
        self._tls = tls
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.write_failed = False

    @classmethod
    async def connect(cls, host: str, port: int, secure: bool) -> _Socket:
        loop = asyncio.get_running_loop()
        error: OSError = OSError(f"no address for {host}")
        for family, kind, proto, _, address in await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, address)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            made = cls(sock)
            if secure:
                await made._start_tls(host)
            return made
        raise error

    async def _start_tls(self, host: str) -> None:
        self._tls = ssl.create_default_context().wrap_bio(self._incoming, self._outgoing, server_hostname=host)
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush()
                data = await asyncio.get_running_loop().sock_recv(self._sock, _READ)
                if not data:
                    raise ConnectionError("connection closed during the TLS handshake")
                self._incoming.write(data)
        await self._flush()

    async def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            await asyncio.get_running_loop().sock_sendall(self._sock, data)

    async def write(self, data: bytes) -> None:
        if self.write_failed:
            return
        try:
            if self._tls is None:
                await asyncio.get_running_loop().sock_sendall(self._sock, data)
            else:
                self._tls.write(data)
                await self._flush()
        except (OSError, ssl.SSLError):
            self.write_failed = True

    async def read(self, timeout: float) -> Optional[bytes]:
        """Bytes that arrived within ``timeout`` s; ``b""`` once the connection ended, None on timeout."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await asyncio.wait_for(loop.sock_recv(self._sock, _READ), timeout)
            except asyncio.TimeoutError:
                return None
            except OSError:
                return b""
            if self._tls is None or not data:
                return data
            self._incoming.write(data)
            out = bytearray()
            try:
                while True:
                    out += self._tls.read(_READ)
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLError):
                return bytes(out)
            if out:
                return bytes(out)

    def close(self) -> None:
        self._sock.close()


class Probe:
    """A client connection whose frames are written and read by hand."""

    def __init__(self, sock: _Socket) -> None:
        self._socket = sock
        self._frames = FrameReader()
        self.inbox = _Inbox()
        self.eof = False

    @classmethod
    async def open(cls, target: Target, timeout: float) -> Probe:
        try:
            sock = await asyncio.wait_for(_Socket.connect(target.host, target.port, target.secure), timeout)
        except asyncio.TimeoutError:
            raise ConformError(f"cannot connect to {target.url}: no answer within {timeout:g} s") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConformError(f"cannot connect to {target.url}: {getattr(exc, 'strerror', None) or exc}") from None
        probe = cls(sock)
        try:
            await asyncio.wait_for(probe._handshake(target), timeout)
        except asyncio.TimeoutError:
            probe.abort()
            raise ConformError(f"{target.url}: no handshake response within {timeout:g} s") from None
        except ConformError:
            probe.abort()
            raise
        return probe

    async def _head(self, target: Target) -> bytes:
        """The handshake response's head; bytes after it go to the frame reader."""
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            if len(buffer) > _HEAD_LIMIT:
                raise ConformError(f"{target.url}: bad handshake response: head over {_HEAD_LIMIT} bytes")
            data = await self._socket.read(3600.0)
            if not data:
                raise ConformError(f"{target.url}: connection closed during the handshake")
            buffer += data
        head, _, rest = buffer.partition(b"\r\n\r\n")
        self._feed(rest)
        return head

    async def _handshake(self, target: Target) -> None:
        key = base64.b64encode(os.urandom(16))
        host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
        await self.send(
            b"GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (target.resource.encode(), host.encode("idna"), key)
        )
        lines = (await self._head(target)).decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or not status[0].startswith("HTTP/1.") or not status[1].isdigit():
            raise ConformError(f"{target.url}: bad handshake response: status line {lines[0]!r}")
        if status[1] != "101":
            raise ConformError(f"{target.url}: the server refused the WebSocket upgrade with HTTP {status[1]}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise ConformError(f"{target.url}: bad handshake response: wrong or missing Sec-WebSocket-Accept")

    # -- sending ---------------------------------------------------------------------

    async def send(self, data: bytes) -> None:
        await self._socket.write(data)

    async def send_frame(self, opcode: int, payload: bytes = b"", *, fin: bool = True) -> None:
        await self.send(encode_frame(opcode, payload, fin=fin, mask=os.urandom(4)))

    async def send_pieces(self, pieces: list[bytes], pauses: list[float]) -> None:
        """Write ``pieces`` one by one, sleeping ``pauses[i]`` after piece ``i``."""
        for piece, pause in zip(pieces, pauses):
            await self.send(piece)
            if pause:
                await asyncio.sleep(pause)

    def abort(self) -> None:
        self._socket.close()

    # -- reading ---------------------------------------------------------------------

    @property
    def defects(self) -> list[str]:
        return self.inbox.defects

    async def wait(self, done: Callable[[_Inbox], bool], timeout: float) -> Seen:
        """Read until ``done(inbox)``, a close frame, EOF or the timeout."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        seen = len(self.inbox.frames)
        while True:
            ms = (loop.time() - started) * 1000
            if self.inbox.close is not None:
                code, reason = _close_fields(self.inbox.close)
                return Seen("close", ms, code, reason)
            if done(self.inbox):
                return Seen("match", ms)
            if self.eof:
                return Seen("eof", ms)
            left = started + timeout - loop.time()
            if left <= 0:
                return Seen("timeout", timeout * 1000)
            data = await self._socket.read(left)
            if data is None:
                return Seen("timeout", timeout * 1000)
            if not data:
                self.eof = True
                continue
            self._feed(data)
            for frame in self.inbox.frames[seen:]:
                if frame.opcode == OP_PING and self.inbox.close is None:
                    await self.send_frame(OP_PONG, frame.payload)
            seen = len(self.inbox.frames)

    async def ping(self, timeout: float) -> Seen:
        """Ping with a fresh payload; ``match`` if its pong comes back."""
        token = os.urandom(8)
        await self.send_frame(OP_PING, token)
        return await self.wait(lambda inbox: token in inbox.pongs, timeout)

    async def wait_close(self, timeout: float) -> Seen:
        return await self.wait(lambda inbox: False, timeout)

    async def refused(self, timeout: float) -> Seen:
        """Ping after traffic the server must refuse; ``match`` means it let the traffic through.

        A server may judge a message after answering the control frames that
        follow it (websockets checks UTF-8 when the application reads), so a
        pong is followed by a short wait for a late close.
        """
        seen = await self.ping(timeout)
        if seen.kind != "match":
            return seen
        late = await self.wait_close(min(timeout, LATE_CLOSE))
        return late if late.kind == "close" else seen

    async def wait_eof(self, timeout: float) -> bool:
        """After the closing handshake: True if the server ends the TCP connection in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.eof:
            left = deadline - loop.time()
            if left <= 0:
                return False
            data = await self._socket.read(left)
            if data is None:
                return False
            self.eof = not data
        return True

    def _feed(self, data: bytes) -> None:
        for frame in self._frames.feed(data):
            self.inbox.add(frame)

    async def answer_close(self) -> None:
        """Answer the server's close frame with the same code (RFC 6455 section 5.5.1)."""
        close = self.inbox.close
        await self.send_frame(OP_CLOSE, close.payload[:2] if close is not None else b"")

    async def finish(self, linger: float = 1.0) -> None:
        """Close politely if still open, give the server ``linger`` s to end, then drop."""
        if not self.eof and not self._socket.write_failed:
            if self.inbox.close is None:
                await self.send_frame(OP_CLOSE, (1000).to_bytes(2, "big"))
                await self.wait_close(linger)
            await self.wait_eof(linger)
        self.abort()
