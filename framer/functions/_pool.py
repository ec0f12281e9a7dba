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
keeps its order.  Invocations are *pipelined*: a worker runs one at a time,
in order, but the next ones may already be written to it (several in one
write, ``PIPELINE_DEPTH`` at most), so a burst of messages wakes one warm
worker once instead of one worker per message.  An invocation goes to the
worker being written to in this loop iteration, else behind a busy worker
whose running invocation began less than ``PIPELINE_WINDOW_S`` ago (a short
handler: that worker is awake), else to an idle worker, else to a new one
(within the concurrency limit).  If the running one passes ``TAKE_BACK_S``,
those written behind it are taken back over a second socket: the worker
skips each it has not begun and says so at once, and they run elsewhere, so
a slow handler delays no other invocation by more than that.  An invocation's
timeout counts from when its turn on its worker comes (the previous answer).

A worker that runs past the function's timeout is killed (``SIGKILL`` to its
process group, so what its handler started goes too) and reaped; one that
exits or dies of a signal fails its running invocation only.  Either way an
invocation runs at most once: once the worker is reaped, its start record
(``_started``) says which of those written to it had begun.  One that had
begun and not answered fails as crashed (the worker may have gone on to it,
unseen, in the instant before its kill) and is never run again; one that had
not runs on another worker, and the next invocation gets a new worker.
Workers run in sessions of their
own (a Ctrl-C reaches the server, which stops them) and, on Linux, die with
the server even if it is killed (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import sys
import time
import uuid
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Mapping, Optional, Union

from . import _logs
from ._environment import EnvVarsFile, lambda_environment, runtime_version
from ._hook import ConnectionsEndpoints
from ._outcome import Crashed, Outcome, Raised, Returned, RunnerOptions, Throttled, TimedOut
from ._spec import Function
from ._started import StartRecord
from ._process import (Expired, Gone, Invocation, WorkerChannel, WorkerProcess, exit_reason, expire,
                       peak_memory_mb)
from ._watch import CodeWatcher
from ._wire import encode

__all__ = ["INIT_TIMEOUT_S", "WorkerRunner"]

# Lambda's init phase limit ("Lambda execution environment lifecycle", Init phase: 10 s).
INIT_TIMEOUT_S = 10.0

_FRAMER_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding framer/
# The worker imports framer from where this process did, then forgets that directory.
_BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); "
              "from framer.functions._worker import main; sys.path.remove(sys.argv[1]); "
              "main(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))")

# Pipelining: invocations are written to a warm worker ahead of its answers
# (several in one write), so that a burst wakes one worker once rather than one
# worker per invocation.  A worker still runs one invocation at a time, in order.
PIPELINE_DEPTH = 16
"""Invocations written to one worker and not yet answered, at most."""
PIPELINE_WINDOW_S = 0.001
"""A busy worker gets more invocations only while the one it runs began less
than this ago (a short handler); otherwise an idle or new worker takes them."""
TAKE_BACK_S = 0.01
"""Invocations written behind one that runs longer than this are taken back
(the worker skips them) and run on another worker."""


def _timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


