"""framer.functions: the Lambda functions framer runs, as Lambda runs them.

The server calls one coroutine per invocation, on either runner::

    async with WorkerRunner(RunnerOptions(region="us-east-1", reload=True)) as runner:
        runner.set_connections(ConnectionsEndpoints(
            by_api_id={"abc123": "http://127.0.0.1:8080"},
            by_host={"127.0.0.1:8080": "http://127.0.0.1:8080"}))
        outcome = await runner.invoke(function, event, request_id="...")

``outcome`` is one of ``Returned(value)``, ``Raised(error_type,
error_message, stack_trace)``, ``TimedOut(timeout_s)``, ``Crashed(reason)``
or ``Throttled()``; ``invoke`` never raises for what the function does.
``WorkerRunner.start`` is ``invoke`` without a coroutine (the outcome's
future, ``abandon`` to give up on it): the server's message path completes
worker invocations by callback, with no task per message.
``WorkerRunner`` (the default) runs each function in worker processes of its
own; ``InProcessRunner`` (``--in-process``) has the same interface and runs
handlers in the server's process.  ``aclose()`` (or leaving ``async with``)
stops every worker and watcher.  ``set_connections`` says where the
@connections calls of the APIs framer serves go (call it again when they
change); ``RunnerOptions(connections_hook=False)`` turns the boto3 rewrite off.

- ``_spec``: ``Function``, a function's definition (name, handler, code
  directory, runtime, environment, timeout, memory, concurrency), validated;
  the rules of a function name and a handler string (``split_handler``).
- ``_context``: ``LambdaContext``, the ``context`` object handlers receive.
- ``_inprocess``: ``load_handler``/``import_handler``, a handler imported into a
  process (``import_spec``: a ``module:attr`` named on the command line);
  ``function_for``, the ``Function`` of a module-level callable.
- ``_outcome``: ``Outcome`` (what an invocation gave), ``RunnerOptions`` and the
  ``Runner`` protocol.
- ``_environment``: Lambda's environment variables and SAM's ``--env-vars`` file.
- ``_wire``: length-prefixed JSON between the server and a worker.
- ``_worker``: a worker process's main loop (output capture, context, errors).
- ``_pool``: ``WorkerRunner``, worker processes per function, pipelining, timeouts, crashes.
- ``_process``: a worker process as the server holds it (its sockets, its queue, killing it).
- ``_started``: ``StartRecord``, which invocations a worker began, shared with the server.
- ``_local``: ``InProcessRunner``, handlers in this process, a thread pool per function.
- ``_hook``: @connections calls from boto3 in a function land on framer.
- ``_watch``: ``--reload``, mtime polling of code directories.
- ``_handler``: ``FunctionHandler``, a ``Function`` where a router wants a handler.
- ``_logs``: ``START``/``END``/``REPORT`` lines through ``logging``.
- ``_coroutine``: ``resume``, finishing an ``async def`` handler started by hand.

``WorkerRunner`` and ``InProcessRunner`` are imported on first use, so
importing ``LambdaContext`` (as ``framer.router`` does) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._context import LambdaContext
from ._environment import DEFAULT_REGION, EnvVarsFile, lambda_environment, runtime_version
from ._handler import FunctionHandler, function_handler
from ._hook import ConnectionsEndpoints
from ._inprocess import function_for, load_handler
from ._outcome import (DEFAULT_CONCURRENCY, Crashed, Outcome, Raised, Returned, Runner,
                       RunnerOptions, Throttled, TimedOut)
from ._spec import DEFAULT_RUNTIME, Function, FunctionError, split_handler

if TYPE_CHECKING:
    from ._local import InProcessRunner
    from ._pool import WorkerRunner

__all__ = [
    "ConnectionsEndpoints",
    "Crashed",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_REGION",
    "DEFAULT_RUNTIME",
    "EnvVarsFile",
    "Function",
    "FunctionError",
    "FunctionHandler",
    "InProcessRunner",
    "LambdaContext",
    "Outcome",
    "Raised",
    "Returned",
    "Runner",
    "RunnerOptions",
    "Throttled",
    "TimedOut",
    "WorkerRunner",
    "function_for",
    "function_handler",
    "lambda_environment",
    "load_handler",
    "runtime_version",
    "split_handler",
]


def __getattr__(name: str) -> Any:
    # The runners (asyncio, subprocesses, threads) are imported when first
    # named: framer.router imports LambdaContext from here and needs none of them.
    if name == "WorkerRunner":
        from ._pool import WorkerRunner
        return WorkerRunner
    if name == "InProcessRunner":
        from ._local import InProcessRunner
        return InProcessRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
