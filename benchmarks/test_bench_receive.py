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

from typing import Any, Callable

import pytest
from _harness import (
    PEERS,
    Workload,
    check_messages,
    need,
    open_aiohttp,
    open_framer,
    open_picows,
    open_websockets,
    open_wsproto,
    workload,
)

Setup = Callable[[], tuple[Any, ...]]
Driver = tuple[Setup, Callable[..., list[Any]]]


# -- framer -------------------------------------------------------------------


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
    collector = picows_listener_class()

    def setup() -> tuple[Any, Any]:
        listener = collector()
        return open_picows(listener)[0], listener

    return setup, feed_picows


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