class _FunctionPool:
    """The workers of one function and the waiting room in front of them."""

    def __init__(self, runner: WorkerRunner, function: Function) -> None:
        self.runner = runner
        self.function = function
        self.logger = _logs.function_logger(function.name)
        self.limit = runner.options.limit(function)
        self.loop = asyncio.get_running_loop()
        self.workers: list[WorkerProcess] = []  # started, not stopped
        self.spawning = 0
        self.waiting: deque[Invocation] = deque()  # not written to a worker yet
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
        for worker in [worker for worker in self.workers if not worker.queue]:
            self._retire(worker)

    def start(self, event: Mapping[str, Any], request_id: str) -> asyncio.Future[Outcome]:
        """Hand ``event`` to a worker; the future of its outcome (see ``WorkerRunner.start``)."""
        future: asyncio.Future[Outcome] = self.loop.create_future()
        if self.unusable is not None:
            self.logger.error("%s %s", self.unusable.error_type, self.unusable.error_message)
            future.set_result(self.unusable)
        elif self.limit == 0:
            self.logger.warning("RequestId: %s throttled: function %r has a reserved concurrency of 0",
                                request_id, self.function.name)
            future.set_result(Throttled())
        else:
            self.waiting.append(Invocation(request_id, event, future))
            self._dispatch()
        return future

    # -- handing invocations to workers ---------------------------------------

    def _dispatch(self) -> None:
        """Write what waits to workers that can take it; start workers for the rest."""
        waiting = self.waiting
        now = self.loop.time()
        while waiting:
            worker = self._choose(now)
            if worker is None:
                break
            self._give(worker, waiting.popleft(), now)
        for _ in range(min(len(waiting) - self.spawning, self.limit - len(self.workers) - self.spawning)):
            self.spawning += 1
            self.runner._track(self.loop.create_task(self._start()))

    def _choose(self, now: float) -> Optional[WorkerProcess]:
        """The worker the next invocation goes to: one being written to in this
        loop iteration, else the one with the shortest queue among those whose
        running invocation is within the pipeline window (it is awake), else an
        idle one."""
        idle = queued = None
        for worker in self.workers:
            if worker.generation != self.generation:
                continue
            size = len(worker.queue)
            if size >= PIPELINE_DEPTH:
                continue
            if worker.outbox:
                return worker
            if not size:
                idle = worker
            elif now - worker.queue[0].began < PIPELINE_WINDOW_S and \
                    (queued is None or size < len(queued.queue)):
                queued = worker
        return queued or idle

    def _give(self, worker: WorkerProcess, invocation: Invocation, now: float) -> None:
        runner = self.runner
        worker.numbers += 1
        message: dict[str, Any] = {"id": worker.numbers, "request_id": invocation.request_id,
                                   "event": invocation.event}
        if worker.endpoints_version != runner.endpoints_version:
            message["endpoints"] = runner.connections.to_wire()
        try:
            data = encode(message)
        except (TypeError, ValueError) as exc:
            invocation.future.set_exception(TypeError(
                f"the event for function {self.function.name!r} is not JSON: {exc}"))
            return
        worker.endpoints_version = runner.endpoints_version
        invocation.number = worker.numbers
        worker.queue.append(invocation)
        if len(worker.queue) == 1:
            self._begin(worker, now)
        elif worker.check is None:
            worker.check = self.loop.call_at(worker.queue[0].began + TAKE_BACK_S,
                                             self._check, worker, worker.queue[0])
        if len(worker.queue) == 1 and worker.channel.transport is not None:
            worker.channel.transport.write(data)  # it waits for this one: at once
            return
        if not worker.outbox:  # it is busy: what follows goes in one write, after this iteration
            self.loop.call_soon(worker.flush)
        worker.outbox.append(data)

    def _begin(self, worker: WorkerProcess, now: float) -> None:
        """The first invocation of ``worker``'s queue runs from now."""
        invocation = worker.queue[0]
        invocation.began = now
        if not invocation.started:
            invocation.started = True
            _logs.log_start(self.logger, invocation.request_id)
        if worker.timer is None:
            self._time(worker, invocation)
        if len(worker.queue) > 1:
            worker.check = self.loop.call_at(now + TAKE_BACK_S, self._check, worker, invocation)

    def _check(self, worker: WorkerProcess, running: Invocation) -> None:
        """``running`` has run for ``TAKE_BACK_S``: take back what waits behind it."""
        worker.check = None
        if worker.queue and worker.queue[0] is running and len(worker.queue) > 1:
            worker.take_back([invocation.number for invocation in list(worker.queue)[1:]])

    # -- what workers answer ---------------------------------------------------

    def _answered(self, worker: WorkerProcess, message: dict[str, Any]) -> None:
        queue = worker.queue
        skipped = message.get("skipped")
        if skipped is not None:  # taken back before it began: it runs elsewhere
            for invocation in queue:
                if invocation.number == skipped:
                    break
            else:
                return
            head = invocation is queue[0]
            queue.remove(invocation)
            if not invocation.future.done():
                self.waiting.appendleft(invocation)
            if head:
                self._next(worker)
            self._dispatch()
            return
        invocation = queue.popleft()
        _logs.log_end(self.logger, invocation.request_id)
        _logs.log_report(self.logger, invocation.request_id, duration_ms=message["duration_ms"],
                         memory_mb=self.function.memory_mb, max_memory_mb=message["max_memory_mb"],
                         init_duration_ms=worker.init_ms)
        worker.init_ms = None
        self._next(worker)  # the next one's START follows this END
        if not invocation.future.done():
            error = message.get("error")
            invocation.future.set_result(Returned(message["result"]) if error is None else Raised(
                error_type=error["errorType"], error_message=error["errorMessage"],
                stack_trace=tuple(error["stackTrace"])))
        if self.waiting:
            self._dispatch()

    def _next(self, worker: WorkerProcess) -> None:
        """``worker``'s running invocation is over: the next one's turn, or idle
        (its timeout's timer is left to fire: see ``_time``)."""
        if worker.check is not None:
            worker.check.cancel()
            worker.check = None
        if worker.queue:
            self._begin(worker, self.loop.time())
        elif worker.generation != self.generation or self.runner.closed:
            self._retire(worker)

    def _time(self, worker: WorkerProcess, invocation: Invocation) -> None:
        worker.timer = self.loop.call_at(invocation.began + self.function.timeout_s,
                                         self._expired, worker, invocation)

    def _expired(self, worker: WorkerProcess, timed: Invocation) -> None:
        """``timed``'s timeout is over.  A worker keeps one timer, set for the
        invocation running when it was set, not one per invocation: if that
        one has answered, the timer is set again for the one running now (which
        began later)."""
        worker.timer = None
        if not worker.queue:
            return
        if worker.queue[0] is not timed:
            self._time(worker, worker.queue[0])
            return
        invocation = worker.queue.popleft()
        peak = peak_memory_mb(worker.process.pid)
        timeout_s = self.function.timeout_s
        self._retire(worker, then=lambda: self._failed(invocation, TimedOut(timeout_s),
                                                      timeout_s * 1000, peak))

    def _lost(self, worker: WorkerProcess) -> None:
        """The worker's socket closed: it exited or was killed."""
        if worker in self.workers:  # not retired by the server
            self._retire(worker)

    def abandon(self, future: asyncio.Future[Outcome]) -> None:
        """The caller of the invocation ``future`` is for is gone: if it runs,
        its worker goes (nothing is left running)."""
        for invocation in self.waiting:
            if invocation.future is future:
                self.waiting.remove(invocation)
                return
        for worker in self.workers:
            if worker.queue and worker.queue[0].future is future:
                worker.queue.popleft()
                self._retire(worker)
                return
        # Written behind another: its answer, when it comes, is dropped.

    def _retire(self, worker: WorkerProcess, then: Optional[Callable[[], None]] = None) -> None:
        """Kill ``worker`` now (what it still sends goes unread) and reap it in
        the background; then call ``then`` and settle what was written to it."""
        if worker in self.workers:
            self.workers.remove(worker)
        worker.channel.answered = worker.channel.lost = None
        worker.kill()
        self.runner._track(self.loop.create_task(self._reap(worker, then)))
        if self.waiting and not self.runner.closed:
            self._dispatch()

    async def _reap(self, worker: WorkerProcess, then: Optional[Callable[[], None]]) -> None:
        status = await worker.stop()
        crashed = Crashed("the runner was closed" if self.runner.closed else exit_reason(status))
        if then is not None:
            then()
        self._settle(worker, crashed)

    def _settle(self, worker: WorkerProcess, crashed: Crashed) -> None:
        """``worker`` is reaped: of the invocations written to it and not
        answered, those it began fail as ``crashed`` (run once, never again),
        the others wait for another worker."""
        began = worker.started.load()  # final: the worker is dead
        pending = [invocation for invocation in worker.queue if not invocation.future.done()]
        worker.queue.clear()
        now = self.loop.time()
        for invocation in pending:
            if invocation.number <= began:
                ran_ms = (now - invocation.began) * 1000 if invocation.started else 0.0
                self._failed(invocation, crashed, ran_ms, 0)
        self._requeue([invocation for invocation in pending if invocation.number > began])
        if self.waiting and not self.runner.closed:
            self._dispatch()

    def _requeue(self, invocations: list[Invocation]) -> None:
        """Back to the front of the waiting room, in their order (failed if the runner is closed)."""
        if self.runner.closed:
            for invocation in invocations:
                invocation.future.set_result(Crashed("the runner was closed"))
            return
        self.waiting.extendleft(reversed(invocations))

    def _failed(self, invocation: Invocation, outcome: Union[Crashed, TimedOut],
                duration_ms: float, peak_mb: int) -> None:
        request_id = invocation.request_id
        if not invocation.started:  # the worker began it before the server saw its turn come
            invocation.started = True
            _logs.log_start(self.logger, request_id)
        if isinstance(outcome, TimedOut):
            self.logger.error("%s %s %s", _timestamp(), request_id, outcome.message)
        else:
            self.logger.error("RequestId: %s Error: %s\nRuntime.ExitError", request_id, outcome.message)
        _logs.log_end(self.logger, request_id)
        _logs.log_report(self.logger, request_id, duration_ms=duration_ms,
                         memory_mb=self.function.memory_mb, max_memory_mb=peak_mb)
        if not invocation.future.done():
            invocation.future.set_result(outcome)

    # -- starting workers ------------------------------------------------------

    async def _start(self) -> None:
        """Start a worker for what waits; if it cannot start, the first waiting
        invocation fails with the reason (as Lambda fails an invocation whose
        init failed)."""
        try:
            started = await self._spawn()
        finally:
            self.spawning -= 1
        if isinstance(started, WorkerProcess):
            if started.generation != self.generation or self.runner.closed:
                await started.stop()
            else:
                started.channel.answered = functools.partial(self._answered, started)
                started.channel.lost = functools.partial(self._lost, started)
                self.workers.append(started)
        elif self.waiting:
            self._failed(self.waiting.popleft(), started, 0.0, 0)
        if self.waiting and not self.runner.closed:
            self._dispatch()

    async def _spawn(self) -> Union[WorkerProcess, Crashed]:
        """A started worker with the handler imported, or why it could not start."""
        runner, function = self.runner, self.function
        stream = time.strftime("%Y/%m/%d", time.gmtime()) + f"/[$LATEST]{uuid.uuid4().hex}"
        env = lambda_environment(function, region=runner.options.region, log_stream_name=stream,
                                 env_vars=runner.env_vars, credentials=runner.options.credentials)
        code_dir = str(function.code_dir.resolve())
        ours, theirs = socket.socketpair()
        control, their_control = socket.socketpair()
        control.setblocking(False)
        started, their_started = StartRecord.create()
        began = time.perf_counter()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _BOOTSTRAP, _FRAMER_ROOT, str(theirs.fileno()),
                str(their_control.fileno()), str(their_started),
                pass_fds=(theirs.fileno(), their_control.fileno(), their_started),
                env=env, cwd=code_dir, stdin=asyncio.subprocess.DEVNULL, start_new_session=True)
        except BaseException:
            ours.close()
            control.close()
            raise
        finally:
            theirs.close()
            their_control.close()
            os.close(their_started)
        _, channel = await self.loop.create_unix_connection(lambda: WorkerChannel(self.logger), sock=ours)
        worker = WorkerProcess(process, channel, control, started, self.generation,
                               runner.endpoints_version)
        waiter = channel.expect()
        timer = self.loop.call_later(INIT_TIMEOUT_S, expire, waiter)
        assert channel.transport is not None
        channel.transport.write(encode({
            "name": function.name, "handler": function.handler, "code_dir": code_dir,
            "timeout_s": function.timeout_s, "memory_mb": function.memory_mb, "arn": self.arn,
            "connections_hook": runner.options.connections_hook,
            "endpoints": runner.connections.to_wire()}))
        try:
            await waiter
        except Gone:
            return Crashed(exit_reason(await worker.stop()))
        except Expired:
            await worker.stop()
            return Crashed(f"init timed out after {INIT_TIMEOUT_S:.2f} seconds")
        except BaseException:
            self.runner._track(self.loop.create_task(worker.stop()))
            raise
        finally:
            timer.cancel()
        worker.init_ms = (time.perf_counter() - began) * 1000
        return worker

    def close(self) -> None:
        """Kill every worker (``WorkerRunner.aclose`` waits for their reaping)
        and fail what waits; the runner is closed, so nothing runs again."""
        for worker in list(self.workers):
            self._retire(worker)
        self._requeue([invocation for invocation in self.waiting if not invocation.future.done()])
        self.waiting.clear()


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
        self._reaping: set[asyncio.Task[Any]] = set()
        self._watcher = CodeWatcher(self._reload, interval_s=options.reload_interval_s) \
            if options.reload else None

    def set_connections(self, connections: ConnectionsEndpoints) -> None:
        """Where @connections calls go from now on (the APIs framer serves changed)."""
        self.connections = connections
        self.endpoints_version += 1

    async def invoke(self, function: Function, event: Mapping[str, Any], *,
                     request_id: str) -> Outcome:
        """Run ``function`` on ``event``; never raises for what the function does."""
        future = self.start(function, event, request_id=request_id)
        try:
            return await future
        except asyncio.CancelledError:  # the caller gave up (its own timeout, a shutdown)
            self.abandon(function, future)
            raise

    def start(self, function: Function, event: Mapping[str, Any], *,
              request_id: str) -> asyncio.Future[Outcome]:
        """``invoke`` without a coroutine: hand ``event`` to a worker now and
        give the future of the outcome (for a caller that completes by a
        callback: no task per invocation).  A caller that gives up calls
        ``abandon`` with the future."""
        if self.closed:
            raise RuntimeError("this WorkerRunner is closed")
        pool = self._pools.get(function.name)
        if pool is None or (pool.function is not function and pool.function != function):
            if pool is not None:  # redefined: the old definition's workers go
                pool.reload()
            pool = self._pools[function.name] = _FunctionPool(self, function)
            if self._watcher is not None and function.code_dir.is_dir():
                self._watcher.watch(function.name, function.code_dir.resolve())
        return pool.start(event, request_id)

    def abandon(self, function: Function, future: asyncio.Future[Outcome]) -> None:
        """The caller of ``start`` gave up on ``future``: the invocation does
        not run, or its worker is killed if it runs (its outcome is dropped)."""
        pool = self._pools.get(function.name)
        if pool is not None:
            pool.abandon(future)
        future.cancel()

    def _reload(self, function_name: str, path: str) -> None:
        pool = self._pools.get(function_name)
        if pool is not None:
            _logs.runner_logger.info("Reloading function %r: %s changed", function_name, path)
            pool.reload()

    def _track(self, task: asyncio.Task[Any]) -> None:
        """A background task of a pool (a worker reaped or started); ``aclose`` waits for it."""
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    def workers(self, function_name: str) -> list[int]:
        """Process ids of ``function_name``'s live workers (idle and busy)."""
        pool = self._pools.get(function_name)
        if pool is None:
            return []
        return [w.process.pid for w in pool.workers if w.process.returncode is None]

    async def aclose(self) -> None:
        """Stop watching, kill and reap every worker."""
        self.closed = True
        if self._watcher is not None:
            await self._watcher.aclose()
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        while self._reaping:
            await asyncio.gather(*list(self._reaping))

    async def __aenter__(self) -> WorkerRunner:
        return self

    async def __aexit__(self, exc_type: Optional[type[BaseException]],
                        exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        await self.aclose()
