"""What a Lambda handler is told about itself: its names and its ``context``.

framer calls handlers in-process, so a "function" is named after the handler
(``__name__``, with the characters Lambda refuses replaced by ``-``); the ARN
and log group follow Lambda's layout for the Gateway's region and account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

from framer.functions._context import LambdaContext
from framer.functions._spec import NAME_CHARACTERS

from ._model import Handler

_NOT_IN_NAMES = re.compile(f"[^{NAME_CHARACTERS}]")
_make_context = LambdaContext._make  # bound once: a classmethod read makes a method object


@dataclass(frozen=True, slots=True)
class FunctionNames:
    """A handler's Lambda names in one region and account (slots: every
    message reads them, and a slot is read faster than a NamedTuple field)."""

    name: str
    arn: str
    region: str
    account_id: str
    log_group: str


def handler_name(handler: Handler) -> str:
    """The function name of an in-process handler: its ``__name__``
    (``"handler"`` for a callable without one)."""
    return getattr(handler, "__name__", "handler")


def function_names(function_name: str, region: str, account_id: str) -> FunctionNames:
    """The Lambda names of a handler called ``function_name``."""
    name = _NOT_IN_NAMES.sub("-", function_name)
    return FunctionNames(name, f"arn:aws:lambda:{region}:{account_id}:function:{name}",
                         region, account_id, f"/aws/lambda/{name}")


ContextMaker = Callable[[str, int, Optional[Callable[[], int]]], LambdaContext]
"""``make(aws_request_id, now_ms, clock_ms)``: the ``context`` of one call
made at ``now_ms`` (``context_maker``)."""


def context_maker(names: FunctionNames, timeout_ms: int) -> ContextMaker:
    """How the calls of one handler with one timeout get their ``context``:
    made once (a route's plan keeps it), called for each message."""
    return partial(_make_context, names.name, names.arn, names.log_group, timeout_ms)


def lambda_context(names: FunctionNames, aws_request_id: str, timeout_ms: int,
                   now_ms: int, clock_ms: Optional[Callable[[], int]]) -> LambdaContext:
    """The ``context`` of one call made at ``now_ms``."""
    return context_maker(names, timeout_ms)(aws_request_id, now_ms, clock_ms)
