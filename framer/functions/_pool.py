"""Worker processes per function, the server's side: ``WorkerRunner``.

Each function gets processes of its own (``_worker`` runs in each), started
on demand with this interpreter (``sys.executable``: a ``python3.x`` runtime
that differs from it is run anyway, with a logged note) and kept warm after
their first invocation.  A function runs at most its reserved concurrency at
once (``DEFAULT_CONCURRENCY`` without one).  Past that, an invocation *waits*
for a worker to come free, where Lambda would refuse it with
``TooManyRequestsException``: locally a burst of messages should be served
late rather than fail; the invocation's timeout counts from when it runs.
A reserved concurrency of 0 throttles every invocation, as on Lambda.

One invocation is one message to a worker and one back (``_wire``); the
worker's output arrives on the same socket before its result, so the log
keeps its order.  A worker that runs past the function's timeout is killed
(``SIGKILL`` to its process group, so what its handler started goes too) and
reaped; one that exits or dies of a signal fails its invocation only; either
way the next invocation gets a new worker.  Workers run in sessions of their
own (a Ctrl-C reaches the server, which stops them) and, on Linux, die with
the server even if it is killed (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Mapping, Optional, Union

from . import _logs
from ._environment import EnvVarsFile, lambda_environment, runtime_version
from ._hook import ConnectionsEndpoints
from ._outcome import Crashed, Outcome, Raised, Returned, RunnerOptions, Throttled, TimedOut
from ._spec import Function
from ._watch import CodeWatcher
from ._wire import Decoder, WireError, encode

__all__ = ["INIT_TIMEOUT_S", "WorkerRunner"]

# Lambda's init phase limit ("Lambda execution environment lifecycle", Init phase: 10 s).
INIT_TIMEOUT_S = 10.0

_FRAMER_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding framer/
# The worker imports framer from where this process did, then forgets that directory.
_BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); "
              "from framer.functions._worker import main; sys.path.remove(sys.argv[1]); "
              "main(int(sys.argv[2]))")

class _Gone(Exception):
    """The worker's socket closed (the process ended) before it answered."""


class _Expired(Exception):
    """The worker did not answer in time (set by its timer)."""


class _Channel(asyncio.Protocol):
    """The server's end of a worker's socket: logs its lines, hands over its answer."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.decoder = Decoder()
        self.waiter: Optional[asyncio.Future[dict[str, Any]]] = None
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def expect(self) -> asyncio.Future[dict[str, Any]]:
        self.waiter = asyncio.get_running_loop().create_future()
        return self.waiter

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.decoder.feed(data)
        except WireError as exc:
            self.logger.error("worker sent a malformed message: %s", exc)
            assert self.transport is not None
            self.transport.abort()
            return
        for message in messages:
            line = message.get("log")
            if line is not None:
                self.logger.info("%s", line)
            elif self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(message)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(_Gone())


class _Worker:
    """One worker process of a function."""

    __slots__ = ("process", "channel", "generation", "endpoints_version", "init_ms")

    def __init__(self, process: asyncio.subprocess.Process, channel: _Channel,
                 generation: int, endpoints_version: int) -> None:
        self.process = process
        self.channel = channel
        self.generation = generation
        self.endpoints_version = endpoints_version
        self.init_ms: Optional[float] = None  # reported once, on its first invocation

    def kill(self) -> None:
        """``SIGKILL`` to the worker's process group: the processes a handler
        started go with it."""
        if self.process.returncode is None:  # not reaped: the group id is still ours
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.channel.transport is not None:
            self.channel.transport.close()

    async def stop(self) -> int:
        """Kill and reap; the exit status."""
        self.kill()
        return await self.process.wait()


def _exit_reason(returncode: int) -> str:
    """Go's wording, which Lambda's ``Runtime exited with error:`` uses."""
    if returncode < 0:
        name = signal.strsignal(-returncode) or f"signal {-returncode}"
        return f"signal: {name.lower()}"
    return f"exit status {returncode}"


def _peak_memory_mb(pid: int) -> int:
    """A live process's peak resident set (Linux's ``VmHWM``), 0 where unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 0


def _timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


