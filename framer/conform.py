"""``framer conform``: probe any WebSocket server for API Gateway's runtime rules.

Each rule runs on its own connection, opened by a small asyncio client built
on :class:`framer.WSConnection` in the client role.  The client's limits are
:meth:`framer.Limits.general` (64 MiB), so it can send what API Gateway
refuses; frames the engine will not produce at all (invalid UTF-8) are
written raw.

A message is *accepted* when the server neither closes nor stops answering:
after it, a ping with a fresh payload gets its pong.  A refusal must be a
close frame with the expected code.

The rules (API Gateway's quotas: 32 KB frames, 128 KB messages, text only):

========================  ==============================================
frame-32768               a 32768-byte text frame is accepted
frame-32769               a 32769-byte text frame is closed with 1009
message-131072            131072 bytes in 4 frames are accepted
message-131073            131073 bytes in 5 frames are closed with 1009
binary                    a binary frame is closed with 1003 (``--api-gateway``)
invalid-utf8              invalid UTF-8 in a text frame is closed with 1007
ping                      a ping is answered with a pong, same payload
close                     a close (1000) is answered with a close, then EOF
========================  ==============================================
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import time
from dataclasses import asdict, dataclass
from typing import Awaitable, Callable, Optional
from urllib.parse import urlsplit

from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)

from ._connection import WSConnection
from ._errors import LocalProtocolError, RemoteProtocolError
from ._limits import API_GATEWAY_MAX_FRAME_SIZE, API_GATEWAY_MAX_MESSAGE_SIZE, Limits
from wsproto.connection import ConnectionType

__all__ = ["ConformError", "RuleResult", "Target", "format_table", "parse_url", "run"]

FRAME = API_GATEWAY_MAX_FRAME_SIZE
MESSAGE = API_GATEWAY_MAX_MESSAGE_SIZE
# Big enough for anything a server echoes back, small enough to be a limit.
_CLIENT_LIMITS = Limits.general(16 * 1024 * 1024, 16 * 1024 * 1024)
_READ = 65536


class ConformError(Exception):
    """The probe cannot run: bad URL, no connection, handshake refused."""


@dataclass(frozen=True)
class Target:
    """Where to probe: ``ws://host:port/path?query`` split up."""

    secure: bool
    host: str
    port: int
    resource: str

    @property
    def url(self) -> str:
        scheme = "wss" if self.secure else "ws"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}{self.resource}"


def parse_url(url: str) -> Target:
    """Split a ``ws://`` or ``wss://`` URL; :class:`ConformError` if it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConformError(f"URL must look like ws://HOST:PORT/PATH, got {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "wss" else 80)
    except ValueError:
        raise ConformError(f"invalid port in {url!r}") from None
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme == "wss", parts.hostname, port, resource)


@dataclass(frozen=True)
class RuleResult:
    """One row of the report: the rule, what it expects, pass/fail, what was seen."""

    rule: str
    expected: str
    passed: bool
    seen: str


@dataclass(frozen=True)
class _Seen:
    """What the server did after a probe: ``pong``, ``close``, ``eof`` or ``timeout``."""

    kind: str
    code: Optional[int] = None
    reason: str = ""
    ms: float = 0.0

    def describe(self) -> str:
        if self.kind == "pong":
            return f"still answering (pong after {self.ms:.0f} ms)"
        if self.kind == "close":
            reason = f" {self.reason!r}" if self.reason else ""
            code = "no code" if self.code in (None, 1005) else str(self.code)
            return f"closed with {code}{reason}"
        if self.kind == "eof":
            return "connection dropped without a close frame"
        return f"no answer within {self.ms / 1000:.1f} s"


def _raw_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame, FIN set, built by hand (RFC 6455 section 5.2)."""
    n = len(payload)
    key = os.urandom(4)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 0x10000:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    stream = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big") if n else b""
    return head + key + masked


