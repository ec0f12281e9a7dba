"""``InProcessRunner``: functions run in the server's own process (``--in-process``).

For speed and for breakpoints.  The interface is ``WorkerRunner``'s; what
differs is what one process cannot give:

- Sync handlers run in a thread pool *of their function* (as many threads as
  its concurrency limit), so one function's blocked handlers never starve
  another's; ``async def`` handlers run on the event loop (one that blocks
  the loop stalls everything: use worker mode for such code).
- A handler past its timeout gets ``TimedOut``; a coroutine is cancelled, but
  a thread cannot be stopped: it keeps running until the handler returns and
  its result is dropped.  Worker mode kills the process instead.
- Module state, environment and ``sys.path`` are shared with the server
  (``load_handler`` keeps each code directory's modules apart, no more); a
  crash takes the server down.  ``print`` goes to the server's stdout.
- The @connections hook, when on, is installed in this process (it only
  touches requests to the APIs framer serves).  A sync handler may call
  @connections synchronously (it runs in a thread); an ``async def`` one
  must not (the loop it blocks is the one that would answer).
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import inspect
import logging
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType, TracebackType
from typing import Any, Callable, Mapping, Optional

from . import _logs
from ._context import LambdaContext
from ._hook import ConnectionsEndpoints, Hook, install, uninstall
from ._inprocess import load_handler
from ._outcome import Outcome, Raised, Returned, RunnerOptions, Throttled, TimedOut
from ._spec import Function, FunctionError
from ._watch import CodeWatcher

__all__ = ["InProcessRunner", "reload_callable"]


def _clock_ms() -> int:
    return int(time.monotonic() * 1000)


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None))


def reload_callable(handler: Callable[..., Any], module: Optional[ModuleType]) -> Callable[..., Any]:
    """``handler`` from ``module`` (the module it was defined in) imported
    again (``importlib.reload``); a bound method or a nested function cannot
    be found again: kept as it is."""
    qualname = getattr(handler, "__qualname__", "<")
    if module is None or inspect.ismethod(handler) or "<" in qualname:
        return handler
    # Another function's import of the same code directory may have taken the
    # module out of sys.modules (see load_handler); reload needs it there.
    sys.modules[module.__name__] = module
    value: Any = importlib.reload(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value  # type: ignore[no-any-return]


class _Loaded:
    """One function's handler, loaded, and its own threads."""

    def __init__(self, function: Function, limit: int, arn: str,
                 given: Optional[Callable[..., Any]] = None) -> None:
        self.function = function
        self.given = given
        self.module = sys.modules.get(getattr(given, "__module__", None) or "")
        self.logger = _logs.function_logger(function.name)
        self.arn = arn
        self.limit = limit
        self.slots = asyncio.Semaphore(max(1, limit))
        self.executor = ThreadPoolExecutor(max_workers=max(1, limit),
                                           thread_name_prefix=f"framer-fn-{function.name}")
        self.handler: Optional[Callable[..., Any]] = None
        self.is_async = False
        self.load_error: Optional[Raised] = None

    def load(self, *, reload: bool = False) -> None:
        try:
            if self.given is None:
                self.handler = load_handler(self.function)
            elif reload:
                self.handler = self.given = reload_callable(self.given, self.module)
            else:
                self.handler = self.given
        except (FunctionError, ImportError, SyntaxError) as exc:
            self.handler, self.load_error = None, Raised(
                error_type="Runtime.ImportModuleError",
                error_message=str(exc) if isinstance(exc, FunctionError)
                else f"function {self.function.name!r}: {type(exc).__name__}: {exc}")
            return
        self.load_error = None
        self.is_async = _is_async(self.handler)