class _FunctionPool:
    """The workers of one function and the waiting room in front of them."""

    def __init__(self, runner: WorkerRunner, function: Function) -> None:
        self.runner = runner
        self.function = function
        self.logger = _logs.function_logger(function.name)
        self.limit = runner.options.limit(function)
        self.slots = asyncio.Semaphore(max(1, self.limit))
        self.idle: list[_Worker] = []
        self.busy: set[_Worker] = set()
        self.generation = 0
        self.arn = runner.options.arn(function)
        self.unusable: Optional[Raised] = None
        if not function.is_python:
            self.unusable = Raised(error_type="Runtime.InvalidRuntime", error_message=(
                f"function {function.name!r}: runtime {function.runtime!r} is not a Python "
                "runtime; framer runs python3.x functions only"))
        elif not function.code_dir.is_dir():
            self.unusable = Raised(error_type="Runtime.ImportModuleError", error_message=(
                f"function {function.name!r}: code directory {function.code_dir} does not exist"))
        elif function.runtime != runtime_version():
            _logs.runner_logger.info(
                "function %r declares runtime %s; framer runs it with %s (%s)",
                function.name, function.runtime, runtime_version(), sys.executable)

    def reload(self) -> None:
        """Replace every worker: idle ones now, busy ones when they finish."""
        self.generation += 1
        for worker in self.idle:
            self.runner._retire(worker)
        self.idle.clear()

    async def invoke(self, event: Mapping[str, Any], request_id: str) -> Outcome:
        if self.unusable is not None:
            self.logger.error("%s %s", self.unusable.error_type, self.unusable.error_message)
            return self.unusable
        if self.limit == 0:
            self.logger.warning("RequestId: %s throttled: function %r has a reserved concurrency of 0",
                                request_id, self.function.name)
            return Throttled()
        message: dict[str, Any] = {"request_id": request_id, "event": event}
        async with self.slots:
            worker = self.idle.pop() if self.idle else None
            _logs.log_start(self.logger, request_id)
            if worker is None:
                started = await self._spawn()
                if not isinstance(started, _Worker):
                    return self._failed(started, request_id, 0.0, 0)
                worker = started
            self.busy.add(worker)
            try:
                return await self._run(worker, message, request_id)
            finally:
                self.busy.discard(worker)

    async def _run(self, worker: _Worker, message: dict[str, Any], request_id: str) -> Outcome:
        runner = self.runner
        if worker.endpoints_version != runner.endpoints_version:
            message["endpoints"] = runner.connections.to_wire()
            worker.endpoints_version = runner.endpoints_version
        try:
            data = encode(message)
        except (TypeError, ValueError) as exc:
            self._keep(worker)
            raise TypeError(f"the event for function {self.function.name!r} is not JSON: {exc}") from None
        timeout_s = self.function.timeout_s
        waiter = worker.channel.expect()
        timer = asyncio.get_running_loop().call_later(timeout_s, _expire, waiter)
        began = time.perf_counter()
        assert worker.channel.transport is not None
        worker.channel.transport.write(data)
        try:
            reply = await waiter
        except _Gone:
            reason = _exit_reason(await worker.stop())
            duration_ms = (time.perf_counter() - began) * 1000
            return self._failed(Crashed(reason), request_id, duration_ms, 0)
        except _Expired:
            peak = _peak_memory_mb(worker.process.pid)
            await worker.stop()
            return self._failed(TimedOut(timeout_s), request_id, timeout_s * 1000, peak)
        except BaseException:  # cancelled: the caller gave up (its own timeout, a shutdown)
            runner._retire(worker)
            raise
        finally:
            timer.cancel()
        self._keep(worker)
        _logs.log_end(self.logger, request_id)
        _logs.log_report(self.logger, request_id, duration_ms=reply["duration_ms"],
                         memory_mb=self.function.memory_mb, max_memory_mb=reply["max_memory_mb"],
                         init_duration_ms=worker.init_ms)
        worker.init_ms = None
        error = reply.get("error")
        if error is not None:
            return Raised(error_type=error["errorType"], error_message=error["errorMessage"],
                          stack_trace=tuple(error["stackTrace"]))
        return Returned(reply["result"])

    def _keep(self, worker: _Worker) -> None:
        if worker.generation == self.generation and not self.runner.closed:
            self.idle.append(worker)
        else:
            self.runner._retire(worker)

    def _failed(self, outcome: Union[Crashed, TimedOut], request_id: str,
                duration_ms: float, peak_mb: int) -> Outcome:
        if isinstance(outcome, TimedOut):
            self.logger.error("%s %s %s", _timestamp(), request_id, outcome.message)
        else:
            self.logger.error("RequestId: %s Error: %s\nRuntime.ExitError", request_id, outcome.message)
        _logs.log_end(self.logger, request_id)
        _logs.log_report(self.logger, request_id, duration_ms=duration_ms,
                         memory_mb=self.function.memory_mb, max_memory_mb=peak_mb)
        return outcome

    async def _spawn(self) -> Union[_Worker, Crashed]:
        """A started worker with the handler imported, or why it could not start."""
        runner, function = self.runner, self.function
        stream = time.strftime("%Y/%m/%d", time.gmtime()) + f"/[$LATEST]{uuid.uuid4().hex}"
        env = lambda_environment(function, region=runner.options.region, log_stream_name=stream,
                                 env_vars=runner.env_vars, credentials=runner.options.credentials)
        code_dir = str(function.code_dir.resolve())
        ours, theirs = socket.socketpair()
        began = time.perf_counter()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _BOOTSTRAP, _FRAMER_ROOT, str(theirs.fileno()),
                pass_fds=(theirs.fileno(),), env=env, cwd=code_dir,
                stdin=asyncio.subprocess.DEVNULL, start_new_session=True)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        loop = asyncio.get_running_loop()
        _, channel = await loop.create_unix_connection(lambda: _Channel(self.logger), sock=ours)
        worker = _Worker(process, channel, self.generation, runner.endpoints_version)
        waiter = channel.expect()
        timer = loop.call_later(INIT_TIMEOUT_S, _expire, waiter)
        assert channel.transport is not None
        channel.transport.write(encode({
            "name": function.name, "handler": function.handler, "code_dir": code_dir,
            "timeout_s": function.timeout_s, "memory_mb": function.memory_mb, "arn": self.arn,
            "connections_hook": runner.options.connections_hook,
            "endpoints": runner.connections.to_wire()}))
        try:
            await waiter
        except _Gone:
            return Crashed(_exit_reason(await worker.stop()))
        except _Expired:
            await worker.stop()
            return Crashed(f"init timed out after {INIT_TIMEOUT_S:.2f} seconds")
        except BaseException:
            runner._retire(worker)
            raise
        finally:
            timer.cancel()
        worker.init_ms = (time.perf_counter() - began) * 1000
        return worker

    async def aclose(self) -> None:
        workers = self.idle + list(self.busy)
        self.idle.clear()
        await asyncio.gather(*(worker.stop() for worker in workers))


