"""uvicorn echo: FramerWSProtocol against uvicorn's own WebSocket protocol classes.

One ASGI echo app, served by uvicorn (httptools HTTP, one worker, compression
off) once per ``ws=`` class, each server in its own subprocess pinned to CPU 0;
the load generator (test_bench_server's lean asyncio client: pre-masked
frames, the next one written from ``data_received`` when the echo is complete)
runs in this process, pinned to CPU 1.  For each case, 10 or 100 connections
send 64 B or 32 KiB text messages one at a time per connection; the figure
is messages per second, the best of ``ROUNDS`` rounds, and the ratio is
framer's against the fastest of uvicorn's classes measured in the same run.

Peers: ``websockets`` (uvicorn's legacy websockets protocol),
``websockets-sansio`` and ``wsproto``.  permessage-deflate is not measured:
framer's engine does not negotiate it yet.

Run:   pytest benchmarks/test_bench_uvicorn.py --benchmark-only -s
Quick: FRAMER_BENCH_QUICK=1 pytest benchmarks/test_bench_uvicorn.py --benchmark-only -s
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _harness import QUICK, frame_header, xor_mask
from test_bench_server import _open, _Process

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
config = uvicorn.Config(echo, http="httptools", ws={ws!r}, ws_per_message_deflate=False,
                        lifespan="off", log_level="warning", ws_max_size=1 << 20,
                        ws_ping_interval=None)  # the load generator counts reply bytes: no pings
uvicorn.Server(config).run(sockets=[sock])
"""


def _masked_text(payload: bytes) -> bytes:
    key = os.urandom(4)
    return frame_header(0x1, True, len(payload), key) + xor_mask(payload, key)


def _reply_size(size: int) -> int:
    return len(frame_header(0x1, True, size, None)) + size


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, _Process]]:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs: server and client each on their own")
    procs = {name: _Process(SERVER.format(cpu=SERVER_CPU, ws=ws)) for name, ws in PEERS.items()}
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {CLIENT_CPU})
    try:
        yield procs
    finally:
        os.sched_setaffinity(0, previous)
        for proc in procs.values():
            proc.stop()


async def _round(port: int, connections: int, size: int) -> float:
    clients = await _open(port, "/", connections, _reply_size(size))
    payload = b"x" * size
    frames = [_masked_text(payload) for _ in clients]
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


@pytest.mark.parametrize(("connections", "size"), CASES, ids=[f"{c}conn-{s}B" for c, s in CASES])
def test_uvicorn_echo(benchmark: Any, servers: dict[str, _Process], connections: int, size: int) -> None:
    """Echo through uvicorn: messages per second per ws= class, framer's ratio to the fastest peer."""
    best: dict[str, float] = {}

    def run() -> None:
        for name, proc in servers.items():
            rate = asyncio.run(_round(proc.port, connections, size))
            best[name] = max(best.get(name, 0.0), rate)

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    fastest_peer = max((name for name in best if name != "framer"), key=best.__getitem__)
    ratio = best["framer"] / best[fastest_peer]
    benchmark.extra_info.update(
        {"connections": connections, "size": size, "msgs_per_s": best, "ratio": ratio, "fastest_peer": fastest_peer}
    )
    rates = ", ".join(f"{name} {rate:,.0f}" for name, rate in best.items())
    print(f"\n[uvicorn echo {connections} conn x {size} B] msg/s: {rates}; framer/{fastest_peer} = {ratio:.2f}x")
    assert all(rate > 0 for rate in best.values())
