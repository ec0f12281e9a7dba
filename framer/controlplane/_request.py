"""What a control-plane operation is given and gives back.

:class:`Request` (the path parameters, query, JSON body with typed member
checks, and the gateway it acts on), :class:`Reply` (status and JSON payload),
:class:`Operation` (one row of the operation table: name, method, path
pattern, handler) and :func:`page` (the ``maxResults`` / ``nextToken`` paging
of list calls).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence

from framer.router import BadRequestException, Gateway

from ._functions import FunctionRegistry

__all__ = ["Body", "Request", "Reply", "Operation", "page", "DEFAULT_PAGE_SIZE",
           "MAX_PAGE_SIZE"]

#: GetApis & co.: how many items a page holds when ``maxResults`` is not given.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


class Body:
    """A request's JSON members, with type checks that name the member."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def _get(self, name: str, kinds: tuple[type, ...], what: str, required: bool) -> Any:
        """The member's value, ``None`` when absent, else a type check."""
        value = self.data.get(name)
        if value is None:
            if required:
                raise BadRequestException(f"Invalid input: {name} is required")
            return None
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            raise BadRequestException(
                f"Invalid {name}: expected {what}, got {json.dumps(value)[:80]}")
        return value

    def text(self, name: str, *, required: bool = False) -> Optional[str]:
        return self._get(name, (str,), "a string", required)  # type: ignore[no-any-return]

    def integer(self, name: str) -> Optional[int]:
        return self._get(name, (int,), "an integer", False)  # type: ignore[no-any-return]

    def flag(self, name: str) -> Optional[bool]:
        return self._get(name, (bool,), "a boolean", False)  # type: ignore[no-any-return]

    def obj(self, name: str) -> Optional[dict[str, Any]]:
        return self._get(name, (dict,), "an object", False)  # type: ignore[no-any-return]

    def strings(self, name: str, *, required: bool = False) -> Optional[list[str]]:
        value = self._get(name, (list,), "a list of strings", required)
        if value is not None and not all(isinstance(v, str) for v in value):
            raise BadRequestException(f"Invalid {name}: expected a list of strings")
        return value  # type: ignore[no-any-return]

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed control-plane request, and what it acts on."""

    params: Mapping[str, str]
    """The path's ``{name}`` parts, percent-decoded."""
    query: Mapping[str, list[str]]
    body: Body
    gateway: Gateway
    functions: FunctionRegistry
    endpoint_host: str
    """``HOST:PORT`` for ``apiEndpoint``: the request's ``Host``, else the default."""

    def __getitem__(self, name: str) -> str:
        return self.params[name]

    def handler_for(self, uri: Optional[str], field_name: str) -> Any:
        """The Python handler of the Lambda function named in ``uri``
        (``BadRequestException`` naming ``field_name`` if it cannot be used)."""
        return self.functions.resolve_uri(uri, field_name)[1]


class Reply(NamedTuple):
    """An operation's success: the status and the JSON payload (``None``: no body)."""

    status: int
    payload: Any = None


Handler = Callable[[Request], Reply]


@dataclass(frozen=True, slots=True)
class Operation:
    """One ``apigatewayv2`` operation: ``method`` on ``path`` (``{name}`` marks a
    path parameter) answered by ``handler``; build it with :meth:`at`."""

    name: str
    method: str
    path: str
    handler: Handler
    regex: re.Pattern[str] = field(repr=False, compare=False)
    """``path`` as a regular expression with a named group per parameter."""

    @classmethod
    def at(cls, method: str, path: str, name: str, handler: Handler) -> "Operation":
        """The operation ``name``: ``method`` on ``path``, answered by ``handler``."""
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")
        return cls(name=name, method=method, path=path, handler=handler, regex=regex)


def page(request: Request, items: Sequence[Any],
         wire: Callable[[Any], dict[str, Any]]) -> Reply:
    """A list call's answer: the page ``maxResults`` / ``nextToken`` ask for,
    as ``{"items": [...], "nextToken": ...}``."""
    raw_max = request.query.get("maxResults", [None])[0]
    size = DEFAULT_PAGE_SIZE
    if raw_max is not None:
        try:
            size = int(raw_max)
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise BadRequestException(
                f"Invalid maxResults {raw_max!r}: must be an integer from 1 to "
                f"{MAX_PAGE_SIZE}")
    start = 0
    token = request.query.get("nextToken", [None])[0]
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii"))
        except (ValueError, binascii.Error, UnicodeError):
            start = -1
        if start < 0:
            raise BadRequestException(f"Invalid nextToken {token!r}")
    chosen = items[start:start + size]
    out: dict[str, Any] = {"items": [wire(item) for item in chosen]}
    if start + size < len(items):
        out["nextToken"] = base64.urlsafe_b64encode(
            str(start + size).encode("ascii")).decode("ascii")
    return Reply(200, out)
