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
import traceback
from types import TracebackType
from typing import Any, Callable, Mapping, Optional, Protocol, Union

from ._hook import ConnectionsEndpoints
from ._spec import Function

__all__ = ["Crashed", "Outcome", "Raised", "Returned", "Runner", "Throttled", "TimedOut"]


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
