"""Memory per idle WebSocket connection on one server process: 1000 and 10000.

The server (framer's demo API) runs in its own process with tracemalloc on;
this process opens N connections, completes each handshake, sends nothing,
and asks the server for its RSS (``/proc/PID/status``), the bytes tracemalloc
traces, and the bytes its engines hold (``WSConnection.buffered``, which must
be 0 for an idle connection).  Reported per connection as the growth over the
server's state before the connections, in ``extra_info`` and on stdout.

The demo's account quota allows 500 new connections per second (API
Gateway's default); the server here raises it so 10000 connections open in
seconds.  Both processes raise their soft file-descriptor limit towards the
hard one; if that is below what N needs, that N is skipped.

Run:   pytest benchmarks/test_bench_memory.py --benchmark-only -s
Quick: FRAMER_BENCH_QUICK=1 pytest benchmarks/test_bench_memory.py --benchmark-only -s
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

QUICK = os.environ.get("FRAMER_BENCH_QUICK", "").lower() in ("1", "true", "yes")
COUNTS = [100, 500] if QUICK else [1000, 10000]
ROOT = Path(__file__).resolve().parent.parent
MARGIN = 200  # descriptors besides the connections (pipes, the listener, imports)

SERVER = """
import asyncio, json, logging, resource, sys, threading, tracemalloc
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
tracemalloc.start()
from framer.asyncio import serve
from framer.demo import build_demo
from framer.router import Quotas
logging.disable(logging.CRITICAL)
demo = build_demo()
demo.gateway.quotas = Quotas(new_connections_per_second=100_000.0)

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

async def main():
    loop = asyncio.get_running_loop()
    async with serve(demo, "127.0.0.1", 0, log_messages=False) as server:
        def stats():
            protocols = list(server._protocols)
            return {
                "rss_kib": rss_kib(),
                "traced": tracemalloc.get_traced_memory()[0],
                "open": len(server._live),
                "buffered": sum(p.ws.buffered for p in protocols if p.ws is not None),
            }
        def answer():
            for line in sys.stdin:
                fut = asyncio.run_coroutine_threadsafe(asyncio.sleep(0, stats()), loop)
                print(json.dumps(fut.result()), flush=True)
        threading.Thread(target=answer, daemon=True).start()
        print(json.dumps({"port": server.port, "nofile": hard}), flush=True)
        await server.serve_forever()
asyncio.run(main())
"""


class ServerProcess:
    def __init__(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        hello = json.loads(self._line())
        self.port = int(hello["port"])
        self.nofile = int(hello["nofile"])

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("benchmark server exited")
        return line

    def stats(self) -> dict[str, int]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self._line())  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    proc = ServerProcess()
    yield proc
    proc.stop()


def _raise_own_fd_limit(needed: int) -> bool:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return True
    target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return False
    return target >= needed


class _Idle(asyncio.Protocol):
    """Handshake, then nothing."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /dev HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        if not self.opened.done():
            self.head += data
            if b"\r\n\r\n" in self.head:
                if self.head.startswith(b"HTTP/1.1 101"):
                    self.opened.set_result(None)
                else:
                    self.opened.set_exception(RuntimeError(bytes(self.head[:60]).decode()))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the handshake completed"))


async def _open_idle(port: int, count: int) -> list[_Idle]:
    loop = asyncio.get_running_loop()
    clients: list[_Idle] = []
    batch = 200
    for start in range(0, count, batch):
        made = await asyncio.gather(*(
            loop.create_connection(_Idle, "127.0.0.1", port) for _ in range(min(batch, count - start))
        ))
        opened = [client for _, client in made]
        await asyncio.wait_for(asyncio.gather(*(c.opened for c in opened)), 30)
        clients += opened
    return clients


async def _measure(server: ServerProcess, count: int) -> dict[str, float]:
    await asyncio.sleep(0.3)
    before = server.stats()
    started = time.perf_counter()
    clients = await _open_idle(server.port, count)
    opened_in = time.perf_counter() - started
    await asyncio.sleep(1.0)
    after = server.stats()
    for c in clients:
        c.transport.close()
    deadline = time.monotonic() + 30
    while server.stats()["open"] and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert after["open"] - before["open"] == count
    assert after["buffered"] == 0, "idle connections must hold no received bytes"
    return {
        "rss_bytes_per_connection": (after["rss_kib"] - before["rss_kib"]) * 1024 / count,
        "traced_bytes_per_connection": (after["traced"] - before["traced"]) / count,
        "open_seconds": opened_in,
    }


@pytest.mark.parametrize("count", COUNTS)
def test_memory_per_idle_connection(benchmark: Any, server: ServerProcess, count: int) -> None:
    """Server RSS and traced Python heap per idle, handshaken connection."""
    if server.nofile < count + MARGIN or not _raise_own_fd_limit(count + MARGIN):
        pytest.skip(f"the OS allows too few file descriptors for {count} connections")
    results: list[dict[str, float]] = []

    def run() -> None:
        results.append(asyncio.run(_measure(server, count)))

    benchmark.pedantic(run, rounds=1, iterations=1)
    result = results[0]
    benchmark.extra_info.update({"connections": count, **result})
    print(
        f"\n[framer] {count} idle connections: {result['rss_bytes_per_connection'] / 1024:.1f} KiB RSS, "
        f"{result['traced_bytes_per_connection'] / 1024:.1f} KiB traced heap per connection "
        f"(opened in {result['open_seconds']:.1f} s)"
    )
    assert result["traced_bytes_per_connection"] > 0
