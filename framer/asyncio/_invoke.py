"""Running integration handlers: the I/O half of what the router decides.

The router says *which* handler to call with *which* event; this module calls
it.  :class:`Invoker` is the one entry point: ``run(invocation)`` takes an
``Invocation`` (a Lambda handler or an HTTP_PROXY call, an event, a timeout)
and gives the router's outcome (``Returned``, ``Raised`` or ``TimedOut``);
``drive`` feeds outcomes back until the router's step is final.

With a runner (``framer serve``: ``framer.functions.WorkerRunner`` by
default, ``InProcessRunner`` with ``--in-process``) every Lambda handler is a
*function*: a ``FunctionHandler`` is its own ``Function``; a plain callable
(a ``Router`` integration's ``handler=``) becomes one with ``function_for``
(Lambda's defaults: 3 s, 128 MB).  A callable a worker process cannot import
(a nested function, a lambda, a bound method) runs in-process instead, with a
logged note, so every router keeps working.  API Gateway's own integration
timeout (29 s) bounds the runner's invocation: past it the client gets
``Endpoint request timed out`` and the invocation is cancelled (its worker
killed).  Every other failure of a function (raised, timed out, crashed,
throttled) reaches the router as ``Raised(FunctionFailed)``, which API
Gateway answers as a Lambda error (``Internal server error``, or 502 on
``$connect``: ``apigateway-websocket.md`` sections 2.3 and 6.5).

Without a runner (``Server`` embedded without one) handlers run in this
process as before: coroutine functions on the event loop; plain functions in
the loop's default thread pool, bounded by the integration timeout (a sync
handler that overruns keeps its thread until it returns; its result is
ignored, as API Gateway ignores a late Lambda).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import sys
import time
import uuid
from collections import deque
from typing import Any, Awaitable, Callable, Coroutine, Optional, Union

from framer import functions
from framer.functions import (ConnectionsEndpoints, Function, FunctionError, FunctionHandler,
                              LambdaContext, Runner, RunnerOptions, function_for)
from framer.functions._coroutine import resume
from framer.router import Invocation, InvocationKind, Invoke, Raised, Returned, TimedOut

from ._http_client import http_request

__all__ = [
    "FunctionFailed",
    "InlineHandlers",
    "Invoker",
    "Outcome",
    "call_handler",
    "finish",
    "is_async_callable",
    "run_invocation",
]

log = logging.getLogger("framer.server")

#: What running an invocation came to, as the router's ``Invoke.resume`` takes it.
Outcome = Union[Returned, Raised, TimedOut]


def _clock_ms() -> int:
    return int(time.monotonic() * 1000)


@functools.lru_cache(maxsize=1024)
def _is_async(fn: Callable[..., Any]) -> bool:
    target = fn
    call = getattr(fn, "__call__", None)
    if not inspect.isfunction(fn) and not inspect.ismethod(fn) and call is not None:
        target = call
    return inspect.iscoroutinefunction(target)


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """True for ``async def`` functions and objects whose ``__call__`` is one."""
    try:
        return _is_async(fn)
    except TypeError:  # unhashable callable
        return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)
        )


async def call_handler(
    fn: Callable[..., Any],
    event: Any,
    timeout: Optional[float],
    *,
    context: Any = None,
    name: str = "handler",
) -> Any:
    """Call a Lambda-style ``fn(event, context)`` within *timeout* seconds.

    Raises ``asyncio.TimeoutError`` on timeout and whatever the handler raised
    otherwise; the caller turns both into what API Gateway would send.
    """
    if context is None:
        timeout_ms = int((timeout if timeout is not None else 29.0) * 1000)
        now = _clock_ms()
        context = LambdaContext(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
            aws_request_id=str(uuid.uuid4()), timeout_ms=timeout_ms,
            deadline_ms=now + timeout_ms, clock_ms=_clock_ms)
    if is_async_callable(fn):
        if timeout is None:
            return await fn(event, context)
        return await asyncio.wait_for(fn(event, context), timeout)
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    future = loop.run_in_executor(None, ctx.run, fn, event, context)
    if timeout is None:
        return await future
    return await asyncio.wait_for(future, timeout)


async def run_invocation(invocation: Invocation) -> Outcome:
    """Run one invocation in this process within its timeout and say what happened.

    The handler's own failure is ``Raised`` (the router decides what it
    means), an overrun ``TimedOut``; cancellation propagates.
    """
    if invocation.kind is InvocationKind.LAMBDA:
        assert invocation.handler is not None
        return await _outcome(call_handler(
            invocation.handler, invocation.event, invocation.timeout_s, context=invocation.context
        ))
    assert invocation.http is not None
    return await _outcome(asyncio.wait_for(http_request(invocation.http), invocation.timeout_s))


if sys.version_info >= (3, 11):
    async def _within(work: Coroutine[Any, Any, Any], timeout_s: Optional[float]) -> Any:
        """``await work`` within ``timeout_s`` (``asyncio.TimeoutError`` past it),
        in this task: ``wait_for`` makes a task of ``work`` until Python 3.12."""
        async with asyncio.timeout(timeout_s):
            return await work
else:  # pragma: no cover - Python 3.10
    _within = asyncio.wait_for


class FunctionFailed(Exception):
    """A function's invocation did not return: it raised, timed out, crashed
    or was throttled (``outcome`` is the runner's ``framer.functions`` outcome)."""

    def __init__(self, function: str, outcome: functions.Outcome) -> None:
        if isinstance(outcome, functions.Raised):
            text = f"{outcome.error_type}: {outcome.error_message}"
        else:
            assert not isinstance(outcome, functions.Returned)
            text = outcome.message
        super().__init__(f"function {function!r} failed: {text}")
        self.function = function
        self.outcome = outcome


class Invoker:
    """Runs a server's invocations: Lambda handlers as functions on ``runner``
    (or in this process without one), HTTP_PROXY calls here.

    ``bind(base, per_api=...)`` says where this server's management API is
    (``http://127.0.0.1:PORT``; ``per_api``: one API per ``/{apiId}`` prefix);
    the runners learn each API's @connections endpoint, under its id and its
    events' ``domainName``, from the first event of that API.
    """

    def __init__(self, runner: Optional[Runner]) -> None:
        self.runner = runner
        # The fallback in-process runner is configured as the server's runner.
        self._options: RunnerOptions = getattr(runner, "options", None) or RunnerOptions()
        self._local: Optional[Runner] = None  # in-process, for what a worker cannot import
        self._targets: dict[Any, tuple[Function, Runner]] = {}
        self._names: set[str] = set()
        self._base = ""
        self._per_api = False
        self._by_api_id: dict[str, str] = {}
        self._by_host: dict[str, str] = {}
        self.pending: set[_Pending] = set()  # started by ``start``, not answered
        self._timeouts = _Timeouts()
        self._workers: Optional[functions.WorkerRunner] = (
            runner if runner is not None and isinstance(runner, functions.WorkerRunner) else None)

    @property
    def inline(self) -> bool:
        """Whether the message path may start coroutine handlers itself (as a
        plain call, no task): without a runner, and in-process when no
        ``START``/``END``/``REPORT`` line would be kept (logger
        ``framer.functions`` below INFO), so ``--in-process`` costs what a
        plain call does; such a handler has the integration's timeout."""
        if self.runner is None:
            return True
        return isinstance(self.runner, functions.InProcessRunner) and \
            not logging.getLogger("framer.functions").isEnabledFor(logging.INFO)

    @property
    def in_process(self) -> bool:
        """True when every handler runs in this process (no runner, or ``InProcessRunner``)."""
        return self.runner is None or isinstance(self.runner, functions.InProcessRunner)

    def bind(self, base: str, *, per_api: bool) -> None:
        """Where this server's management API listens (after binding its port)."""
        self._base, self._per_api = base.rstrip("/"), per_api

    async def drive(self, step: Any) -> Any:
        """Run invocations until the router returns a final step."""
        while isinstance(step, Invoke):
            step = step.resume(await self.run(step.invocation))
        return step

    async def run(self, invocation: Invocation) -> Outcome:
        """Run one invocation and say what happened (cancellation propagates)."""
        if self.runner is None or invocation.kind is not InvocationKind.LAMBDA:
            return await run_invocation(invocation)
        function, runner = self._target(invocation.handler)
        event = invocation.event
        self._learn(event)
        context = invocation.context
        request_id = context.aws_request_id if context is not None else str(uuid.uuid4())
        try:
            outcome = await _within(runner.invoke(function, event, request_id=request_id),
                                    invocation.timeout_s)
        except asyncio.TimeoutError:  # API Gateway's integration timeout
            return TimedOut()
        return _routed(function, outcome)

    def start(self, invocation: Invocation, then: Callable[[Outcome], None]) -> bool:
        """Run a Lambda invocation on the worker runner without a task: True
        if it started, and ``then`` gets its outcome from a later callback
        (as ``run`` gives it; never for an invocation ``cancel_pending`` drops).
        False if only ``run`` can run it (no worker runner, an HTTP
        integration, a handler run in this process)."""
        runner = self._workers
        if runner is None or invocation.kind is not InvocationKind.LAMBDA:
            return False
        function, target = self._target(invocation.handler)
        if target is not runner:
            return False
        event = invocation.event
        self._learn(event)
        context = invocation.context
        request_id = context.aws_request_id if context is not None else str(uuid.uuid4())
        pending = _Pending(self, runner, function, then)
        future = pending.future = runner.start(function, event, request_id=request_id)
        if invocation.timeout_s is not None:
            self._timeouts.add(pending, invocation.timeout_s)
        self.pending.add(pending)
        future.add_done_callback(pending.done)
        return True

    def pending_futures(self) -> list[asyncio.Future[Any]]:
        """The outcomes ``start``'s unanswered invocations wait for."""
        return [pending.future for pending in self.pending if pending.future is not None]

    def cancel_pending(self) -> None:
        """Drop every invocation ``start`` started and has not answered (shutdown)."""
        for pending in list(self.pending):
            pending.drop()

    def _target(self, handler: Any) -> tuple[Function, Runner]:
        """The function a handler is and the runner that runs it (remembered)."""
        try:
            return self._targets[handler]
        except KeyError:
            pass
        except TypeError:  # unhashable: not remembered
            return self._resolve(handler)
        target = self._targets[handler] = self._resolve(handler)
        return target

    def _resolve(self, handler: Any) -> tuple[Function, Runner]:
        runner = self.runner
        assert runner is not None
        if isinstance(handler, FunctionHandler):
            return handler.function, runner
        name = self._unique(getattr(handler, "__name__", None) or "handler")
        try:
            function = function_for(handler, name=name)
        except FunctionError as exc:
            if not self.in_process:
                log.info("%s; it runs in the gateway's own process instead", exc)
            function = Function(name=name, handler=f"{getattr(handler, '__module__', None)}:{name}")
            local = self._in_process_runner()
            local.adopt(function, handler)
            return function, local
        if isinstance(runner, functions.InProcessRunner):
            runner.adopt(function, handler)
        return function, runner

    def _unique(self, name: str) -> str:
        base = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60] or "handler"
        name, n = base, 1
        while name in self._names:
            n += 1
            name = f"{base}-{n}"
        self._names.add(name)
        return name

    def _in_process_runner(self) -> functions.InProcessRunner:
        runner = self.runner
        if isinstance(runner, functions.InProcessRunner):
            return runner
        if self._local is None:
            self._local = functions.InProcessRunner(self._options)
            self._local.set_connections(self._endpoints())
        assert isinstance(self._local, functions.InProcessRunner)
        return self._local

    def _learn(self, event: Any) -> None:
        """Map the event's API (its id and domain name) to this server's management API."""
        try:
            request = event["requestContext"]
            api_id, host = request["apiId"], request["domainName"]
        except (KeyError, TypeError):
            return
        if self._by_host.get(host) is not None and api_id in self._by_api_id:
            return
        base = f"{self._base}/{api_id}" if self._per_api else self._base
        if not base:
            return
        self._by_api_id[api_id] = base
        self._by_host[host] = base
        endpoints = self._endpoints()
        for runner in (self.runner, self._local):
            if runner is not None:
                runner.set_connections(endpoints)

    def _endpoints(self) -> ConnectionsEndpoints:
        return ConnectionsEndpoints(by_api_id=self._by_api_id, by_host=self._by_host)

    async def aclose(self) -> None:
        """Stop every worker and watcher of the runners."""
        for runner in (self.runner, self._local):
            if runner is not None:
                await runner.aclose()


