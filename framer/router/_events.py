"""Lambda-proxy events for WebSocket APIs, field for field as API Gateway sends
them (real captures in the reference §2.2 and §3).

- CONNECT: ``headers``/``multiValueHeaders`` without ``Connection``, ``Upgrade``
  and ``content-length``; query parameters only when the URL had a query string.
- MESSAGE: no headers at all; ``messageId`` only here; ``body`` is the text.
- DISCONNECT: API Gateway's fixed, mostly empty headers plus
  ``disconnectStatusCode`` and ``disconnectReason``.
- The REQUEST authorizer event keeps every header and always carries
  (possibly empty) query and stage-variable maps.

``stageVariables`` appears on integration events only when the stage has
variables (the captures, made on stages without variables, have no such key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from ._time import clf

Headers = Sequence[tuple[str, str]]

_NOT_FORWARDED = frozenset({"connection", "upgrade", "content-length"})


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestFacts:
    """What every event of one request shares (``requestContext`` inputs)."""

    api_id: str
    stage: str
    domain_name: str
    connection_id: str
    connected_at_ms: int
    request_id: str
    request_time_ms: int
    source_ip: str
    user_agent: Optional[str] = None
    authorizer: Optional[Mapping[str, Any]] = None


def identity(source_ip: str, user_agent: Optional[str]) -> dict[str, str]:
    """``requestContext.identity``: ``userAgent`` only when the client sent one."""
    if user_agent is None:
        return {"sourceIp": source_ip}
    return {"userAgent": user_agent, "sourceIp": source_ip}


def request_context(
    facts: RequestFacts,
    *,
    route_key: str,
    event_type: str,
    message_id: Optional[str] = None,
    disconnect: Optional[tuple[int, str]] = None,
) -> dict[str, Any]:
    """``requestContext`` with the captures' key order."""
    ctx: dict[str, Any] = {"routeKey": route_key}
    if message_id is not None:
        ctx["messageId"] = message_id
    if disconnect is not None:
        ctx["disconnectStatusCode"] = disconnect[0]
    ctx["eventType"] = event_type
    ctx["extendedRequestId"] = facts.request_id
    ctx["requestTime"] = clf(facts.request_time_ms)
    ctx["messageDirection"] = "IN"
    if disconnect is not None:
        ctx["disconnectReason"] = disconnect[1]
    ctx["stage"] = facts.stage
    ctx["connectedAt"] = facts.connected_at_ms
    ctx["requestTimeEpoch"] = facts.request_time_ms
    ctx["identity"] = identity(facts.source_ip, facts.user_agent)
    ctx["requestId"] = facts.request_id
    ctx["domainName"] = facts.domain_name
    ctx["connectionId"] = facts.connection_id
    ctx["apiId"] = facts.api_id
    if facts.authorizer is not None:
        ctx["authorizer"] = dict(facts.authorizer)
    return ctx


