"""Shared pieces of the server benchmarks: server processes and a lean load generator.

test_bench_server, test_bench_gateway_functions, test_bench_uvicorn and
test_bench_memory run each server as ``python -c CODE`` in its own process
(:class:`ServerProcess`, on 127.0.0.1 with an ephemeral port) and load it from
the test's process with :class:`UpgradeClient` connections (:func:`connect`):
a hand-written opening handshake, then raw bytes, so that the figures measure
the servers, not a client library.  :class:`EchoClient` sends pre-masked
frames and drives each client's round trips from ``data_received`` (the
reply's arrival writes the next frame), with no task wake-up and no
``wait_for`` timer per message, so one client process can load a server well
past 20000 messages per second.  Nothing here is timed but what
:func:`timed_rounds` hands to pytest-benchmark.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Coroutine, Iterator, NamedTuple, Optional, Sequence, TypeVar

import pytest
from _harness import OP_TEXT, frame_header, upgrade_request, xor_mask

ROOT = Path(__file__).resolve().parent.parent

#: A websockets asyncio echo server (the peer of framer's server), printing its port.
WEBSOCKETS_ECHO_SERVER = """
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


def unthrottled_demo() -> str:
    """The source of tests/server/unthrottled_demo.py: the demo API with its throttling raised."""
    return (ROOT / "tests" / "server" / "unthrottled_demo.py").read_text()


Process = TypeVar("Process", bound="ServerProcess")


class ServerProcess:
    """``python -c code`` with this tree on its path; its first stdout line starts with its port.

    The rest of that line (``hello``) and any later lines are the server's
    own protocol; with ``stdin`` the server also reads requests from a pipe.
    """

    def __init__(self, code: str, *, stdin: bool = False) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE if stdin else None,
            stdout=subprocess.PIPE, env=env, text=True,
        )
        self.hello = self.read_line().split()
        self.port = int(self.hello[0])

    def read_line(self) -> str:
        """The server's next stdout line; RuntimeError if it has exited."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark server exited (status {self.proc.poll()})")
        return line

    def ask(self, request: str) -> str:
        """Write one line to the server's stdin; its answer line."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(request + "\n")
        self.proc.stdin.flush()
        return self.read_line()

    def rss_kib(self) -> int:
        """The server's resident set size (``VmRSS``), in KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 20 s."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self: Process) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def client_text_frame(payload: bytes, rsv1: bool = False) -> bytes:
    """One masked text frame with a fresh key (``rsv1``: the payload is compressed, RFC 7692)."""
    key = os.urandom(4)
    return frame_header(0x41 if rsv1 else OP_TEXT, True, len(payload), key) + xor_mask(payload, key)


class UpgradeClient(asyncio.Protocol):
    """Sends the opening handshake, then hands every byte after the server's 101 to :meth:`received`.

    ``handshaken`` ends when the response head is in: with None for a 101
    that :meth:`check_response` accepts, else with the error.
    """

    #: The ``Sec-WebSocket-Extensions`` offered ("" offers none).
    extensions = ""

    def __init__(self, path: str) -> None:
        self.path = path
        self.head = bytearray()
        self.handshaken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(upgrade_request(self.path, extensions=self.extensions))

    def data_received(self, data: bytes) -> None:
        if self.handshaken.done():
            self.received(data)
            return
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            return
        head, rest = bytes(self.head[: end + 4]), bytes(self.head[end + 4 :])
        problem = self.check_response(head)
        if problem:
            self.handshaken.set_exception(RuntimeError(problem))
            return
        self.handshaken.set_result(None)
        if rest:
            self.received(rest)

    def check_response(self, head: bytes) -> Optional[str]:
        """What is wrong with the server's response head, or None."""
        if not head.startswith(b"HTTP/1.1 101"):
            return head[:80].decode("latin-1")
        return None

    def received(self, data: bytes) -> None:
        """Bytes from the server after the handshake (an idle client ignores them)."""

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if not self.handshaken.done():
            self.handshaken.set_exception(ConnectionError("closed before the handshake completed"))