def _routed(function: Function, outcome: functions.Outcome) -> Outcome:
    """The router's outcome for what a runner's invocation of ``function`` gave."""
    if type(outcome) is functions.Returned:
        return Returned(value=outcome.value)
    return Raised(error=FunctionFailed(function.name, outcome))


class _Pending:
    """An invocation ``Invoker.start`` handed to the worker runner: its
    outcome goes to ``then``, or ``TimedOut`` when the integration's timeout
    (``_Timeouts``) comes first; the runner then abandons it."""

    __slots__ = ("invoker", "runner", "function", "then", "future", "deadline")

    def __init__(self, invoker: Invoker, runner: functions.WorkerRunner, function: Function,
                 then: Callable[[Outcome], None]) -> None:
        self.invoker = invoker
        self.runner = runner
        self.function = function
        self.then: Optional[Callable[[Outcome], None]] = then
        self.future: Optional[asyncio.Future[functions.Outcome]] = None
        self.deadline = 0.0  # loop time of its integration timeout

    def done(self, future: asyncio.Future[functions.Outcome]) -> None:
        then = self._end()
        if then is None or future.cancelled():
            return
        error = future.exception()  # the runner could not send the event (not JSON)
        then(_routed(self.function, future.result()) if error is None else Raised(error=error))

    def expire(self) -> None:
        """API Gateway's integration timeout."""
        then = self._end()
        if then is not None:
            then(TimedOut())

    def drop(self) -> None:
        self._end()

    def _end(self) -> Optional[Callable[[Outcome], None]]:
        """Over (once): what gets the outcome, None if it was over already."""
        then, self.then = self.then, None
        if then is None:
            return None
        self.invoker.pending.discard(self)
        future = self.future
        assert future is not None
        if not future.done():
            self.runner.abandon(self.function, future)
        return then


