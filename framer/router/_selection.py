"""Route selection expressions: parsing, validation and evaluation.

Grammar (API Gateway's selection-expression rules, reference §1.2):

- ``$request.body.a.b``: a variable, running to the first character that cannot
  be part of a path (letters, digits (Unicode too), ``_``, ``-``, ``.``, ``[``, ``]``, quotes);
- ``${request.body.a.b}``: the same variable with explicit braces, so literals may
  follow it directly (``${request.body.version}-beta``);
- ``\\$``: a literal dollar (``\\$default`` is the static key ``$default``);
- anything else is literal text; an expression without variables is a static key.

Variables are evaluated once, never recursively. WebSocket APIs route on the
message body only, so the one source accepted is ``request.body`` followed by a
JSONPath made of ``.name``, ``[n]`` and ``['name']`` steps.

Evaluation: a missing path (or a JSON ``null``) gives ``""``; strings are used as
they are; other values are stringified the way API Gateway's Java JSONPath does
(``true``, ``12``, ``[item1, item2]``, ``{a=1, b=2}``): the docs only show the
array form, the rest follows the same convention. A message that is not JSON
cannot be evaluated at all: ``evaluate`` returns ``None`` and the caller uses
``$default``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from ._errors import BadRequestException

_BARE = re.compile(r"[\w.\[\]'\"-]+")
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_SOURCE = "request.body"

_JSON_START = frozenset('{["-0123456789tfnNI \t\n\r')
"""The first characters ``json.loads`` can accept: a value's first character
(Python also reads ``NaN``, ``Infinity`` and ``-Infinity``) or JSON whitespace.
Text starting with anything else (including the empty string) is not JSON, and
saying so costs no exception."""

_loads = json.loads


@dataclass(frozen=True, slots=True, kw_only=True)
class Literal:
    """Literal text in an expression."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyPath:
    """``$request.body`` plus a JSONPath, as a tuple of keys (str) and indexes (int)."""

    steps: tuple[Union[str, int], ...]


Part = Union[Literal, BodyPath]

_MISSING = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class SelectionExpression:
    """A parsed route selection expression; ``source`` is the text it came from."""

    source: str
    parts: tuple[Part, ...]

    @property
    def is_static(self) -> bool:
        """True when the expression has no variables (always the same key)."""
        return all(isinstance(p, Literal) for p in self.parts)

    def evaluate(self, message: str) -> str | None:
        """The route key this message selects, or ``None`` if it is not JSON
        (``evaluator(self)``, for one message)."""
        return evaluator(self)(message)

    def evaluate_json(self, body: Any) -> str:
        """The route key for an already-parsed JSON body."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, Literal):
                out.append(part.text)
            else:
                out.append(_stringify_top(_walk(body, part.steps)))
        return "".join(out)


def evaluator(expression: SelectionExpression) -> Callable[[str], Optional[str]]:
    """The function that evaluates ``expression`` for a message: the route key,
    or ``None`` for a message that is not JSON.  Made once per expression, it
    does less work per message for the usual ``$request.body.name``."""
    if expression.is_static:
        key = "".join(p.text for p in expression.parts if isinstance(p, Literal))
        return lambda message: key
    parts = expression.parts
    part = parts[0]
    # ``name`` when the expression is ``$request.body.name``: that one step is
    # read here, as ``_walk`` reads it, without a call per message.
    member: Optional[str] = None
    if len(parts) == 1 and isinstance(part, BodyPath) and len(part.steps) == 1 \
            and isinstance(part.steps[0], str):
        member = part.steps[0]
    evaluate_json = expression.evaluate_json

    def evaluate(message: str) -> Optional[str]:
        if message[:1] not in _JSON_START:
            return None
        try:
            body = _loads(message)
        except ValueError:
            return None
        if member is None:
            return evaluate_json(body)
        if type(body) is not dict:
            return ""  # a JSON array, string, number...: no such member
        value = body.get(member, _MISSING)
        if type(value) is str:
            return value
        return _stringify_top(value)

    return evaluate


def parse(expression: str) -> SelectionExpression:
    """Parse and validate a route selection expression.

    Raises ``BadRequestException`` naming the problem and its position.
    """
    if not isinstance(expression, str) or expression == "":
        raise BadRequestException(
            "Invalid routeSelectionExpression: it is required and must be a "
            "non-empty string such as $request.body.action")
    parts: list[Part] = []
    literal: list[str] = []
    i, n = 0, len(expression)

    def flush() -> None:
        if literal:
            parts.append(Literal(text="".join(literal)))
            literal.clear()

    while i < n:
        ch = expression[i]
        if ch == "\\" and i + 1 < n and expression[i + 1] == "$":
            literal.append("$")
            i += 2
        elif ch == "$" and i + 1 < n and expression[i + 1] == "{":
            end = expression.find("}", i + 2)
            if end < 0:
                raise _bad(expression, f"'${{' at position {i} has no closing '}}'")
            flush()
            parts.append(_variable(expression, expression[i + 2:end], i))
            i = end + 1
        elif ch == "$":
            match = _BARE.match(expression, i + 1)
            if match is None:
                raise _bad(expression, f"'$' at position {i} starts no variable "
                                       "(write \\$ for a literal dollar)")
            flush()
            parts.append(_variable(expression, match.group(0), i))
            i = match.end()
        else:
            literal.append(ch)
            i += 1
    flush()
    return SelectionExpression(source=expression, parts=tuple(parts))


def _variable(expression: str, name: str, position: int) -> BodyPath:
    if name != _SOURCE and not name.startswith(_SOURCE + ".") \
            and not name.startswith(_SOURCE + "["):
        hint = " (write \\$default for the static key $default)" \
            if name == "default" else ""
        raise _bad(expression, f"unsupported variable ${name} at position "
                               f"{position}: WebSocket APIs route on "
                               f"$request.body.<path>{hint}")
    rest = name[len(_SOURCE):]
    steps: list[Union[str, int]] = []
    j = 0
    while j < len(rest):
        m = _STEP.match(rest, j)
        if m is None:
            raise _bad(expression, f"bad JSONPath step {rest[j:]!r} in ${name}")
        if m.group(1) is not None:
            steps.append(m.group(1))
        elif m.group(2) is not None:
            steps.append(int(m.group(2)))
        else:
            steps.append(m.group(3) if m.group(3) is not None else m.group(4))
        j = m.end()
    return BodyPath(steps=tuple(steps))


def _bad(expression: str, why: str) -> BadRequestException:
    return BadRequestException(
        f"Invalid routeSelectionExpression {expression!r}: {why}")


def _walk(value: Any, steps: tuple[Union[str, int], ...]) -> Any:
    for step in steps:
        if isinstance(step, int):
            if isinstance(value, list) and step < len(value):
                value = value[step]
            else:
                return _MISSING
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return _MISSING
    return value


def _stringify_top(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    return _stringify(value)


def _stringify(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_stringify(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_stringify(v)}" for k, v in value.items()) + "}"
    return str(value)  # pragma: no cover - json.loads yields nothing else
