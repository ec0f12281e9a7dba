"""uvicorn echo: FramerWSProtocol against uvicorn's own WebSocket protocol classes.

One ASGI echo app, served by uvicorn (httptools HTTP, one worker) once per
``ws=`` class and compression setting, each server in its own subprocess pinned to CPU 0;
the load generator (test_bench_server's lean asyncio client: pre-masked
frames, the next one written from ``data_received`` when the echo is complete)
runs in this process, pinned to CPU 1.  For each case, 10 or 100 connections
send 64 B or 32 KiB text messages one at a time per connection; the figure
is messages per second, the best of ``ROUNDS`` rounds, and the ratio is
framer's against the fastest of uvicorn's classes measured in the same run.

Peers: ``websockets`` (uvicorn's legacy websockets protocol),
``websockets-sansio`` and ``wsproto``.

Compression on: every server runs with ``ws_per_message_deflate=True``; the
client offers ``permessage-deflate; client_max_window_bits`` as browsers do
(context takeover both ways, each peer's own compression settings), checks
that the server accepted it, and sends each message compressed by zlib (RSV1);
a reply is complete at its final frame.  The payload is text of words (about
3:1 with zlib), not one repeated byte, so zlib has work to do.

Run:   pytest benchmarks/test_bench_uvicorn.py --benchmark-only -s
Quick: FRAMER_BENCH_QUICK=1 pytest benchmarks/test_bench_uvicorn.py --benchmark-only -s
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from _harness import QUICK, frame_header, xor_mask
from test_bench_server import _Client, _open, _Process

pytest.importorskip("uvicorn")
pytest.importorskip("httptools")

PEERS = {
    "framer": "framer.uvicorn:FramerWSProtocol",
    "websockets": "websockets",
    "websockets-sansio": "websockets-sansio",
    "wsproto": "wsproto",
}
CASES = [(10, 64), (100, 64), (10, 32 * 1024), (100, 32 * 1024)]
#: Messages per round, over all connections, by message size.
TOTAL = {64: 4000 if QUICK else 40000, 32 * 1024: 1000 if QUICK else 8000}
ROUNDS = 1 if QUICK else 3
SERVER_CPU, CLIENT_CPU = 0, 1

SERVER = """
import asyncio, os, socket, uvicorn
os.sched_setaffinity(0, {{{cpu}}})

async def echo(scope, receive, send):
    await receive()
    await send({{"type": "websocket.accept"}})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({{"type": "websocket.send", "text": message.get("text"), "bytes": message.get("bytes")}})

sock = socket.socket()
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
config = uvicorn.Config(echo, http="httptools", ws={ws!r}, ws_per_message_deflate={deflate},
                        lifespan="off", log_level="warning", ws_max_size=1 << 20,
                        ws_ping_interval=None)  # the load generator counts reply bytes: no pings
