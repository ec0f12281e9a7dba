"""Server receive: client-masked frames in, whole messages out, per peer.

Each round feeds one batch (1000 or 100 messages) to a fresh server-side
receiver that ``setup`` has already brought to the open state (an in-memory
handshake, outside the timed region).  Two feed modes: ``frames`` (one
``receive_data`` call per frame) and ``64k`` (the stream cut into 65,536-byte
reads, so frames straddle reads, as from a busy socket).  After each read the
peer's events are drained, as a server loop would.

What each peer is asked to do, so the rows compare like with like:

* framer: ``WSConnection.receive_data`` + ``events()``; it delivers whole,
  validated messages with API Gateway's limits (text rows:
  ``Limits.api_gateway()``; binary rows: ``Limits.general(32768, 131072)``,
  same sizes with binary allowed).
* wsproto: ``WSConnection`` after a handshake; it yields one event per frame,
  so fragments are joined (list + join) by the harness.
* websockets: the sans-IO ``ServerProtocol`` (C speedups) yields frames; the
  harness joins fragments and decodes text, as its ``Assembler`` does.
* aiohttp: its Cython ``WebSocketReader`` fed with ``feed_data``; its queue's
  deque is drained directly (no ``await ws.receive()`` machinery).  Its size
  limit is exclusive, hence ``131073``.
* picows: not sans-IO; its ``WSProtocol`` is driven through the
  ``BufferedProtocol`` methods (``get_buffer`` + copy + ``buffer_updated``,
  what asyncio's selector loop does) over a fake transport; a listener joins
  fragments.

Before timing, every peer's output is checked: every message complete,
byte-identical, ``str`` for text.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import os
import socket
from typing import Any, Callable

import pytest
from _harness import MESSAGE_SIZE, PEERS, Workload, check_messages, need, workload

Setup = Callable[[], tuple[Any, ...]]
Driver = tuple[Setup, Callable[..., list[Any]]]


# -- framer -------------------------------------------------------------------


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


def feed_framer(conn: Any, chunks: list[bytes]) -> list[Any]:
    out: list[Any] = []
    append = out.append
    receive = conn.receive_data
    events = conn.events
    for chunk in chunks:
        receive(chunk)
        for event in events():
            append(event.data)
    return out


def framer_driver(peer: str, work: Workload) -> Driver:
    impl = peer.split("-", 1)[1]
    return (lambda: (open_framer(impl, work.text),)), feed_framer


# -- wsproto --------------------------------------------------------------------


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


def feed_wsproto(conn: Any, chunks: list[bytes]) -> list[Any]:
    out: list[Any] = []
    append = out.append
    parts: list[Any] = []
    for chunk in chunks:
        conn.receive_data(chunk)
        for event in conn.events():
            data = event.data
            if not event.message_finished:
                parts.append(data)
            elif parts:
                parts.append(data)
                append(("" if isinstance(data, str) else b"").join(parts))
                parts = []
            else:
                append(data)
    return out


def wsproto_driver(peer: str, work: Workload) -> Driver:
    return (lambda: (open_wsproto(),)), feed_wsproto


# -- websockets -------------------------------------------------------------------


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


def feed_websockets(proto: Any, chunks: list[bytes]) -> list[Any]:
    from websockets.frames import Opcode

    text_op = Opcode.TEXT
    out: list[Any] = []
    append = out.append
    parts: list[bytes] = []
    text = False
    receive = proto.receive_data
    events = proto.events_received
    for chunk in chunks:
        receive(chunk)
        for frame in events():
            if not parts:
                text = frame.opcode is text_op
                if frame.fin:
                    append(frame.data.decode() if text else frame.data)
                    continue
            parts.append(frame.data)
            if frame.fin:
                data = b"".join(parts)
                parts = []
                append(data.decode() if text else data)
    return out


def websockets_driver(peer: str, work: Workload) -> Driver:
    return (lambda: (open_websockets(),)), feed_websockets


# -- aiohttp ------------------------------------------------------------------------


class _FlowControl:
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

    queue = WebSocketDataQueue(_FlowControl(), 2**30, loop=idle_loop())
    # aiohttp's limit is exclusive: a message of exactly max_msg_size fails.
    reader = WebSocketReader(queue, MESSAGE_SIZE + 1, False, True)
    return reader, queue._buffer


def feed_aiohttp(reader: Any, queued: Any, chunks: list[bytes]) -> list[Any]:
    out: list[Any] = []
    append = out.append
    feed = reader.feed_data
    pop = queued.popleft
    for chunk in chunks:
        feed(chunk)
        while queued:
            append(pop()[0].data)
    return out


def aiohttp_driver(peer: str, work: Workload) -> Driver:
    return open_aiohttp, feed_aiohttp


# -- picows -------------------------------------------------------------------------


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


def picows_listener_class() -> Any:
    from picows import WSListener, WSMsgType

    text_type = WSMsgType.TEXT

    class Collector(WSListener):  # type: ignore[misc]
        """Whole messages out of picows' frames: list + join for fragments."""

        def __init__(self) -> None:
            self.out: list[Any] = []
            self.parts: list[bytes] = []
            self.text = False

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            parts = self.parts
            if not parts:
                self.text = frame.msg_type == text_type
                if frame.fin:
                    if self.text:
                        self.out.append(frame.get_payload_as_utf8_text())
                    else:
                        self.out.append(frame.get_payload_as_bytes())
                    return
            parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                data = b"".join(parts)
                self.parts = []
                self.out.append(data.decode() if self.text else data)

    return Collector


