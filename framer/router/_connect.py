"""``$connect`` and its REQUEST authorizer: the rules of a handshake's decision.

Choices where API Gateway's behaviour is not public (reference §9): an
authorizer timeout is a 500 like any other authorizer failure; a ``$connect``
handler returning ``None`` or a dict without ``statusCode`` accepts the
connection, any other non-dict result is a 502; a ``$connect`` route without
an integration accepts it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Optional, Sequence, Union

from ._model import Authorizer, Integration, Stage
from ._steps import Accept, Connection, HttpResponse, Outcome, Raised, Refuse, TimedOut

Headers = Sequence[tuple[str, str]]

AUTHORIZER_TIMEOUT_S = 29.0
"""framer's authorizer timeout: the integration cap (API Gateway's is not public)."""

AUTHORIZER_RESULT_LIMIT = 8192
"""Lambda authorizer result size quota, 8 KB (reference §6.1)."""

HOP_BY_HOP = frozenset({"connection", "upgrade", "sec-websocket-accept",
                        "content-length", "transfer-encoding"})
"""Headers of the upgrade itself: not forwarded to HTTP integrations, not
taken from a ``$connect`` result."""


def json_body(message: str) -> bytes:
    """API Gateway's JSON error body, ``{"message":...}``."""
    return json.dumps({"message": message}, separators=(",", ":")).encode()


def refuse(status: int, message: str, why: str) -> Refuse:
    """A refusal with API Gateway's JSON body ``message``; ``why`` is for logs."""
    return Refuse(status=status, body=json_body(message), reason=why)


def header(headers: Headers, name: str) -> Optional[str]:
    wanted = name.lower()
    found = None
    for n, v in headers:
        if n.lower() == wanted:
            found = v
    return found


def missing_identity(authorizer: Authorizer, headers: Headers,
                      query: Sequence[tuple[str, str]], stage: Stage) -> Optional[str]:
    """The first identity source absent or empty on this request, if any."""
    for source in authorizer.identity_source:
        value: Optional[str]
        if source.startswith("route.request.header."):
            value = header(headers, source[len("route.request.header."):])
        elif source.startswith("route.request.querystring."):
            name = source[len("route.request.querystring."):]
            value = None
            for n, v in query:
                if n == name:
                    value = v
        elif source.startswith("stageVariables."):
            value = stage.stage_variables.get(source[len("stageVariables."):])
        else:
            continue  # context.* values always exist at connect time
        if value is None or value == "":
            return source
    return None


def authorize(outcome: Outcome, method_arn: str) -> Union[Refuse, dict[str, Any]]:
    """Turn an authorizer outcome into a refusal or ``requestContext.authorizer``.

    401: "Unauthorized" (raised or returned); 403: explicit Deny or no Allow
    matching the method ARN; 500: crash, timeout, malformed or oversized result.
    """
    if isinstance(outcome, TimedOut):
        return refuse(500, "Internal server error", "authorizer timed out")
    if isinstance(outcome, Raised):
        if str(outcome.error) == "Unauthorized":
            return refuse(401, "Unauthorized", "authorizer raised Unauthorized")
        return refuse(500, "Internal server error",
                      f"authorizer raised {type(outcome.error).__name__}: {outcome.error}")
    result = outcome.value
    if result == "Unauthorized":
        return refuse(401, "Unauthorized", "authorizer returned Unauthorized")
    problem = _policy_problem(result)
    if problem is not None:
        return refuse(500, "Internal server error", f"invalid authorizer result: {problem}")
    statements = result["policyDocument"]["Statement"]
    if isinstance(statements, Mapping):
        statements = [statements]
    allowed = False
    for statement in statements:
        if not (_any_match(statement["Action"], "execute-api:Invoke", fold=True)
                and _any_match(statement["Resource"], method_arn, fold=False)):
            continue
        if statement["Effect"] == "Deny":
            return refuse(403, "Forbidden", "authorizer policy denies $connect")
        allowed = True
    if not allowed:
        return refuse(403, "Forbidden", f"no Allow statement matches {method_arn}")
    context: dict[str, Any] = {"principalId": result["principalId"]}
    context.update(result.get("context") or {})
    context["integrationLatency"] = outcome.elapsed_ms or 0
    return context