def header_maps(headers: Headers) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``headers`` (last value wins, as API Gateway does) and ``multiValueHeaders``.

    Names keep the client's spelling; repeats are grouped case-insensitively
    under the first spelling seen.
    """
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for name, value in headers:
        key = spelling.setdefault(name.lower(), name)
        single[key] = value
        multi.setdefault(key, []).append(value)
    return single, multi


def query_maps(
    pairs: Sequence[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``queryStringParameters`` (last value wins) and the multi-value map."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _with_stage_variables(event: dict[str, Any],
                         stage_variables: Optional[Mapping[str, str]]) -> dict[str, Any]:
    """``event`` with its ``stageVariables``: an integration's event has them
    only when the stage has any."""
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event


def connect_event(
    facts: RequestFacts,
    *,
    headers: Headers,
    query: Sequence[tuple[str, str]],
    stage_variables: Mapping[str, str],
) -> dict[str, Any]:
    """The ``$connect`` integration event."""
    forwarded = [(n, v) for n, v in headers if n.lower() not in _NOT_FORWARDED]
    single, multi = header_maps(forwarded)
    event: dict[str, Any] = {"headers": single, "multiValueHeaders": multi}
    if query:
        qs, mqs = query_maps(query)
        event["queryStringParameters"] = qs
        event["multiValueQueryStringParameters"] = mqs
    event["requestContext"] = request_context(
        facts, route_key="$connect", event_type="CONNECT")
    event["isBase64Encoded"] = False
    return _with_stage_variables(event, stage_variables)


def message_context_template(
    api_id: str,
    stage: str,
    domain_name: str,
    connection_id: str,
    connected_at_ms: int,
    source_ip: str,
    user_agent: Optional[str],
) -> dict[str, Any]:
    """A MESSAGE event's ``requestContext`` with one connection's fields filled
    in and the per-message ones ``None``, in the captures' key order: what
    ``build_message_event`` copies.  Never hand the template to a handler."""
    return {
        "routeKey": None,
        "messageId": None,
        "eventType": "MESSAGE",
        "extendedRequestId": None,
        "requestTime": None,
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at_ms,
        "requestTimeEpoch": None,
        "identity": identity(source_ip, user_agent),
        "requestId": None,
        "domainName": domain_name,
        "connectionId": connection_id,
        "apiId": api_id,
    }


def build_message_event(
    template: dict[str, Any],
    route_key: str,
    message_id: str,
    request_id: str,
    request_time: str,
    request_time_ms: int,
    authorizer: Optional[Mapping[str, Any]],
    body: str,
    stage_variables: Optional[Mapping[str, str]],
) -> dict[str, Any]:
    """A MESSAGE event (custom route or ``$default``): a copy of the
    connection's ``template`` with this message's fields set, ``authorizer``
    last.  ``request_time`` is ``clf(request_time_ms)``.  Positional: the
    router calls it for every message."""
    ctx = template.copy()
    ctx["routeKey"] = route_key
    ctx["messageId"] = message_id
    ctx["extendedRequestId"] = request_id
    ctx["requestTime"] = request_time
    ctx["requestTimeEpoch"] = request_time_ms
    ctx["identity"] = template["identity"].copy()
    ctx["requestId"] = request_id
    if authorizer is not None:
        ctx["authorizer"] = dict(authorizer)
    return _with_stage_variables(
        {"requestContext": ctx, "body": body, "isBase64Encoded": False}, stage_variables)


def message_event(
    facts: RequestFacts,
    *,
    route_key: str,
    message_id: str,
    body: str,
    stage_variables: Mapping[str, str],
) -> dict[str, Any]:
    """``build_message_event`` from a ``RequestFacts``."""
    template = message_context_template(facts.api_id, facts.stage, facts.domain_name,
                                        facts.connection_id, facts.connected_at_ms,
                                        facts.source_ip, facts.user_agent)
    return build_message_event(
        template, route_key, message_id, facts.request_id, clf(facts.request_time_ms),
        facts.request_time_ms, facts.authorizer, body, stage_variables)


def disconnect_event(
    facts: RequestFacts,
    *,
    status_code: int,
    reason: str,
    stage_variables: Mapping[str, str],
) -> dict[str, Any]:
    """The ``$disconnect`` event, with API Gateway's fixed headers."""
    single = {"Host": facts.domain_name, "x-api-key": "", "X-Forwarded-For": "",
              "x-restapi": ""}
    event: dict[str, Any] = {
        "headers": single,
        "multiValueHeaders": {k: [v] for k, v in single.items()},
        "requestContext": request_context(
            facts, route_key="$disconnect", event_type="DISCONNECT",
            disconnect=(status_code, reason)),
        "isBase64Encoded": False,
    }
    return _with_stage_variables(event, stage_variables)


def authorizer_event(
    facts: RequestFacts,
    *,
    method_arn: str,
    headers: Headers,
    query: Sequence[tuple[str, str]],
    stage_variables: Mapping[str, str],
) -> dict[str, Any]:
    """The REQUEST authorizer's event: every header (``content-length: 0`` added
    when absent, as API Gateway does), always-present query/stage maps."""
    all_headers = list(headers)
    if not any(n.lower() == "content-length" for n, _ in all_headers):
        all_headers.append(("content-length", "0"))
    single, multi = header_maps(all_headers)
    qs, mqs = query_maps(query)
    return {
        "type": "REQUEST",
        "methodArn": method_arn,
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": qs,
        "multiValueQueryStringParameters": mqs,
        "stageVariables": dict(stage_variables),
        "requestContext": request_context(
            facts, route_key="$connect", event_type="CONNECT"),
    }
