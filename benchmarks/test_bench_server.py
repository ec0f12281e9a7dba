"""Server benchmarks: framer's gateway server against a websockets echo server.

Each server runs in its own subprocess (so the load generator does not share
its GIL) on 127.0.0.1 with an ephemeral port.  The load generator is a lean
asyncio client that sends pre-masked frames and counts reply bytes, so the
figures measure the servers, not a client library: each client's round trips
are driven from ``data_received`` (the reply's arrival writes the next frame),
with no task wake-up and no ``wait_for`` timer per message, so one client
process can load a server well past 20000 messages per second.

- echo: N concurrent clients, each sending M 64-byte text messages one at a
  time and waiting for the echo; reports messages per second and latency
  percentiles (``extra_info`` in the pytest-benchmark JSON).
- memory: RSS growth of the server process for 1000 idle connections.

framer serves its demo API (``$default`` echoes through a two-way route, so
every message runs route selection, throttling, a Lambda-proxy event and a
handler).  The demo throttles at API Gateway's default quotas (10000 requests
per second per account and per stage, burst 5000), which this benchmark would
exceed by design: the server process raises them to a million, so throttling
is still checked on every message but never refuses one (each reply must be
the 66-byte echo).

Run:   pytest benchmarks/test_bench_server.py --benchmark-only -s
Quick: FRAMER_BENCH_QUICK=1 pytest benchmarks/test_bench_server.py --benchmark-only -s
"""

from __future__ import annotations

import asyncio
import base64
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

QUICK = os.environ.get("FRAMER_BENCH_QUICK", "").lower() in ("1", "true", "yes")
CLIENTS = 10 if QUICK else 100
MESSAGES = 200 if QUICK else 1000  # per client per round
ROUNDS = 1 if QUICK else 3
IDLE_CONNECTIONS = 200 if QUICK else 1000
PAYLOAD = b"x" * 64

ROOT = Path(__file__).resolve().parent.parent

FRAMER_SERVER = (ROOT / "tests" / "server" / "unthrottled_demo.py").read_text()

WEBSOCKETS_SERVER = """
import asyncio, logging
from websockets.asyncio.server import serve
logging.disable(logging.CRITICAL)
async def echo(ws):
    async for message in ws:
        await ws.send(message)
async def main():
    async with serve(echo, "127.0.0.1", 0, compression=None, max_size=131072) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
"""

SERVERS = {"framer": (FRAMER_SERVER, "/dev"), "websockets": (WEBSOCKETS_SERVER, "/")}


class _Process:
    def __init__(self, code: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, env=env, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("benchmark server failed to start")
        self.port = int(line)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request: Any) -> Iterator[tuple[str, _Process, str]]:
    code, path = SERVERS[request.param]
    proc = _Process(code)
    yield request.param, proc, path
    proc.stop()


def _masked_text_frame(payload: bytes) -> bytes:
    assert len(payload) < 126
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + body


class _Client(asyncio.Protocol):
    """Handshake, then count reply bytes; one outstanding message at a time."""

    #: How long :meth:`roundtrips` waits per message before giving up on the
    #: server: a guard against a hung server, not a timing assertion.
    seconds_per_message = 0.05

    def __init__(self, path: str, expect: int) -> None:
        self.path = path
        self.expect = expect
        self.head = bytearray()
        self.handshaken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done: Optional[asyncio.Future[None]] = None
        self.got = 0
        self.transport: Any = None
        self.frame = b""
        self.remaining = 0
        self.sent_at = 0.0
        self.latencies: list[float] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        if not self.handshaken.done():
            self.head += data
            if b"\r\n\r\n" in self.head:
                if not self.head.startswith(b"HTTP/1.1 101"):
                    self.handshaken.set_exception(RuntimeError(self.head[:80].decode()))
                else:
                    self.handshaken.set_result(None)
            return
        self.got += len(data)
        if self.got >= self.expect and self.remaining:
            # One reply complete: record it, send the next message right away.
            now = time.perf_counter()
            self.got -= self.expect
            self.latencies.append(now - self.sent_at)
            self.remaining -= 1
            if self.remaining:
                self.sent_at = now
                self.transport.write(self.frame)
            elif self.done is not None and not self.done.done():
                self.done.set_result(None)

    async def roundtrips(self, frame: bytes, count: int, latencies: list[float]) -> None:
        """``count`` round trips, one at a time; latencies appended to ``latencies``."""
        self.frame, self.remaining, self.latencies = frame, count, latencies
        self.done = asyncio.get_running_loop().create_future()
        self.sent_at = time.perf_counter()
        self.transport.write(frame)
        await asyncio.wait_for(self.done, 10 + count * self.seconds_per_message)
        # Every reply was exactly one echo of the frame: nothing left over.
        assert self.got == 0, f"{self.got} unexpected reply bytes"


