"""A worker process as the server holds it: ``WorkerProcess``, its sockets
(the ``_wire`` channel it answers on, the control socket invocations are
taken back on), its start record (``_started``: which of them it began),
the invocations written to it and not answered, killing it.

``_pool`` decides what goes to which worker; this module only carries it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from ._outcome import Outcome
from ._started import StartRecord
from ._wire import Decoder, WireError, encode

__all__ = ["Expired", "Gone", "Invocation", "WorkerChannel", "WorkerProcess", "exit_reason",
           "expire", "peak_memory_mb"]

_READ_SIZE = 64 * 1024  # what one read of a worker's socket takes at most (a batch of answers)


class Gone(Exception):
    """The worker's socket closed (the process ended) before it answered."""


class Expired(Exception):
    """The worker did not answer in time (set by its timer)."""


class WorkerChannel(asyncio.BufferedProtocol):
    """The server's end of a worker's socket: logs its lines, hands over its answers."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.decoder = Decoder()
        self.buffer = bytearray(_READ_SIZE)
        self.waiter: Optional[asyncio.Future[dict[str, Any]]] = None  # the start's answer
        self.answered: Optional[Callable[[dict[str, Any]], None]] = None  # then every answer
        self.lost: Optional[Callable[[], None]] = None
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def expect(self) -> asyncio.Future[dict[str, Any]]:
        self.waiter = asyncio.get_running_loop().create_future()
        return self.waiter

    def get_buffer(self, sizehint: int) -> bytearray:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        try:
            messages = self.decoder.feed(self.buffer[:nbytes])
        except WireError as exc:
            self.logger.error("worker sent a malformed message: %s", exc)
            assert self.transport is not None
            self.transport.abort()
            return
        for message in messages:
            line = message.get("log")
            if line is not None:
                self.logger.info("%s", line)
            elif self.answered is not None:
                self.answered(message)
            elif self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(message)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(Gone())
        if self.lost is not None:
            self.lost()


@dataclass(slots=True, eq=False)
class Invocation:
    """One invocation of a function, from ``invoke`` to its outcome."""

    request_id: str
    event: Mapping[str, Any]
    future: asyncio.Future[Outcome]
    number: int = 0  # its number on the worker it was written to
    began: float = 0.0  # loop time its turn on that worker came (its timeout counts from it)
    started: bool = False  # START was logged


class WorkerProcess:
    """One worker process of a function and the invocations written to it."""

    __slots__ = ("process", "channel", "control", "started", "generation", "endpoints_version",
                 "init_ms", "queue", "outbox", "numbers", "timer", "check")

    def __init__(self, process: asyncio.subprocess.Process, channel: WorkerChannel,
                 control: socket.socket, started: StartRecord, generation: int,
                 endpoints_version: int) -> None:
        self.process = process
        self.channel = channel
        self.control = control  # where the server takes invocations back (a second socket)
        self.started = started  # the number of the last invocation it began: read once it is reaped
        self.generation = generation
        self.endpoints_version = endpoints_version
        self.init_ms: Optional[float] = None  # reported once, on its first invocation
        self.queue: deque[Invocation] = deque()  # written, unanswered; the first one runs
        self.outbox: list[bytes] = []  # written at the end of this loop iteration
        self.numbers = 0
        self.timer: Optional[asyncio.TimerHandle] = None  # the running invocation's timeout
        self.check: Optional[asyncio.TimerHandle] = None  # the pipeline window of the running one

    def flush(self) -> None:
        transport = self.channel.transport
        if transport is not None and self.outbox:
            transport.write(b"".join(self.outbox) if len(self.outbox) > 1 else self.outbox[0])
        self.outbox.clear()

    def take_back(self, numbers: list[int]) -> None:
        """Ask the worker to skip these (it answers ``skipped`` for each it had not begun)."""
        try:
            self.control.send(encode({"cancel": numbers}))
        except OSError:  # the worker is gone: its end of the socket closed
            pass

    def kill(self) -> None:
        """``SIGKILL`` to the worker's process group: the processes a handler
        started go with it."""
        for timer in (self.timer, self.check):
            if timer is not None:
                timer.cancel()
        if self.process.returncode is None:  # not reaped: the group id is still ours
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.channel.transport is not None:
            self.channel.transport.close()
        self.control.close()

    async def stop(self) -> int:
        """Kill and reap; the exit status."""
        self.kill()
        return await self.process.wait()


def exit_reason(returncode: int) -> str:
    """Go's wording, which Lambda's ``Runtime exited with error:`` uses."""
    if returncode < 0:
        name = signal.strsignal(-returncode) or f"signal {-returncode}"
        return f"signal: {name.lower()}"
    return f"exit status {returncode}"


def peak_memory_mb(pid: int) -> int:
    """A live process's peak resident set (Linux's ``VmHWM``), 0 where unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 0


def expire(waiter: asyncio.Future[dict[str, Any]]) -> None:
    if not waiter.done():
        waiter.set_exception(Expired())