class _Client:
    """One probing connection: framer's engine in the client role over asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.ws = WSConnection(ConnectionType.CLIENT, _CLIENT_LIMITS)
        self.closed_by_peer: Optional[CloseConnection] = None
        self.eof = False

    @classmethod
    async def open(cls, target: Target, timeout: float) -> _Client:
        context = ssl.create_default_context() if target.secure else None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(target.host, target.port, ssl=context, limit=_READ), timeout
            )
        except asyncio.TimeoutError:
            raise ConformError(f"cannot connect to {target.url}: no answer within {timeout:g} s") from None
        except OSError as exc:
            raise ConformError(f"cannot connect to {target.url}: {exc.strerror or exc}") from None
        client = cls(reader, writer)
        host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
        writer.write(client.ws.send(Request(host=host, target=target.resource)))
        try:
            await asyncio.wait_for(client._handshake(target), timeout)
        except asyncio.TimeoutError:
            client.abort()
            raise ConformError(f"{target.url}: no handshake response within {timeout:g} s") from None
        except (ConformError, OSError):
            client.abort()
            raise
        return client

    async def _handshake(self, target: Target) -> None:
        while True:
            data = await self.reader.read(_READ)
            try:
                self.ws.receive_data(data or None)
                for event in self.ws.events():
                    if isinstance(event, AcceptConnection):
                        return
                    if isinstance(event, RejectConnection):
                        raise ConformError(
                            f"{target.url}: the server refused the WebSocket upgrade "
                            f"with HTTP {event.status_code}"
                        )
            except RemoteProtocolError as exc:
                raise ConformError(f"{target.url}: bad handshake response: {exc}") from None
            if not data:
                raise ConformError(f"{target.url}: connection closed during the handshake")

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def abort(self) -> None:
        self.writer.transport.abort()

    async def wait(self, want: Callable[[Event], bool], timeout: float) -> _Seen:
        """Read until an event ``want`` accepts, a close, EOF or the timeout."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + timeout
        while True:
            for event in self.ws.events():
                if isinstance(event, CloseConnection):
                    return self._peer_closed(event, started)
                if isinstance(event, Ping):
                    self.send(self.ws.send(event.response()))
                if want(event):
                    return _Seen("pong", ms=(loop.time() - started) * 1000)
            if self.eof:
                return _Seen("eof", ms=(loop.time() - started) * 1000)
            left = deadline - loop.time()
            if left <= 0:
                return _Seen("timeout", ms=timeout * 1000)
            try:
                data = await asyncio.wait_for(self.reader.read(_READ), left)
            except asyncio.TimeoutError:
                return _Seen("timeout", ms=timeout * 1000)
            except OSError:
                data = b""
            if not data:
                self.eof = True
                continue
            self.ws.receive_data(data)

    def _peer_closed(self, event: CloseConnection, started: float) -> _Seen:
        if event.code == 1006:  # our engine's word for EOF without a close frame
            self.eof = True
            return _Seen("eof")
        self.closed_by_peer = event
        try:
            self.send(self.ws.send(event.response()))
        except LocalProtocolError:
            pass
        ms = (asyncio.get_running_loop().time() - started) * 1000
        return _Seen("close", code=int(event.code), reason=event.reason or "", ms=ms)

    async def still_answering(self, timeout: float) -> _Seen:
        """Ping with a fresh payload; ``pong`` if its answer comes back."""
        token = os.urandom(8)
        self.send(self.ws.send(Ping(payload=token)))
        return await self.wait(lambda e: isinstance(e, Pong) and e.payload == token, timeout)

    async def wait_close(self, timeout: float) -> _Seen:
        return await self.wait(lambda e: False, timeout)

    async def finish(self) -> None:
        """Close politely if still open, then drop the connection."""
        try:
            if self.closed_by_peer is None and not self.eof and not self.writer.is_closing():
                self.send(self.ws.send(CloseConnection(code=1000)))
        except LocalProtocolError:
            pass
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
        except (asyncio.TimeoutError, OSError):
            self.abort()


# -- the rules ----------------------------------------------------------------------

_Probe = Callable[[_Client, float], Awaitable[RuleResult]]


def _text_message(client: _Client, sizes: list[int]) -> bytes:
    """A text message of ``sum(sizes)`` ASCII bytes, one frame per size."""
    out = []
    for i, size in enumerate(sizes):
        last = i == len(sizes) - 1
        out.append(client.ws.send(TextMessage(data="a" * size, message_finished=last)))
    return b"".join(out)


def _accepts(rule: str, what: str, sizes: list[int]) -> _Probe:
    async def probe(client: _Client, timeout: float) -> RuleResult:
        client.send(_text_message(client, sizes))
        seen = await client.still_answering(timeout)
        return RuleResult(rule, f"{what} accepted", seen.kind == "pong", seen.describe())

    return probe


def _closes(rule: str, what: str, code: int, make: Callable[[_Client], bytes]) -> _Probe:
    async def probe(client: _Client, timeout: float) -> RuleResult:
        client.send(make(client))
        seen = await client.still_answering(timeout)
        if seen.kind == "pong":
            # Accepted: say so, and give a lagging close a moment to arrive.
            late = await client.wait_close(min(timeout, 0.5))
            seen = late if late.kind == "close" else seen
            if seen.kind == "pong":
                return RuleResult(rule, f"{what} -> {code}", False, f"accepted: {seen.describe()}")
        return RuleResult(rule, f"{what} -> {code}", seen.kind == "close" and seen.code == code, seen.describe())

    return probe


