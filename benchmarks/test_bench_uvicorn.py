"""uvicorn echo: FramerWSProtocol against uvicorn's own WebSocket protocol classes.

One ASGI echo app, served by uvicorn (httptools HTTP, one worker) once per
``ws=`` class and compression setting, each server in its own subprocess pinned to CPU 0;
the load generator (_server_harness's lean asyncio client: pre-masked
frames, the next one written from ``data_received`` when the echo is complete)
runs in this process, pinned to CPU 1.  For each case, 10 or 100 connections
send 64 B or 32 KiB text messages one at a time per connection.  In a round
each class has its connections open and the classes take ``SLICES`` turns, each
sending a slice of its messages (so that the load of other work on a shared
machine falls on every class alike), each round starting with the next class.
Two figures per class, each the best of ``ROUNDS`` rounds:

* messages per second (wall clock), and framer's ratio to the fastest of
  uvicorn's classes in the same run;
* the server process's CPU time per message (its threads' time on a CPU, from
  ``/proc/PID/task/*/schedstat``), and the leanest peer's time over framer's:
  the ratio of the rates each server would reach on a CPU of its own.  On a
  machine shared with other work the wall-clock rate is also the server's
  share of its CPU, which changes from round to round; the CPU time per
  message moves much less.

Peers: ``websockets`` (uvicorn's legacy websockets protocol),
``websockets-sansio`` and ``wsproto``.

Compression on: every server runs with ``ws_per_message_deflate=True``; the
client offers ``permessage-deflate; client_max_window_bits`` as browsers do
(context takeover both ways, each server with its own class's compression
settings), checks that the server accepted it, and sends each message
compressed by zlib (RSV1); a reply is complete at its final frame.  The
payload is text of words (about 3:1 with zlib), not one repeated byte, so zlib
has work to do.  The client compresses every message once, the same bytes for
every class: zlib's default level and memLevel, with a window of
``CLIENT_WINDOW_BITS``, the smallest any class asks of a client, so the bytes
are within every class's agreement (each is checked and printed).

Run:   pytest benchmarks/test_bench_uvicorn.py --benchmark-only -s
Quick: FRAMER_BENCH_QUICK=1 pytest benchmarks/test_bench_uvicorn.py --benchmark-only -s
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple, Optional

import pytest
from _harness import QUICK, frame_header
from _server_harness import EchoClient, ServerProcess, client_text_frame, close_all, connect, roundtrips

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
TOTAL = {64: 4000 if QUICK else 20000, 32 * 1024: 1000 if QUICK else 4000}
ROUNDS = 1 if QUICK else 5
#: Turns per round: the classes take turns, each running a slice of its
#: messages, so that the load of other work on the machine falls on all alike.
SLICES = 1 if QUICK else 8
SERVER_CPU, CLIENT_CPU = 0, 1
#: The window the client compresses with: websockets-sansio's class answers
#: ``client_max_window_bits=12``, the others leave the client 15 (RFC 7692
#: section 7.1.2.2); a stream with a 12-bit window is valid under all of them.
CLIENT_WINDOW_BITS = 12
_CLIENT_BITS = re.compile(r"client_max_window_bits\s*=\s*\"?(\d+)")

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
    if deflate:  # RFC 7692 section 7.2.1: compressed, sync flush tail removed, RSV1
        z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -CLIENT_WINDOW_BITS)
        payload = (z.compress(payload) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]
    return client_text_frame(payload, rsv1=deflate)


def _words(size: int) -> bytes:
    """``size`` bytes of text made of words: the same for every peer."""
    rng = random.Random(size)
    vocabulary = [bytes(rng.choices(range(97, 123), k=rng.randint(2, 9))) for _ in range(500)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(vocabulary) + b" "
    return bytes(out[:size])


class _DeflateClient(EchoClient):
    """The lean client offering permessage-deflate; a reply is complete at its FIN frame.

    The reply's size depends on the server's compressor, so frames are parsed
    (their headers only) and each complete reply is handed to ``EchoClient`` as
    one byte, with ``expect`` = 1.  32 KiB compressed both ways on a loaded
    machine can take a second per message per connection (100 connections).
    """

    seconds_per_message = 1.0
    extensions = "permessage-deflate; client_max_window_bits"

    def __init__(self, path: str) -> None:
        super().__init__(path, 1)
        self.pending = bytearray()
        self.agreed = ""  # the server's Sec-WebSocket-Extensions

    def check_response(self, head: bytes) -> Optional[str]:
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-extensions":
                self.agreed = value.strip()
        bits = _CLIENT_BITS.search(self.agreed)
        if "permessage-deflate" not in self.agreed:
            return f"no permessage-deflate: {head.rstrip()!r}"
        if bits and int(bits.group(1)) < CLIENT_WINDOW_BITS:
            return f"client window below ours: {head.rstrip()!r}"
        return super().check_response(head)

    def received(self, data: bytes) -> None:
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
                super().received(b"\x00")


def _reply_size(size: int) -> int:
    return len(frame_header(0x1, True, size, None)) + size


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ServerProcess]]:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs: server and client each on their own")
    procs = {
        f"{name}{'+deflate' if deflate else ''}": ServerProcess(
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


class _Sample(NamedTuple):
    """One class's round: its rate and its server's CPU time per message."""

    msgs_per_s: float
    cpu_us_per_msg: float
    agreed: str  # the permessage-deflate parameters the server answered, or ""


def _cpu_seconds(proc: ServerProcess) -> float:
    """CPU time ``proc``'s threads have run so far, in nanoseconds' precision.

    The first field of ``/proc/PID/task/TID/schedstat`` is the time the thread
    has spent on a CPU (the kernel's sched-stats.rst); ``/proc/PID/stat``'s
    utime and stime count only 10 ms ticks.
    """
    tasks = Path(f"/proc/{proc.proc.pid}/task")
    return sum(int((task / "schedstat").read_text().split()[0]) for task in tasks.iterdir()) / 1e9


class _Session:
    """One class's connections for a round, each with its frame, and what they took."""

    def __init__(self, proc: ServerProcess, clients: list[EchoClient], frames: list[bytes], agreed: str) -> None:
        self.proc = proc
        self.clients = clients
        self.frames = frames
        self.agreed = agreed
        self.messages = 0
        self.elapsed = 0.0  # wall-clock seconds of this class's slices
        self.cpu = 0.0  # its server's CPU seconds during them

    async def slice(self, each: int) -> None:
        """``each`` round trips on every connection, timed and counted."""
        cpu = _cpu_seconds(self.proc)
        start = time.perf_counter()
        latencies = await roundtrips(self.clients, self.frames, each)
        self.elapsed += time.perf_counter() - start
        self.cpu += _cpu_seconds(self.proc) - cpu
        assert len(latencies) == each * len(self.clients)
        self.messages += len(latencies)

    def sample(self) -> _Sample:
        return _Sample(self.messages / self.elapsed, self.cpu / self.messages * 1e6, self.agreed)

    def close(self) -> None:
        close_all(self.clients)


async def _session(proc: ServerProcess, connections: int, size: int, deflate: bool) -> _Session:
    clients: list[EchoClient]
    agreed = ""
    if deflate:
        deflating = await connect(proc.port, lambda: _DeflateClient("/"), connections)
        agreed = deflating[0].agreed
        clients = list(deflating)
        payload = _words(size)
    else:
        clients = await connect(proc.port, lambda: EchoClient("/", _reply_size(size)), connections)
        payload = b"x" * size
    frames = [_masked_text(payload, deflate) for _ in clients]
    await roundtrips(clients, frames, 5)  # warm-up
    return _Session(proc, clients, frames, agreed)


async def _round(procs: dict[str, ServerProcess], connections: int, size: int, deflate: bool) -> dict[str, _Sample]:
    """One round: every class's ``TOTAL[size]`` messages, in ``SLICES`` turns taken in ``procs``' order."""
    sessions = {name: await _session(proc, connections, size, deflate) for name, proc in procs.items()}
    try:
        for _ in range(SLICES):
            for session in sessions.values():
                await session.slice(TOTAL[size] // connections // SLICES)
    finally:
        for session in sessions.values():
            session.close()
    return {name: session.sample() for name, session in sessions.items()}


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
@pytest.mark.parametrize(("connections", "size"), CASES, ids=[f"{c}conn-{s}B" for c, s in CASES])
def test_uvicorn_echo(
    benchmark: Any, servers: dict[str, ServerProcess], connections: int, size: int, deflate: bool
) -> None:
    """Echo through uvicorn: messages per second and server CPU per message per ws= class,
    framer's ratios to the fastest peer."""
    best: dict[str, float] = {}
    cpu: dict[str, float] = {}
    agreed: dict[str, str] = {}
    names = list(PEERS)
    turn = iter(range(ROUNDS))

    def run() -> None:
        first = next(turn) % len(names)
        order = names[first:] + names[:first]
        procs = {name: servers[f"{name}{'+deflate' if deflate else ''}"] for name in order}
        for name, sample in asyncio.run(_round(procs, connections, size, deflate)).items():
            best[name] = max(best.get(name, 0.0), sample.msgs_per_s)
            cpu[name] = min(cpu.get(name, float("inf")), sample.cpu_us_per_msg)
            agreed[name] = sample.agreed

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    peers = [name for name in names if name != "framer"]
    fastest_peer = max(peers, key=best.__getitem__)
    ratio = best["framer"] / best[fastest_peer]
    leanest_peer = min(peers, key=cpu.__getitem__)
    cpu_ratio = cpu[leanest_peer] / cpu["framer"]
    benchmark.extra_info.update(
        {
            "connections": connections,
            "size": size,
            "deflate": deflate,
            "msgs_per_s": best,
            "ratio": ratio,
            "fastest_peer": fastest_peer,
            "server_cpu_us_per_msg": cpu,
            "cpu_ratio": cpu_ratio,
            "leanest_peer": leanest_peer,
            "agreed": agreed,
        }
    )
    mode = "deflate" if deflate else "plain"
    rates = ", ".join(f"{name} {rate:,.0f}" for name, rate in best.items())
    costs = ", ".join(f"{name} {cpu[name]:,.0f}" for name in names)
    print(f"\n[uvicorn echo {mode} {connections} conn x {size} B, best of {ROUNDS}]")
    print(f"  msg/s: {rates}; framer/{fastest_peer} = {ratio:.2f}x")
    print(f"  server CPU us/msg: {costs}; {leanest_peer}/framer = {cpu_ratio:.2f}x")
    if deflate:
        print("  agreed: " + "; ".join(f"{name} [{agreed[name]}]" for name in names))
    assert all(rate > 0 for rate in best.values())
    assert all(cost > 0 for cost in cpu.values())
