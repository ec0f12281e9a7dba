"""The main loop of a worker process: one function, one invocation at a time.

Started by ``_pool`` with ``sys.executable`` and one end of a Unix socket pair
(``_wire`` messages), and of a second one, the control socket.  The first
message sets the worker up (``start``); the worker imports the handler with
the code directory first on ``sys.path`` and as the working directory
(Lambda's ``LAMBDA_TASK_ROOT``), answers ``ready`` (or the import's error,
which every invocation then returns, as Lambda reports an init failure), then
serves numbered ``invoke`` messages, in order, one at a time, until the
socket closes.  The server may write several ahead; a thread reads the
control socket, where the server takes back those not begun (``cancel``):
each is answered ``skipped`` at once and never run.  Before an invocation's
handler runs, its number goes into the start record (``_started``), which
the server reads when it has killed the worker.

The function's ``sys.stdout``, ``sys.stderr`` and ``logging`` output travel
on the same socket as ``log`` messages, whole lines, so the server logs them
in order between ``START`` and ``END``.  Writes to the file descriptors
themselves (C extensions, ``faulthandler`` on a crash), to either of them,
go to the server's standard error.  A coroutine a handler returns is run to completion on the
worker's own event loop (framer's extension: Lambda's Python runtime has no
``async def`` handlers).
"""

from __future__ import annotations

import asyncio
import ctypes
import faulthandler
import inspect
import io
import logging
import os
import resource
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Optional

from ._context import LambdaContext
from ._coroutine import resume
from ._hook import ConnectionsEndpoints, install
from ._inprocess import import_handler
from ._outcome import Raised
from ._spec import Function, FunctionError
from ._started import StartRecord
from ._wire import encode, read_message