async def _ping(client: _Client, timeout: float) -> RuleResult:
    seen = await client.still_answering(timeout)
    what = f"pong with the same payload after {seen.ms:.0f} ms" if seen.kind == "pong" else seen.describe()
    return RuleResult("ping", "ping answered with pong", seen.kind == "pong", what)


async def _close(client: _Client, timeout: float) -> RuleResult:
    client.send(client.ws.send(CloseConnection(code=1000, reason="conform")))
    seen = await client.wait_close(timeout)
    if seen.kind != "close":
        return RuleResult("close", "close answered, then EOF", False, seen.describe())
    # The server answered our close; it must now end the TCP connection.
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        while await asyncio.wait_for(client.reader.read(_READ), timeout):
            pass
    except asyncio.TimeoutError:
        return RuleResult("close", "close answered, then EOF", False,
                          f"{seen.describe()}, but the TCP connection stayed open {timeout:g} s")
    except OSError:
        pass
    client.eof = True
    ok = seen.code in (1000, None, 1005)
    return RuleResult("close", "close answered, then EOF", ok,
                      f"{seen.describe()}, EOF after {(loop.time() - started) * 1000:.0f} ms")


def _rules(api_gateway: bool) -> list[tuple[str, _Probe]]:
    rules: list[tuple[str, _Probe]] = [
        ("frame-32768", _accepts("frame-32768", f"{FRAME}-byte frame", [FRAME])),
        ("frame-32769", _closes("frame-32769", f"{FRAME + 1}-byte frame", 1009,
                                lambda c: _text_message(c, [FRAME + 1]))),
        ("message-131072", _accepts("message-131072", f"{MESSAGE} bytes in 4 frames", [FRAME] * 4)),
        ("message-131073", _closes("message-131073", f"{MESSAGE + 1} bytes in 5 frames", 1009,
                                   lambda c: _text_message(c, [FRAME] * 4 + [1]))),
    ]
    if api_gateway:
        rules.append(("binary", _closes("binary", "binary frame", 1003,
                                        lambda c: _raw_frame(0x2, b"\x00\x01binary"))))
    rules += [
        ("invalid-utf8", _closes("invalid-utf8", "invalid UTF-8 text", 1007,
                                 lambda c: _raw_frame(0x1, b"conform \xff\xfe"))),
        ("ping", _ping),
        ("close", _close),
    ]
    return rules


async def run(url: str, *, api_gateway: bool = False, timeout: float = 5.0) -> list[RuleResult]:
    """Probe ``url`` rule by rule, one connection each.

    Raises :class:`ConformError` if the URL is bad or the first connection
    cannot be opened (later failures to connect become failed rows).
    """
    target = parse_url(url)
    if not timeout > 0:
        raise ConformError(f"--timeout must be > 0 seconds, got {timeout!r}")
    results = []
    for index, (name, probe) in enumerate(_rules(api_gateway)):
        try:
            client = await _Client.open(target, timeout)
        except ConformError as exc:
            if index == 0:
                raise
            results.append(RuleResult(name, "", False, f"could not connect: {exc}"))
            continue
        try:
            results.append(await probe(client, timeout))
        except (OSError, RemoteProtocolError, LocalProtocolError) as exc:
            results.append(RuleResult(name, "", False, f"connection failed: {exc}"))
        finally:
            await client.finish()
    return results


def format_table(results: list[RuleResult]) -> str:
    """The report as a fixed-width table, one row per rule."""
    header = ("RULE", "EXPECTED", "RESULT", "SEEN")
    rows = [(r.rule, r.expected, "pass" if r.passed else "FAIL", r.seen) for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = []
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    passed = sum(r.passed for r in results)
    lines.append(f"{passed}/{len(results)} rules pass")
    return "\n".join(lines)


def to_json(url: str, results: list[RuleResult]) -> str:
    """The report for machines: the URL, overall ``ok`` and one object per rule."""
    return json.dumps(
        {"url": url, "ok": all(r.passed for r in results), "rules": [asdict(r) for r in results]},
        indent=2,
    )


def main(url: str, *, api_gateway: bool, as_json: bool, timeout: float) -> int:
    """Run the probe and print the report; 0 if every rule passes, 1 if not.

    :class:`ConformError` propagates (the CLI prints it as one line, exit 2).
    """
    started = time.monotonic()
    results = asyncio.run(run(url, api_gateway=api_gateway, timeout=timeout))
    if as_json:
        print(to_json(url, results))
    else:
        print(f"framer conform {url} ({time.monotonic() - started:.1f} s)")
        print(format_table(results))
    return 0 if all(r.passed for r in results) else 1