async def _open(port: int, path: str, n: int, expect: int) -> list[_Client]:
    loop = asyncio.get_running_loop()
    clients = []
    for _ in range(n):
        _, client = await loop.create_connection(lambda: _Client(path, expect), "127.0.0.1", port)
        await asyncio.wait_for(client.handshaken, 10)
        clients.append(client)
    return clients


async def _echo_load(port: int, path: str) -> dict[str, float]:
    clients = await _open(port, path, CLIENTS, 2 + len(PAYLOAD))
    frames = [_masked_text_frame(PAYLOAD) for _ in clients]
    latencies: list[float] = []
    # Warm up, then measure.
    await asyncio.gather(*(c.roundtrips(f, 20, []) for c, f in zip(clients, frames)))
    t0 = time.perf_counter()
    await asyncio.gather(*(c.roundtrips(f, MESSAGES, latencies) for c, f in zip(clients, frames)))
    elapsed = time.perf_counter() - t0
    for c in clients:
        c.transport.close()
    latencies.sort()
    return {
        "msgs_per_s": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
    }


def test_echo_throughput(benchmark: Any, server: tuple[str, _Process, str]) -> None:
    """Echo over loopback: CLIENTS concurrent clients x MESSAGES round trips of 64 B."""
    name, proc, path = server
    results: list[dict[str, float]] = []

    def run() -> None:
        results.append(asyncio.run(_echo_load(proc.port, path)))

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    best = max(results, key=lambda r: r["msgs_per_s"])
    benchmark.extra_info.update({"server": name, "clients": CLIENTS, "messages_per_client": MESSAGES, **best})
    print(
        f"\n[{name}] echo {CLIENTS} clients: {best['msgs_per_s']:.0f} msg/s, "
        f"p50 {best['p50_ms']:.2f} ms, p99 {best['p99_ms']:.2f} ms"
    )
    assert best["msgs_per_s"] > 0


async def _idle(port: int, path: str, proc: _Process) -> float:
    await asyncio.sleep(0.3)
    before = proc.rss_kib()
    clients = await _open(port, path, IDLE_CONNECTIONS, 1 << 30)
    await asyncio.sleep(1.0)
    after = proc.rss_kib()
    for c in clients:
        c.transport.close()
    await asyncio.sleep(0.2)
    return (after - before) * 1024 / IDLE_CONNECTIONS


def test_memory_per_idle_connection(benchmark: Any, server: tuple[str, _Process, str]) -> None:
    """RSS growth of the server per idle, handshaken connection."""
    name, proc, path = server
    results: list[float] = []

    def run() -> None:
        results.append(asyncio.run(_idle(proc.port, path, proc)))

    benchmark.pedantic(run, rounds=1, iterations=1)
    per_conn = results[0]
    benchmark.extra_info.update({"server": name, "connections": IDLE_CONNECTIONS, "bytes_per_connection": per_conn})
    print(f"\n[{name}] memory: {per_conn / 1024:.1f} KiB per idle connection ({IDLE_CONNECTIONS} connections)")