class _Timeouts:
    """The integration timeouts of pending invocations, one timer per timeout
    value in use rather than one per invocation: invocations with the same
    timeout reach it in the order they started, so each value keeps them in
    a queue, its timer set for the first one not over (those over are
    dropped from the front as invocations are added)."""

    def __init__(self) -> None:
        self._lines: dict[float, _TimeoutLine] = {}

    def add(self, pending: _Pending, timeout_s: float) -> None:
        line = self._lines.get(timeout_s)
        if line is None:
            line = self._lines[timeout_s] = _TimeoutLine(asyncio.get_running_loop())
        line.add(pending, timeout_s)


class _TimeoutLine:
    """The pending invocations of one timeout value, oldest first, and its timer."""

    __slots__ = ("loop", "queue", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: deque[_Pending] = deque()
        self.timer: Optional[asyncio.TimerHandle] = None

    def add(self, pending: _Pending, timeout_s: float) -> None:
        queue = self.queue
        while queue and queue[0].then is None:
            queue.popleft()
        pending.deadline = self.loop.time() + timeout_s
        queue.append(pending)
        if self.timer is None:
            self.timer = self.loop.call_at(pending.deadline, self.fire)

    def fire(self) -> None:
        """Time out what has reached its deadline; set the timer for the next."""
        self.timer = None
        queue = self.queue
        now = self.loop.time()
        while queue:
            pending = queue[0]
            if pending.then is None:
                queue.popleft()
            elif pending.deadline <= now:
                queue.popleft()
                pending.expire()
            else:
                self.timer = self.loop.call_at(pending.deadline, self.fire)
                return


async def finish(coro: Coroutine[Any, Any, Any], yielded: Any, timeout: Optional[float]) -> Outcome:
    """The outcome of a handler coroutine started by hand and suspended on *yielded*.

    A coroutine handler is started inline on the message path (one that
    finishes without awaiting costs no task); this finishes one that did not,
    within *timeout*, as ``run_invocation`` would have.
    """
    return await _outcome(asyncio.wait_for(resume(coro, yielded), timeout))


async def _outcome(work: Awaitable[Any]) -> Outcome:
    """What awaiting *work* (bounded by its own timeout) came to."""
    try:
        value = await work
    except asyncio.TimeoutError:
        return TimedOut()
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the handler's own failure: the router decides what it means
        return Raised(error=exc)
    return Returned(value=value)


class InlineHandlers(dict[Any, bool]):
    """Which handlers the message path may start inline: coroutine functions,
    when no runner runs the server's handlers (``enabled``).

    ``handlers[fn]`` answers from memory for a hashable handler (a few, one
    per integration), so the question costs one dict lookup per message; an
    unhashable one raises ``TypeError``: ask :func:`is_async_callable`.
    """

    def __init__(self, *, enabled: bool = True) -> None:
        super().__init__()
        self.enabled = enabled

    def __missing__(self, handler: Any) -> bool:
        inline = self.enabled and handler is not None and is_async_callable(handler)
        if len(self) >= 1024:
            self.clear()
        self[handler] = inline
        return inline
