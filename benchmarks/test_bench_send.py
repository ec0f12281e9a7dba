"""Server send: messages in, wire bytes out, per peer.

Each round sends one batch from an open server-side connection (made by
``setup``, outside the timed region) and keeps what the peer produced until
the round ends.  The timed loop includes what a caller must do per message
with each API: framer calls ``send_text``/``send_bytes`` (one ``bytes`` per
message, no event to build) and, for 128 KiB messages, ``send_bytes_parts``
(frame headers + views of the payload for ``writelines``: a socket's writev,
like picows below); wsproto builds a ``TextMessage``/``BytesMessage`` event
and gets ``bytes`` back; websockets gets ``str.encode()`` then
``send_text``/``send_binary`` and ``data_to_send()``; aiohttp's
``WebSocketWriter._write_websocket_frame`` (what ``send_str``/``send_bytes``
end in, after ``encode()``) writes to a fake transport; picows'
``WSTransport.send`` writes to a fake transport too (frames over 8 KiB go out
as a header view + the payload through ``writelines``, kept uncopied: a
socket's writev).

128 KiB messages go out as 4 x 32 KiB frames: framer fragments them itself at
its ``max_frame_size``; for websockets and picows the harness sends four
frames (memoryview slices, FIN on the last); aiohttp's writer always sets FIN,
so it cannot fragment and is skipped on that row.

Before timing, each peer's output is re-parsed by an independent parser
(``_harness.parse_server_stream``): opcodes, FIN bits, frame sizes and
payloads must all match the messages.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from _harness import (
    FRAME_SIZE,
    MESSAGE_SIZE,
    PEERS,
    FakeTransport,
    FlowControl,
    Workload,
    check_sent,
    need,
    open_framer,
    open_picows,
    open_websockets,
    open_wsproto,
    workload,
)

Setup = Callable[[], tuple[Any, ...]]
# (setup, send a batch, the batch's output as wire bytes, setup for the output check)
Driver = tuple[Setup, Callable[..., Any], Callable[[Any], bytes], Setup]


def _join(out: Any) -> bytes:
    return b"".join(bytes(x) for x in out)


# -- framer / wsproto: send(event) -> bytes ----------------------------------------


def send_events(conn: Any, messages: tuple[Any, ...], text: bool, message_types: Any) -> list[bytes]:
    text_message, bytes_message = message_types
    out: list[bytes] = []
    append = out.append
    send = conn.send
    if text:
        for m in messages:
            append(send(text_message(data=m)))
    else:
        for m in messages:
            append(send(bytes_message(data=m)))
    return out


def send_framer(conn: Any, messages: tuple[Any, ...], text: bool) -> list[bytes]:
    out: list[bytes] = []
    append = out.append
    send = conn.send_text if text else conn.send_bytes
    for m in messages:
        append(send(m))
    return out


def send_framer_parts(conn: Any, messages: tuple[bytes, ...], text: bool) -> list[Any]:
    out: list[Any] = []
    extend = out.extend
    send = conn.send_bytes_parts
    for m in messages:
        extend(send(m))
    return out


def framer_driver(peer: str, work: Workload) -> Driver:
    impl = peer.split("-", 1)[1]
    fragmented = work.payload_bytes // work.count > FRAME_SIZE

    def setup() -> tuple[Any, ...]:
        return open_framer(impl, work.text), work.messages, work.text

    return setup, send_framer_parts if fragmented else send_framer, _join, setup


def wsproto_driver(peer: str, work: Workload) -> Driver:
    from wsproto.events import BytesMessage, TextMessage

    types = (TextMessage, BytesMessage)
    if work.payload_bytes // work.count > FRAME_SIZE:
        # wsproto sends one frame per send(): a message in pieces is sent as
        # message_finished=False events, one per 32 KiB piece.
        def setup() -> tuple[Any, ...]:
            return open_wsproto(), work.messages, types

        return setup, send_wsproto_fragmented, _join, setup

    def setup_plain() -> tuple[Any, ...]:
        return open_wsproto(), work.messages, work.text, types

    return setup_plain, send_events, _join, setup_plain


def send_wsproto_fragmented(conn: Any, messages: tuple[bytes, ...], types: Any) -> list[bytes]:
    bytes_message = types[1]
    out: list[bytes] = []
    append = out.append
    send = conn.send
    step = FRAME_SIZE
    for m in messages:
        view = memoryview(m)
        last = len(m) - step
        for i in range(0, len(m), step):
            append(send(bytes_message(data=view[i : i + step], message_finished=i >= last)))
    return out


# -- websockets: send_*() + data_to_send() ---------------------------------------------


def send_websockets(proto: Any, messages: tuple[Any, ...], text: bool) -> list[bytes]:
    if text:
        send_text = proto.send_text
        for m in messages:
            send_text(m.encode())
    else:
        send_binary = proto.send_binary
        for m in messages:
            send_binary(m)
    return proto.data_to_send()  # type: ignore[no-any-return]


def send_websockets_fragmented(proto: Any, messages: tuple[bytes, ...], text: bool) -> list[bytes]:
    send_binary = proto.send_binary
    send_continuation = proto.send_continuation
    step = FRAME_SIZE
    for m in messages:
        view = memoryview(m)
        last = len(m) - step
        send_binary(view[:step], fin=False)
        for i in range(step, len(m), step):
            send_continuation(view[i : i + step], fin=i >= last)
    return proto.data_to_send()  # type: ignore[no-any-return]


def websockets_driver(peer: str, work: Workload) -> Driver:
    fragmented = work.payload_bytes // work.count > FRAME_SIZE

    def setup() -> tuple[Any, ...]:
        return open_websockets(), work.messages, work.text

    return setup, send_websockets_fragmented if fragmented else send_websockets, _join, setup


# -- aiohttp: WebSocketWriter._write_websocket_frame -> transport.write ----------------------


def send_aiohttp(writer: Any, transport: FakeTransport, messages: tuple[Any, ...], text: bool) -> list[Any]:
    write = writer._write_websocket_frame
    if text:
        for m in messages:
            write(m.encode("utf-8"), 1, 0)
    else:
        for m in messages:
            write(m, 2, 0)
    return transport.out


def aiohttp_driver(peer: str, work: Workload) -> Driver:
    if work.payload_bytes // work.count > FRAME_SIZE:
        pytest.skip("aiohttp's WebSocketWriter always sets FIN: it cannot send a message in 32 KiB frames")
    from aiohttp.http_websocket import WebSocketWriter

    def setup() -> tuple[Any, ...]:
        transport = FakeTransport()
        return WebSocketWriter(FlowControl(), transport), transport, work.messages, work.text  # type: ignore[arg-type]

    return setup, send_aiohttp, _join, setup


# -- picows: WSTransport.send -> transport.write -------------------------------------------


def send_picows(ws: Any, transport: FakeTransport, messages: tuple[Any, ...], msg_type: Any) -> list[Any]:
    send = ws.send
    for m in messages:
        send(msg_type, m)
    return transport.out


def send_picows_fragmented(ws: Any, transport: FakeTransport, messages: tuple[bytes, ...], types: Any) -> list[Any]:
    binary, continuation = types
    send = ws.send
    step = FRAME_SIZE
    for m in messages:
        view = memoryview(m)
        last = len(m) - step
        send(binary, view[:step], False)
        for i in range(step, len(m), step):
            send(continuation, view[i : i + step], i >= last)
    return transport.out


def picows_driver(peer: str, work: Workload) -> Driver:
    from picows import WSMsgType

    fragmented = work.payload_bytes // work.count > FRAME_SIZE
    arg: Any = WSMsgType.TEXT if work.text else WSMsgType.BINARY
    if fragmented:
        arg = (WSMsgType.BINARY, WSMsgType.CONTINUATION)
    driver = send_picows_fragmented if fragmented else send_picows

    def setup(copy: bool = False) -> tuple[Any, ...]:
        proto, transport = open_picows(copy=copy)
        return proto.transport, transport, work.messages, arg

    # The check needs the views given to writelines copied as they are written.
    return setup, driver, _join, lambda: setup(copy=True)


DRIVERS: dict[str, Callable[[str, Workload], Driver]] = {
    "framer-compiled": framer_driver,
    "framer-pure": framer_driver,
    "wsproto": wsproto_driver,
    "websockets": websockets_driver,
    "aiohttp": aiohttp_driver,
    "picows": picows_driver,
}


def bench_send(benchmark: Any, run_batches: Callable[..., Any], row: str, peer: str) -> None:
    need(peer)
    work = workload(row, send=True)
    setup, target, wire, checked_setup = DRIVERS[peer](peer, work)
    max_frame = FRAME_SIZE if work.payload_bytes // work.count > FRAME_SIZE else MESSAGE_SIZE
    check_sent(peer, work, wire(target(*checked_setup())), max_frame)
    benchmark.group = f"send {row}"
    benchmark.extra_info.update(
        section="send", row=row, label=work.name, feed="", peer=peer,
        messages=work.count, bytes=work.payload_bytes,
    )
    run_batches(target, setup)


ALL_PEERS = pytest.mark.parametrize("peer", PEERS)


@ALL_PEERS
def test_send_text64(benchmark: Any, run_batches: Any, peer: str) -> None:
    """1000 x 64 B text (str in): per-message overhead, UTF-8 encoding, a 2-byte header."""
    bench_send(benchmark, run_batches, "text64", peer)


@ALL_PEERS
def test_send_bin1k(benchmark: Any, run_batches: Any, peer: str) -> None:
    """1000 x 1 KiB binary: per-message overhead plus building header + payload."""
    bench_send(benchmark, run_batches, "bin1k", peer)


@ALL_PEERS
def test_send_bin128k(benchmark: Any, run_batches: Any, peer: str) -> None:
    """100 x 128 KiB binary as 4 x 32 KiB frames: fragmentation and payload copies."""
    bench_send(benchmark, run_batches, "bin128k", peer)