class InProcessRunner:
    """Runs functions in this process; same interface as ``WorkerRunner``."""

    def __init__(self, options: Optional[RunnerOptions] = None, *,
                 connections: Optional[ConnectionsEndpoints] = None) -> None:
        self.options = options = options or RunnerOptions()
        self._hook: Optional[Hook] = install(connections or ConnectionsEndpoints()) \
            if options.connections_hook else None
        self._loaded: dict[str, _Loaded] = {}
        self._given: dict[str, Callable[..., Any]] = {}
        self._stale: set[str] = set()
        self._watcher = CodeWatcher(self._reload, interval_s=options.reload_interval_s) \
            if options.reload else None

    def set_connections(self, connections: ConnectionsEndpoints) -> None:
        """Where @connections calls go from now on."""
        if self._hook is not None:
            self._hook.endpoints = connections

    def adopt(self, function: Function, handler: Callable[..., Any]) -> None:
        """Run ``handler``, already imported, as ``function`` (a ``Router``
        integration's callable: the same object, module state included, not a
        new import); ``--reload`` reloads its module."""
        self._given[function.name] = handler

    def _reload(self, function_name: str, path: str) -> None:
        if function_name in self._loaded:
            _logs.runner_logger.info("Reloading function %r: %s changed", function_name, path)
            self._stale.add(function_name)

    def _get(self, function: Function) -> _Loaded:
        loaded = self._loaded.get(function.name)
        if loaded is None or (loaded.function is not function and loaded.function != function):
            if loaded is not None:
                loaded.executor.shutdown(wait=False)
            loaded = self._loaded[function.name] = _Loaded(
                function, self.options.limit(function), self.options.arn(function),
                self._given.get(function.name))
            loaded.load()
            if self._watcher is not None and function.code_dir.is_dir():
                self._watcher.watch(function.name, function.code_dir.resolve())
        elif function.name in self._stale:
            self._stale.discard(function.name)
            loaded.load(reload=True)
        return loaded

    async def invoke(self, function: Function, event: Mapping[str, Any], *,
                     request_id: str) -> Outcome:
        """Run ``function`` on ``event``; never raises for what the function does."""
        loaded = self._get(function)
        logger = loaded.logger
        if loaded.limit == 0:
            logger.warning("RequestId: %s throttled: function %r has a reserved concurrency of 0",
                           request_id, function.name)
            return Throttled()
        if loaded.load_error is not None:
            logger.error("%s %s", loaded.load_error.error_type, loaded.load_error.error_message)
            return loaded.load_error
        handler = loaded.handler
        async with loaded.slots:
            _logs.log_start(logger, request_id)
            timeout_ms = int(function.timeout_s * 1000)
            context = LambdaContext(
                function_name=function.name, invoked_function_arn=loaded.arn,
                aws_request_id=request_id, timeout_ms=timeout_ms,
                deadline_ms=_clock_ms() + timeout_ms, clock_ms=_clock_ms,
                memory_limit_in_mb=function.memory_mb)
            began = time.perf_counter()
            try:
                if loaded.is_async:
                    value = await asyncio.wait_for(handler(event, context), function.timeout_s)  # type: ignore[misc]
                else:
                    run = contextvars.copy_context().run
                    future = asyncio.wrap_future(loaded.executor.submit(run, handler, event, context))  # type: ignore[arg-type]
                    value = await asyncio.wait_for(future, function.timeout_s)
                outcome: Outcome = Returned(value)
            except asyncio.TimeoutError:
                outcome = TimedOut(function.timeout_s)
                logger.error("%s %s", request_id, outcome.message)
            except Exception as exc:
                outcome = Raised.from_exception(exc, handler)  # type: ignore[arg-type]
                logger.error("%s", outcome.log_text())
            duration_ms = (time.perf_counter() - began) * 1000
            _logs.log_end(logger, request_id)
            if logger.isEnabledFor(logging.INFO):  # getrusage only for a line that is kept
                _logs.log_report(logger, request_id, duration_ms=duration_ms,
                                 memory_mb=function.memory_mb,
                                 max_memory_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
            return outcome

    async def aclose(self) -> None:
        """Stop watching; let go of the functions' threads (a running one finishes on its own)."""
        if self._watcher is not None:
            await self._watcher.aclose()
        if self._hook is not None:
            uninstall(self._hook)
            self._hook = None
        for loaded in self._loaded.values():
            loaded.executor.shutdown(wait=False, cancel_futures=True)
        self._loaded.clear()

    async def __aenter__(self) -> InProcessRunner:
        return self

    async def __aexit__(self, exc_type: Optional[type[BaseException]],
                        exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        await self.aclose()