class EchoClient(UpgradeClient):
    """Counts reply bytes: one outstanding message, the next written when ``expect`` bytes are back."""

    #: How long :meth:`roundtrips` waits per message before giving up on the
    #: server: a guard against a hung server, not a timing assertion.
    seconds_per_message = 0.05

    def __init__(self, path: str, expect: int) -> None:
        super().__init__(path)
        self.expect = expect
        self.done: Optional[asyncio.Future[None]] = None
        self.got = 0
        self.frame = b""
        self.remaining = 0
        self.sent_at = 0.0
        self.latencies: list[float] = []

    def received(self, data: bytes) -> None:
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


Client = TypeVar("Client", bound=UpgradeClient)


async def connect(
    port: int, make: Callable[[], Client], count: int, *, batch: int = 1, timeout: float = 10.0
) -> list[Client]:
    """``count`` clients made by ``make`` on 127.0.0.1:``port``, handshaken, ``batch`` at a time."""
    loop = asyncio.get_running_loop()
    clients: list[Client] = []
    for start in range(0, count, batch):
        made = await asyncio.gather(
            *(loop.create_connection(make, "127.0.0.1", port) for _ in range(min(batch, count - start)))
        )
        opened = [client for _, client in made]
        await asyncio.wait_for(asyncio.gather(*(c.handshaken for c in opened)), timeout)
        clients += opened
    return clients


def close_all(clients: Sequence[UpgradeClient]) -> None:
    """Close every client's connection."""
    for client in clients:
        client.transport.close()


async def roundtrips(clients: list[EchoClient], frames: list[bytes], count: int) -> list[float]:
    """``count`` round trips on every client at once (client i sends ``frames[i]``); the latencies."""
    latencies: list[float] = []
    await asyncio.gather(*(c.roundtrips(f, count, latencies) for c, f in zip(clients, frames)))
    return latencies


@dataclass(frozen=True, slots=True)
class EchoRun:
    """One timed round of :func:`echo_load`: its wall-clock seconds and every round trip's latency."""

    seconds: float
    latencies: tuple[float, ...]  # sorted

    @property
    def msgs_per_s(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile_ms(self, fraction: float) -> float:
        return self.latencies[int(len(self.latencies) * fraction)] * 1000


async def echo_load(port: int, path: str, connections: int, messages: int, warmup: int) -> EchoRun:
    """``connections`` clients echo 64-byte text: ``warmup`` round trips each, then ``messages`` timed."""
    payload = b"x" * 64
    clients = await connect(port, lambda: EchoClient(path, 2 + len(payload)), connections)
    frames = [client_text_frame(payload) for _ in clients]
    await roundtrips(clients, frames, warmup)
    started = time.perf_counter()
    latencies = await roundtrips(clients, frames, messages)
    seconds = time.perf_counter() - started
    close_all(clients)
    return EchoRun(seconds, tuple(sorted(latencies)))


Result = TypeVar("Result")


def timed_rounds(benchmark: Any, one_round: Callable[[], Coroutine[Any, Any, Result]], rounds: int) -> list[Result]:
    """pytest-benchmark times ``rounds`` runs of ``one_round()``, each on a fresh event loop;
    what they returned, in order."""
    results: list[Result] = []
    benchmark.pedantic(lambda: results.append(asyncio.run(one_round())), rounds=rounds, iterations=1)
    return results


class Served(NamedTuple):
    """One server of a benchmark's table: its row name, its process, the path clients open."""

    name: str
    process: ServerProcess
    path: str


def server_fixture(servers: dict[str, tuple[str, str]]) -> Any:
    """A module-scoped fixture that runs each of ``servers`` (name: (code, path)) in turn, as :class:`Served`."""

    @pytest.fixture(scope="module", params=list(servers), name="server")
    def fixture(request: Any) -> Iterator[Served]:
        code, path = servers[request.param]
        with ServerProcess(code) as process:
            yield Served(request.param, process, path)

    return fixture
