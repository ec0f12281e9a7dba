"""Lambda function names mapped to Python handlers (``--function NAME=module:callable``).

An ``AWS_PROXY`` integration (or a REQUEST authorizer) created over the
``apigatewayv2`` API names its Lambda function in ``integrationUri``
(``authorizerUri``), e.g.
``arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:chat/invocations``.
framer runs the Python callable mapped to that function name instead.

A ``--function`` mapping is a ``framer.functions.FunctionHandler``: the
server's runner invokes it as a Lambda function (worker processes, or
in-process with ``--in-process``).  A callable given in Python keeps its
module and qualified name under the function's name, so the runner makes it a
function with ``function_for`` (or runs it in-process if it is nested).

Only the name is persisted (a callable cannot be); at startup the name is
looked up again in the mappings given on the command line. A name with no
mapping still loads, and every call of it fails (the client sees
``Internal server error``, or a 502 on ``$connect``) until it is mapped.
"""

from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

from framer.functions import (Function, FunctionError, FunctionHandler, function_handler,
                              runtime_version)
from framer.functions._inprocess import import_spec
from framer.functions._spec import NAME_PATTERN, check_function_name, is_function_name
from framer.router import BadRequestException

from ._errors import ControlPlaneError

__all__ = ["FunctionRegistry", "function_name", "load_callable", "FunctionSpecError"]

Handler = Callable[..., Any]

# ...:function:NAME or ...:function:NAME:qualifier, optionally inside the
# apigateway "lambda:path/2015-03-31/functions/<arn>/invocations" URI.
_FUNCTION_ARN = re.compile(r"arn:aws[a-zA-Z-]*:lambda:[^:/]*:[^:/]*:function:"
                           f"({NAME_PATTERN})" r"(?::[A-Za-z0-9$_-]+)?(?:/invocations)?$")


class FunctionSpecError(ControlPlaneError, ValueError):
    """A ``NAME=module:callable`` mapping that cannot be used (the message says why)."""


def function_name(uri: str) -> Optional[str]:
    """The Lambda function name a URI names: a function ARN, the apigateway
    invocation URI wrapping one, or a bare name; ``None`` if it names none."""
    match = _FUNCTION_ARN.search(uri)
    if match is not None:
        return match.group(1)
    if is_function_name(uri):
        return uri
    return None


def load_callable(spec: str) -> Handler:
    """The callable ``module:attr`` (dots allowed in attr; or Lambda's
    ``file_or_module.function``) names, imported with the current directory
    on ``sys.path``."""
    try:
        value = import_spec(spec)
    except FunctionError as exc:
        raise FunctionSpecError(f"handler {spec!r}: {exc}") from None
    if not callable(value):
        raise FunctionSpecError(f"handler {spec!r} is not callable")
    return value  # type: ignore[no-any-return]


def _is_async(fn: Handler) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)
    return not inspect.isfunction(fn) and inspect.iscoroutinefunction(call)


def _named(name: str, fn: Handler) -> Handler:
    """``fn`` under the function's name (the router uses ``__name__`` as
    ``context.function_name``), keeping it sync or async as it was."""
    if _is_async(fn):
        @functools.wraps(fn)
        async def call_async(event: Any, context: Any) -> Any:
            return await fn(event, context)
        call_async.__name__ = name
        return call_async

    @functools.wraps(fn)
    def call(event: Any, context: Any) -> Any:
        return fn(event, context)
    call.__name__ = name
    return call


class UnmappedFunctionError(RuntimeError):
    """Raised when an integration's function has no ``--function`` mapping."""


def _unmapped(name: str) -> Handler:
    def missing(event: Any, context: Any) -> Any:
        raise UnmappedFunctionError(
            f"Lambda function {name!r} is not mapped to a Python handler: restart "
            f"framer serve with --function {name}=module:callable")
    missing.__name__ = name
    return missing


class FunctionRegistry:
    """The ``--function`` mappings: Lambda function name -> Python handler."""

    def __init__(self, functions: Optional[Mapping[str, Handler]] = None) -> None:
        self._handlers: dict[str, Handler] = {}
        self._specs: dict[str, str] = {}
        for name, fn in (functions or {}).items():
            self.add(name, fn)

    def add(self, name: str, fn: Handler, *, spec: Optional[str] = None) -> None:
        """Map ``name`` to ``fn`` (``spec`` is how it was given, for listings)."""
        try:
            check_function_name(name)
        except FunctionError as exc:
            raise FunctionSpecError(str(exc)) from None
        if not callable(fn):
            raise FunctionSpecError(f"function {name!r}: {fn!r} is not callable")
        self._handlers[name] = fn if isinstance(fn, FunctionHandler) else _named(name, fn)
        self._specs[name] = spec or f"{getattr(fn, '__module__', '?')}:" \
                                    f"{getattr(fn, '__qualname__', repr(fn))}"

    def add_spec(self, mapping: str) -> None:
        """Add one ``NAME=module:callable`` mapping, as given on the command line:
        function ``NAME`` with that handler and the current directory as its
        code directory (Lambda's defaults otherwise: 3 s, 128 MB).  The module
        is imported here once, to report a wrong mapping at startup."""
        name, sep, spec = mapping.partition("=")
        if not sep or not name or not spec:
            raise FunctionSpecError(
                f"--function must be NAME=module:callable, got {mapping!r}")
        fn = load_callable(spec)
        try:
            function = Function(name=name, handler=spec, code_dir=Path.cwd(),
                                runtime=runtime_version())
        except FunctionError as exc:
            raise FunctionSpecError(str(exc)) from None
        self.add(name, function_handler(function, fn), spec=spec)

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._handlers))

    def __len__(self) -> int:
        return len(self._handlers)

    def spec(self, name: str) -> str:
        """How ``name`` was mapped (``module:callable``)."""
        return self._specs[name]

    def handler(self, name: str, *, strict: bool = True) -> Handler:
        """The handler of ``name``. Unknown names are a ``BadRequestException``
        when ``strict`` (creating over the API), else a handler that fails
        on every call (restoring saved state)."""
        fn = self._handlers.get(name)
        if fn is not None:
            return fn
        if strict:
            known = ", ".join(sorted(self._handlers)) or "none"
            raise BadRequestException(
                f"Invalid Lambda function {name!r}: framer maps function names to "
                f"Python handlers with `framer serve --function {name}=module:callable` "
                f"(mapped: {known})")
        return _unmapped(name)

    def resolve_uri(self, uri: Optional[str], field: str, *, strict: bool = True) -> tuple[str, Handler]:
        """``(function name, handler)`` for an integration or authorizer URI."""
        if not uri:
            raise BadRequestException(
                f"Invalid {field}: an AWS_PROXY integration or REQUEST authorizer needs "
                "a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME) or "
                "its apigateway invocation URI")
        name = function_name(uri)
        if name is None:
            raise BadRequestException(
                f"Invalid {field} {uri!r}: it names no Lambda function; use "
                "arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/"
                "arn:aws:lambda:REGION:ACCOUNT:function:NAME/invocations")
        return name, self.handler(name, strict=strict)
