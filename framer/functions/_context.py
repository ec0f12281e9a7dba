"""The ``context`` object a Lambda handler receives: one class for every way
framer runs a function (in the server's process or in a worker process).

Attributes are those of AWS's Python runtime ("AWS Lambda context object in
Python", docs.aws.amazon.com/lambda/latest/dg/python-context.html).
"""

from __future__ import annotations

from typing import Callable, Optional

__all__ = ["LambdaContext"]

_new = object.__new__


class LambdaContext:
    """A stand-in for the Lambda context object handlers receive."""

    def __init__(
        self,
        *,
        function_name: str,
        invoked_function_arn: str,
        aws_request_id: str,
        timeout_ms: int,
        deadline_ms: int,
        clock_ms: Optional[Callable[[], int]] = None,
        memory_limit_in_mb: int = 128,
        function_version: str = "$LATEST",
        log_group_name: Optional[str] = None,
        log_stream_name: str = "framer",
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = log_group_name or f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream_name
        self.deadline_ms = deadline_ms
        self._timeout_ms = timeout_ms
        self._clock_ms = clock_ms

    @classmethod
    def _make(cls, function_name: str, invoked_function_arn: str, log_group_name: str,
              timeout_ms: int, aws_request_id: str, now_ms: int,
              clock_ms: Optional[Callable[[], int]]) -> LambdaContext:
        """``LambdaContext(...)`` for the router's message path, of a call made
        at ``now_ms`` (its deadline ``timeout_ms`` later): the same attributes
        with their defaults, set without a keyword call (a few times cheaper).
        Positional, in this order so that a route binds its names and timeout
        once (``functools.partial``) and a message gives the rest."""
        context = _new(cls)
        context.function_name = function_name
        context.function_version = "$LATEST"
        context.invoked_function_arn = invoked_function_arn
        context.memory_limit_in_mb = 128
        context.aws_request_id = aws_request_id
        context.log_group_name = log_group_name
        context.log_stream_name = "framer"
        context.deadline_ms = now_ms + timeout_ms
        context._timeout_ms = timeout_ms
        context._clock_ms = clock_ms
        return context

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the timeout; without a clock, the whole
        timeout (framer's sans-IO router never reads the clock itself)."""
        if self._clock_ms is None:
            return self._timeout_ms
        return max(0, self.deadline_ms - self._clock_ms())