def _policy_problem(result: Any) -> Optional[str]:
    if not isinstance(result, Mapping):
        return f"expected an object, got {type(result).__name__}"
    try:
        size = len(json.dumps(result))
    except (TypeError, ValueError):
        return "not JSON-serialisable"
    if size > AUTHORIZER_RESULT_LIMIT:
        return f"{size} bytes, over the {AUTHORIZER_RESULT_LIMIT}-byte limit"
    if not isinstance(result.get("principalId"), str):
        return "principalId missing or not a string"
    policy = result.get("policyDocument")
    if not isinstance(policy, Mapping):
        return "policyDocument missing"
    statements = policy.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return "policyDocument.Statement missing or empty"
    for s in statements:
        if not isinstance(s, Mapping) or s.get("Effect") not in ("Allow", "Deny"):
            return "a statement's Effect is not Allow or Deny"
        for member in ("Action", "Resource"):
            value = s.get(member)
            if not (isinstance(value, str) or (
                    isinstance(value, list) and value
                    and all(isinstance(v, str) for v in value))):
                return f"a statement's {member} is not a string or list of strings"
    context = result.get("context")
    if context is not None:
        if not isinstance(context, Mapping):
            return "context is not an object"
        for k, v in context.items():
            if not isinstance(v, (str, int, float, bool)):
                return f"context[{k!r}] is not a string, number or boolean"
    return None


def _any_match(patterns: Union[str, list[str]], value: str, *, fold: bool) -> bool:
    items = [patterns] if isinstance(patterns, str) else patterns
    for pattern in items:
        p, v = (pattern.lower(), value.lower()) if fold else (pattern, value)
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                        for c in p)
        if re.fullmatch(regex, v, flags=re.DOTALL):
            return True
    return False


def connect_result(conn: Connection, outcome: Outcome) -> Union[Accept, Refuse]:
    """The handshake decision from a ``$connect`` integration outcome."""
    if isinstance(outcome, TimedOut):
        return refuse(504, "Endpoint request timed out", "$connect integration timed out")
    if isinstance(outcome, Raised):
        return refuse(502, "Internal server error",
                      f"$connect integration raised {type(outcome.error).__name__}: "
                      f"{outcome.error}")
    value = outcome.value
    headers: list[tuple[str, str]] = []
    body = b""
    if isinstance(value, HttpResponse):
        status = value.status
        headers = list(value.headers)
        body = value.body
    elif value is None:
        status = 200
    elif isinstance(value, Mapping):
        raw = value.get("statusCode", 200)
        try:
            status = int(raw)
        except (TypeError, ValueError):
            return refuse(502, "Internal server error",
                          f"$connect statusCode {raw!r} is not an integer")
        for name, item in (value.get("headers") or {}).items():
            headers.append((str(name), str(item)))
        for name, items in (value.get("multiValueHeaders") or {}).items():
            for item in items:
                if (str(name), str(item)) not in headers:
                    headers.append((str(name), str(item)))
        raw_body = value.get("body")
        if isinstance(raw_body, str):
            body = raw_body.encode("utf-8")
    else:
        return refuse(502, "Internal server error",
                      f"$connect handler returned a {type(value).__name__}")
    if not 200 <= status < 300:
        return Refuse(status=status, headers=tuple(headers), body=body,
                      reason=f"$connect integration answered {status}")
    subprotocol = None
    extra: list[tuple[str, str]] = []
    for name, item in headers:
        if name.lower() == "sec-websocket-protocol":
            subprotocol = item
        elif name.lower() not in HOP_BY_HOP:
            extra.append((name, item))
    return Accept(connection=conn, subprotocol=subprotocol, headers=tuple(extra))


def mock_status(integration: Integration) -> dict[str, Any]:
    template = integration.request_templates.get("$default")
    if template:
        try:
            parsed = json.loads(template)
        except ValueError:
            parsed = None
        if isinstance(parsed, Mapping) and "statusCode" in parsed:
            return {"statusCode": parsed["statusCode"]}
    return {"statusCode": 200}