def _expire(waiter: asyncio.Future[dict[str, Any]]) -> None:
    if not waiter.done():
        waiter.set_exception(_Expired())


class WorkerRunner:
    """Runs functions in worker processes; see the package docstring for the interface.

    ``connections`` says where the @connections calls of the APIs framer
    serves go (``set_connections`` updates it; workers get the change with
    their next invocation); ``env_vars`` overrides functions' variables as
    ``sam local --env-vars`` does; ``options`` are ``RunnerOptions``.
    """

    def __init__(self, options: Optional[RunnerOptions] = None, *,
                 env_vars: Optional[EnvVarsFile] = None,
                 connections: Optional[ConnectionsEndpoints] = None) -> None:
        self.options = options = options or RunnerOptions()
        self.env_vars = env_vars
        self.connections = connections or ConnectionsEndpoints()
        self.endpoints_version = 0
        self.closed = False
        self._pools: dict[str, _FunctionPool] = {}
        self._reaping: set[asyncio.Task[int]] = set()
        self._watcher = CodeWatcher(self._reload, interval_s=options.reload_interval_s) \
            if options.reload else None

    def set_connections(self, connections: ConnectionsEndpoints) -> None:
        """Where @connections calls go from now on (the APIs framer serves changed)."""
        self.connections = connections
        self.endpoints_version += 1

    async def invoke(self, function: Function, event: Mapping[str, Any], *,
                     request_id: str) -> Outcome:
        """Run ``function`` on ``event``; never raises for what the function does."""
        if self.closed:
            raise RuntimeError("this WorkerRunner is closed")
        pool = self._pools.get(function.name)
        if pool is None or (pool.function is not function and pool.function != function):
            if pool is not None:  # redefined: the old definition's workers go
                pool.reload()
            pool = self._pools[function.name] = _FunctionPool(self, function)
            if self._watcher is not None and function.code_dir.is_dir():
                self._watcher.watch(function.name, function.code_dir.resolve())
        return await pool.invoke(event, request_id)

    def _reload(self, function_name: str, path: str) -> None:
        pool = self._pools.get(function_name)
        if pool is not None:
            _logs.runner_logger.info("Reloading function %r: %s changed", function_name, path)
            pool.reload()

    def _retire(self, worker: _Worker) -> None:
        """Kill ``worker`` now and reap it in the background (``aclose`` waits)."""
        task = asyncio.get_running_loop().create_task(worker.stop())
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    def workers(self, function_name: str) -> list[int]:
        """Process ids of ``function_name``'s live workers (idle and busy)."""
        pool = self._pools.get(function_name)
        if pool is None:
            return []
        return [w.process.pid for w in pool.idle + list(pool.busy) if w.process.returncode is None]

    async def aclose(self) -> None:
        """Stop watching, kill and reap every worker."""
        self.closed = True
        if self._watcher is not None:
            await self._watcher.aclose()
        await asyncio.gather(*(pool.aclose() for pool in self._pools.values()))
        self._pools.clear()
        while self._reaping:
            await asyncio.gather(*list(self._reaping))

    async def __aenter__(self) -> WorkerRunner:
        return self

    async def __aexit__(self, exc_type: Optional[type[BaseException]],
                        exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        await self.aclose()