__all__ = ["main"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class _Channel:
    """The worker's end of the socket; sends may come from a handler's threads.

    ``lock`` also orders beginning an invocation against the server taking
    it back (``skip``): the invocation numbered as ``started`` says and those
    before it have begun; a later one the server takes back is skipped, once,
    and answered ``skipped`` at once."""

    def __init__(self, sock: socket.socket, started: StartRecord) -> None:
        self._sock = sock
        self.lock = threading.Lock()
        # Reads take what the server wrote at once (a batch of invocations) in one recv.
        self.reader = io.BufferedReader(socket.SocketIO(sock, "rb"), _READ_SIZE)
        self.started = started
        self.skipped: set[int] = set()

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(encode(message))

    def send_bytes(self, data: bytes) -> None:
        with self.lock:
            self._sock.sendall(data)

    def begin(self, number: int) -> bool:
        """Whether invocation ``number`` runs (False: the server took it back)."""
        with self.lock:
            if number in self.skipped:
                self.skipped.discard(number)
                return False
            self.started.store(number)
            return True

    def skip(self, numbers: list[int]) -> None:
        with self.lock:
            begun = self.started.load()
            for number in numbers:
                if number > begun:
                    self.skipped.add(number)
                    self._sock.sendall(encode({"skipped": number}))

    def serve_control(self, control: socket.socket) -> None:
        """The control socket's loop (a thread): the server's ``cancel`` messages."""
        reader = control.makefile("rb")
        while True:
            message = read_message(reader)
            if message is None:
                return
            self.skip(message["cancel"])


_READ_SIZE = 256 * 1024


class _LogStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` of the function: whole lines become ``log`` messages."""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel
        self._pending = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            pending = self._pending + text
            end = pending.rfind("\n")
            if end < 0:
                self._pending = pending
                return len(text)
            self._pending = pending[end + 1:]
        self._channel.send({"log": pending[:end]})
        return len(text)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, ""
        if pending:
            self._channel.send({"log": pending})


class _LambdaFormatter(logging.Formatter):
    """The line Lambda's Python runtime prints for a ``logging`` record."""

    request_id = ""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return (f"[{record.levelname}]\t{stamp}.{int(record.msecs):03d}Z\t"
                f"{self.request_id}\t{record.getMessage()}"
                + (f"\n{self.formatException(record.exc_info)}" if record.exc_info else ""))


def _max_memory_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux


class _Worker:
    def __init__(self, channel: _Channel, start: dict[str, Any],
                 formatter: _LambdaFormatter) -> None:
        self.channel = channel
        self.function_name: str = start["name"]
        self.arn: str = start["arn"]
        self.timeout_ms = int(start["timeout_s"] * 1000)
        self.memory_mb: int = start["memory_mb"]
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "framer")
        self.hook = install(ConnectionsEndpoints.from_wire(start["endpoints"])) \
            if start["connections_hook"] else None
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.formatter = formatter
        self.handler: Optional[Callable[..., Any]] = None
        self.init_error: Optional[Raised] = None
        function = Function(name=self.function_name, handler=start["handler"],
                            code_dir=Path(start["code_dir"]))
        try:
            self.handler = import_handler(function)
        except FunctionError as exc:
            # Lambda answers every invocation with this error (and no stack);
            # the log has the import's own traceback, if it raised.
            self.init_error = Raised(error_type="Runtime.ImportModuleError", error_message=str(exc))
            print(f"[ERROR] Runtime.ImportModuleError: {exc}", file=sys.stderr)
            if exc.__cause__ is not None:
                traceback.print_exception(exc.__cause__, file=sys.stderr)

    def invoke(self, message: dict[str, Any]) -> dict[str, Any]:
        request_id: str = message["request_id"]
        if "endpoints" in message and self.hook is not None:
            self.hook.endpoints = ConnectionsEndpoints.from_wire(message["endpoints"])
        if self.init_error is not None:
            return {"error": self.init_error.payload(request_id), "duration_ms": 0.0,
                    "max_memory_mb": _max_memory_mb()}
        assert self.handler is not None
        self.formatter.request_id = request_id
        now_ms = int(time.monotonic() * 1000)
        context = LambdaContext(
            function_name=self.function_name, invoked_function_arn=self.arn,
            aws_request_id=request_id, timeout_ms=self.timeout_ms,
            deadline_ms=now_ms + self.timeout_ms, clock_ms=_monotonic_ms,
            memory_limit_in_mb=self.memory_mb,
            log_stream_name=self.log_stream_name)
        began = time.perf_counter()
        try:
            value = self.handler(message["event"], context)
            if inspect.isawaitable(value):
                value = self._await(value)
            reply: dict[str, Any] = {"result": value}
        except Exception as exc:
            raised = Raised.from_exception(exc, self.handler)
            sys.stderr.write(raised.log_text() + "\n")
            reply = {"error": raised.payload(request_id)}
        duration_ms = (time.perf_counter() - began) * 1000
        sys.stdout.flush()
        sys.stderr.flush()
        reply["duration_ms"] = duration_ms
        reply["max_memory_mb"] = _max_memory_mb()
        return reply

    def _await(self, awaitable: Any) -> Any:
        """The result of an ``async def`` handler: a coroutine that finishes
        without waiting on anything (an echo, a lookup) is run to its end in
        one step, without a task or a turn of the loop; one that waits goes on
        on this worker's event loop (running during that first step too)."""
        if self.loop is None:
            self.loop = asyncio.new_event_loop()
        if inspect.iscoroutine(awaitable):
            asyncio._set_running_loop(self.loop)
            try:
                yielded = awaitable.send(None)
            except StopIteration as stop:
                return stop.value
            finally:
                asyncio._set_running_loop(None)
            awaitable = resume(awaitable, yielded)
        return self.loop.run_until_complete(awaitable)

    def serve(self) -> None:
        channel = self.channel
        while True:
            message = read_message(channel.reader)
            if message is None:
                return
            if not channel.begin(message["id"]):
                continue
            reply = self.invoke(message)
            reply["id"] = message["id"]
            try:
                data = encode(reply)
            except (TypeError, ValueError) as exc:  # a result JSON cannot hold
                error = Raised(error_type="Runtime.MarshalError",
                               error_message=f"Unable to marshal response: {exc}")
                sys.stderr.write(f"[ERROR] {error.error_type}: {error.error_message}\n")
                sys.stderr.flush()
                reply = {"id": message["id"], "error": error.payload(message["request_id"]),
                         "duration_ms": reply["duration_ms"], "max_memory_mb": reply["max_memory_mb"]}
                data = encode(reply)
            self.channel.send_bytes(data)


def _monotonic_ms() -> int:
    return int(time.monotonic() * 1000)


def _die_with_parent() -> None:
    """Linux: be killed when the server dies, even by ``SIGKILL`` (an
    infinite loop never reads the closed socket)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the server died before prctl: its death went unseen
        os._exit(1)


def main(fd: int, control_fd: int, started_fd: int) -> None:
    """Serve the server on socket ``fd`` until it closes the socket; take
    invocations back as ``control_fd`` says; record each start in ``started_fd``."""
    _die_with_parent()
    os.dup2(2, 1)  # C-level writes to stdout join stderr: the server's stdout stays its own
    faulthandler.enable()  # a crash's Python stack goes to the server's stderr
    sock = socket.socket(fileno=fd)
    channel = _Channel(sock, StartRecord.attach(started_fd))
    start = read_message(channel.reader)
    if start is None:
        return
    code_dir = start["code_dir"]
    # Lambda: the task root first, for the handler's imports and later ones
    # ("-c" put the working directory, the same, there as "").
    sys.path[:] = [code_dir] + [entry for entry in sys.path if entry not in ("", code_dir)]
    sys.stdout = _LogStream(channel)
    sys.stderr = _LogStream(channel)
    formatter = _LambdaFormatter()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    logging.getLogger().addHandler(handler)
    threading.Thread(target=channel.serve_control, args=(socket.socket(fileno=control_fd),),
                     name="framer-control", daemon=True).start()
    worker = _Worker(channel, start, formatter)
    sys.stdout.flush()
    sys.stderr.flush()
    channel.send({"ready": worker.init_error is None})
    worker.serve()
