"""What an invocation gave (``Outcome``) and what every runner offers (``Runner``).

The kinds follow what Lambda reports to its caller ("Invoke", Lambda API
reference, docs.aws.amazon.com/lambda/latest/api/API_Invoke.html, and "Lambda
function errors in Python", docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html):
a returned value; a function error (``errorMessage``/``errorType``/
``stackTrace``, ``X-Amz-Function-Error: Unhandled``); a timeout ("Task timed
out after N seconds"); the runtime exiting (``Runtime.ExitError``); and a
throttle (``TooManyRequestsException``, a reserved concurrency of 0).

API Gateway answers every kind but a returned value alike: a message route
sends ``{"message": "Internal server error", ...}`` and a ``$connect`` route
refuses the handshake with HTTP 502
(shared/reference/apigateway-websocket.md, sections 2.3 and 6.5: the
exception captures of serverless-offline's AWS-verified tests and public
experiment notes); only
its own 29 s integration timeout gives ``Endpoint request timed out``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re
import traceback
from types import TracebackType
from typing import Any, Callable, Mapping, Optional, Protocol, Union

from ._environment import DEFAULT_REGION
from ._hook import ConnectionsEndpoints
from ._spec import Function

__all__ = ["DEFAULT_CONCURRENCY", "Crashed", "Outcome", "Raised", "Returned", "Runner", "RunnerOptions",
           "Throttled", "TimedOut"]

# Per function, locally, without a reserved concurrency (Lambda's account
# default is 1000; ten keeps a laptop responsive).
DEFAULT_CONCURRENCY = 10


@dataclass(frozen=True, slots=True)
class Returned:
    """The handler returned ``value`` (JSON-compatible, as Lambda serializes it)."""

    value: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Raised:
    """The handler raised (or could not be loaded): Lambda's error payload."""

    error_type: str
    error_message: str
    stack_trace: tuple[str, ...] = ()

    @classmethod
    def from_exception(cls, exc: BaseException, handler: Callable[..., Any]) -> Raised:
        """Lambda's error for ``exc``: its stack from the handler's frame on
        (the runner's own frames left out), or all of it if that frame is absent."""
        code = getattr(getattr(handler, "__func__", handler), "__code__", None)
        frames = list(traceback.walk_tb(exc.__traceback__))
        for index, (frame, _) in enumerate(frames):
            if frame.f_code is code:
                frames = frames[index:]
                break
        stack = traceback.StackSummary.extract(iter(frames))
        return cls(error_type=type(exc).__name__, error_message=str(exc),
                   stack_trace=tuple(stack.format()))

    def log_text(self) -> str:
        """What Lambda's Python runtime logs for an unhandled exception."""
        return (f"[ERROR] {self.error_type}: {self.error_message}\n"
                "Traceback (most recent call last):\n" + "".join(self.stack_trace).rstrip("\n"))

    def payload(self, request_id: str) -> dict[str, Any]:
        """The JSON body Lambda returns for this error."""
        return {"errorMessage": self.error_message, "errorType": self.error_type,
                "requestId": request_id, "stackTrace": list(self.stack_trace)}


@dataclass(frozen=True, slots=True)
class TimedOut:
    """The function ran past its timeout and was stopped."""

    timeout_s: float

    @property
    def message(self) -> str:
        return f"Task timed out after {self.timeout_s:.2f} seconds"


@dataclass(frozen=True, slots=True)
class Crashed:
    """The worker process ended during the invocation (``os._exit``, a signal)."""

    reason: str  # e.g. "exit status 1", "signal: segmentation fault"

    @property
    def message(self) -> str:
        return f"Runtime exited with error: {self.reason}"


@dataclass(frozen=True, slots=True)
class Throttled:
    """The function may not run at all (reserved concurrency 0)."""

    message: str = field(default="Rate Exceeded.")


Outcome = Union[Returned, Raised, TimedOut, Crashed, Throttled]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunnerOptions:
    """What both runners are configured with.

    ``region`` and ``account_id`` go into the environment and ARNs;
    ``connections_hook=False`` leaves botocore alone (see ``_hook``);
    ``reload=True`` watches each invoked function's code directory every
    ``reload_interval_s``; ``default_concurrency`` is the limit of a
    function without a reserved concurrency; ``credentials`` (key id,
    secret), when given, are the AWS credentials of every worker, so that
    their @connections calls pass a server that requires SigV4 with that key.
    """

    region: str = DEFAULT_REGION
    account_id: str = "123456789012"
    connections_hook: bool = True
    reload: bool = False
    reload_interval_s: float = 1.0
    default_concurrency: int = DEFAULT_CONCURRENCY
    credentials: Optional[tuple[str, str]] = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", self.region):
            raise ValueError(f"region {self.region!r} is not an AWS region name (us-east-1)")
        if not re.fullmatch(r"\d{12}", self.account_id):
            raise ValueError(f"account_id {self.account_id!r} must be 12 digits")
        if not self.reload_interval_s > 0:
            raise ValueError(f"reload_interval_s must be positive, not {self.reload_interval_s!r}")
        if self.default_concurrency < 1:
            raise ValueError(
                f"default_concurrency must be 1 or more, not {self.default_concurrency!r}")

    def limit(self, function: Function) -> int:
        """How many invocations of ``function`` may run at once."""
        if function.reserved_concurrency is not None:
            return function.reserved_concurrency
        return self.default_concurrency

    def arn(self, function: Function) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{function.name}"


class Runner(Protocol):
    """What the server calls: ``WorkerRunner`` and ``InProcessRunner`` both are one."""

    async def invoke(self, function: Function, event: Mapping[str, Any], *,
                     request_id: str) -> Outcome: ...

    def set_connections(self, connections: ConnectionsEndpoints) -> None: ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Runner: ...

    async def __aexit__(self, exc_type: Optional[type[BaseException]],
                        exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> None: ...