def open_picows(copy: bool = False) -> tuple[Any, Any, FakeTransport]:
    """A picows server protocol after its handshake, over a fake transport."""
    from picows import WSAutoPingStrategy
    from picows.picows import WSProtocol

    listener = picows_listener_class()()

    async def make() -> Any:  # WSProtocol wants a running loop when it is made
        return WSProtocol(
            None, None, False, lambda request: listener, logging.getLogger("bench.picows"),
            True, None, False, 10.0, 10.0, WSAutoPingStrategy.PING_WHEN_IDLE, True,
            MESSAGE_SIZE, None, 16 * 1024,
        )

    proto = idle_loop().run_until_complete(make())
    transport = FakeTransport(copy)
    proto.connection_made(transport)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    feed_picows(proto, listener, [request])
    assert transport.out and bytes(transport.out[0]).startswith(b"HTTP/1.1 101"), transport.out
    transport.out.clear()
    return proto, listener, transport


def feed_picows(proto: Any, listener: Any, chunks: list[bytes]) -> list[Any]:
    get_buffer = proto.get_buffer
    updated = proto.buffer_updated
    for chunk in chunks:
        size = len(chunk)
        buffer = get_buffer(-1)
        if len(buffer) >= size:
            buffer[:size] = chunk
            updated(size)
            continue
        view = memoryview(chunk)
        pos = 0
        while pos < size:  # a read larger than picows' buffer: as a socket would, in pieces
            buffer = get_buffer(-1)
            n = min(len(buffer), size - pos)
            buffer[:n] = view[pos : pos + n]
            updated(n)
            pos += n
    return listener.out  # type: ignore[no-any-return]


def picows_driver(peer: str, work: Workload) -> Driver:
    return (lambda: open_picows()[:2]), feed_picows


DRIVERS: dict[str, Callable[[str, Workload], Driver]] = {
    "framer-compiled": framer_driver,
    "framer-pure": framer_driver,
    "wsproto": wsproto_driver,
    "websockets": websockets_driver,
    "aiohttp": aiohttp_driver,
    "picows": picows_driver,
}


def bench_receive(
    benchmark: Any, run_batches: Callable[..., Any], row: str, feed: str, peer: str
) -> None:
    need(peer)
    work = workload(row)
    chunks = work.chunks(feed)
    setup, target = DRIVERS[peer](peer, work)
    check_messages(peer, work, target(*setup(), chunks))
    benchmark.group = f"receive {row} {feed}"
    benchmark.extra_info.update(
        section="receive", row=row, label=work.name, feed=feed, peer=peer,
        messages=work.count, bytes=work.payload_bytes,
    )
    run_batches(target, lambda: (*setup(), chunks))


FEEDS = pytest.mark.parametrize("feed", ["frames", "64k"])
ALL_PEERS = pytest.mark.parametrize("peer", PEERS)


@FEEDS
@ALL_PEERS
def test_receive_text64(benchmark: Any, run_batches: Any, feed: str, peer: str) -> None:
    """1000 x 64 B ASCII text, one frame each: per-message overhead (header, event, str)."""
    bench_receive(benchmark, run_batches, "text64", feed, peer)


@FEEDS
@ALL_PEERS
def test_receive_bin1k(benchmark: Any, run_batches: Any, feed: str, peer: str) -> None:
    """1000 x 1 KiB binary, one frame each: per-message overhead plus an unmask of 1 KiB."""
    bench_receive(benchmark, run_batches, "bin1k", feed, peer)


@FEEDS
@ALL_PEERS
def test_receive_bin128k(benchmark: Any, run_batches: Any, feed: str, peer: str) -> None:
    """100 x 128 KiB binary in 4 x 32 KiB frames: copies and unmasking dominate."""
    bench_receive(benchmark, run_batches, "bin128k", feed, peer)


@FEEDS
@ALL_PEERS
def test_receive_text128k(benchmark: Any, run_batches: Any, feed: str, peer: str) -> None:
    """100 x 128 KiB UTF-8 text, ~5 % multibyte characters, 4 x 32 KiB frames (some split
    inside a character): UTF-8 validation across frame boundaries dominates."""
    bench_receive(benchmark, run_batches, "text128k", feed, peer)