uvicorn.Server(config).run(sockets=[sock])
"""


def _masked_text(payload: bytes, deflate: bool) -> bytes:
    opcode = 0x1
    if deflate:  # RFC 7692 section 7.2.1: compressed, sync flush tail removed, RSV1
        z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        payload = (z.compress(payload) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]
        opcode |= 0x40
    key = os.urandom(4)
    return frame_header(opcode, True, len(payload), key) + xor_mask(payload, key)


def _words(size: int) -> bytes:
    """``size`` bytes of text made of words: the same for every peer."""
    rng = random.Random(size)
    vocabulary = [bytes(rng.choices(range(97, 123), k=rng.randint(2, 9))) for _ in range(500)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(vocabulary) + b" "
    return bytes(out[:size])


class _DeflateClient(_Client):
    """The lean client offering permessage-deflate; a reply is complete at its FIN frame.

    The reply's size depends on the server's compressor, so frames are parsed
    (their headers only) and each complete reply is handed to ``_Client`` as
    one byte, with ``expect`` = 1.
    """

    def __init__(self, path: str, expect: int) -> None:
        super().__init__(path, 1)
        self.pending = bytearray()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        if not self.handshaken.done():
            self.head += data
            head = bytes(self.head).partition(b"\r\n\r\n")[0]
            if b"\r\n\r\n" in self.head and b"permessage-deflate" not in head.lower():
                self.handshaken.set_exception(RuntimeError(f"no permessage-deflate: {head!r}"))
                return
            super().data_received(data)
            return
        pending = self.pending
        pending += data
        while len(pending) >= 2:
            length, size = pending[1] & 0x7F, 2
            if length == 126:
                length, size = int.from_bytes(pending[2:4], "big"), 4
            elif length == 127:
                length, size = int.from_bytes(pending[2:10], "big"), 10
            if len(pending) < size + length:
                return
            fin = pending[0] & 0x80
            del pending[: size + length]
            if fin:
                super().data_received(b"\x00")


async def _open_deflate(port: int, connections: int) -> list[_Client]:
    loop = asyncio.get_running_loop()
    clients: list[_Client] = []
    for _ in range(connections):
        _, client = await loop.create_connection(lambda: _DeflateClient("/", 1), "127.0.0.1", port)
        await asyncio.wait_for(client.handshaken, 10)
        clients.append(client)
    return clients


def _reply_size(size: int) -> int:
    return len(frame_header(0x1, True, size, None)) + size


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, _Process]]:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs: server and client each on their own")
    procs = {
        f"{name}{'+deflate' if deflate else ''}": _Process(
            SERVER.format(cpu=SERVER_CPU, ws=ws, deflate=deflate)
        )
        for name, ws in PEERS.items()
        for deflate in (False, True)
    }
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {CLIENT_CPU})
    try:
        yield procs
    finally:
        os.sched_setaffinity(0, previous)
        for proc in procs.values():
            proc.stop()


async def _round(port: int, connections: int, size: int, deflate: bool) -> float:
    if deflate:
        clients = await _open_deflate(port, connections)
        payload = _words(size)
    else:
        clients = await _open(port, "/", connections, _reply_size(size))
        payload = b"x" * size
    frames = [_masked_text(payload, deflate) for _ in clients]
    each = TOTAL[size] // connections
    await asyncio.gather(*(c.roundtrips(f, 5, []) for c, f in zip(clients, frames)))
    latencies: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(*(c.roundtrips(f, each, latencies) for c, f in zip(clients, frames)))
    elapsed = time.perf_counter() - start
    for c in clients:
        c.transport.close()
    assert len(latencies) == each * connections
    return len(latencies) / elapsed


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
@pytest.mark.parametrize(("connections", "size"), CASES, ids=[f"{c}conn-{s}B" for c, s in CASES])
def test_uvicorn_echo(
    benchmark: Any, servers: dict[str, _Process], connections: int, size: int, deflate: bool
) -> None:
    """Echo through uvicorn: messages per second per ws= class, framer's ratio to the fastest peer."""
    best: dict[str, float] = {}

    def run() -> None:
        for name in PEERS:
            proc = servers[f"{name}{'+deflate' if deflate else ''}"]
            rate = asyncio.run(_round(proc.port, connections, size, deflate))
            best[name] = max(best.get(name, 0.0), rate)

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    fastest_peer = max((name for name in best if name != "framer"), key=best.__getitem__)
    ratio = best["framer"] / best[fastest_peer]
    benchmark.extra_info.update(
        {"connections": connections, "size": size, "deflate": deflate, "msgs_per_s": best, "ratio": ratio, "fastest_peer": fastest_peer}
    )
    rates = ", ".join(f"{name} {rate:,.0f}" for name, rate in best.items())
    mode = "deflate" if deflate else "plain"
    print(f"\n[uvicorn echo {mode} {connections} conn x {size} B] msg/s: {rates}; framer/{fastest_peer} = {ratio:.2f}x")
    assert all(rate > 0 for rate in best.values())
