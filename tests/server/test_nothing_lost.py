"""Nothing lost: 200 concurrent clients each send 1000 numbered messages to the
demo's echo route; every message comes back exactly once, in order, per
connection.

The demo's stage throttles at API Gateway's defaults (10000 rps, burst 5000,
per account and per stage), so 200000 messages sent as fast as loopback
allows would be refused with "Too Many Requests" by design.  The server
process here raises the account quotas and the stage's throttling to a
million instead of weakening the check: every message must come back.

The server runs in its own process (its own GIL); the clients share one
event loop here, each pipelining up to WINDOW messages.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from framer import ConnectionType, Limits, WSConnection

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 200
MESSAGES = 1000
WINDOW = 50
BUDGET = 60.0

SERVER = str(Path(__file__).with_name("unthrottled_demo.py"))


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, SERVER], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), "server did not start"
        yield int(line)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class EchoClient(asyncio.Protocol):
    """Sends ``MESSAGES`` numbered messages, at most ``WINDOW`` unanswered, and records replies."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.ws = WSConnection(ConnectionType.CLIENT, Limits.general())
        self.received: list[str] = []
        self.closed: list[object] = []
        self.sent = 0
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.ws.send(Request(host="127.0.0.1", target="/dev")))

    def _send_more(self) -> None:
        assert self.transport is not None
        out = []
        while self.sent < MESSAGES and self.sent - len(self.received) < WINDOW:
            out.append(self.ws.send(TextMessage(data=f"{self.number}:{self.sent}")))
            self.sent += 1
        if out:
            self.transport.write(b"".join(out))

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                self.opened.set_result(None)
                self._send_more()
            elif isinstance(event, TextMessage):
                self.received.append(event.data)
            elif isinstance(event, CloseConnection):
                self.closed.append(event)
                self._finish()
                return
        if len(self.received) >= MESSAGES:
            self._finish()
        elif self.opened.done():
            self._send_more()

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        self._finish()


async def load(port: int) -> tuple[list[EchoClient], float]:
    loop = asyncio.get_running_loop()
    clients = []
    for i in range(CLIENTS):
        _, client = await loop.create_connection(lambda i=i: EchoClient(i), "127.0.0.1", port)
        clients.append(client)
    await asyncio.wait_for(asyncio.gather(*(c.opened for c in clients)), 30)
    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(c.done for c in clients)), BUDGET)
    elapsed = time.perf_counter() - started
    for c in clients:
        assert c.transport is not None
        c.transport.close()
    return clients, elapsed


def test_every_message_comes_back_once_and_in_order(port: int) -> None:
    clients, elapsed = asyncio.run(load(port))
    for client in clients:
        assert not client.closed, f"client {client.number} was closed: {client.closed}"
        expected = [f"{client.number}:{n}" for n in range(MESSAGES)]
        assert client.received == expected, f"client {client.number} lost, duplicated or reordered"
    total = CLIENTS * MESSAGES
    print(f"\n{total} messages echoed in {elapsed:.1f} s ({total / elapsed:.0f} msg/s)")
