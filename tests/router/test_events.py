"""Lambda-proxy event builders, compared with the shapes of real captures."""

from __future__ import annotations

from framer.router._events import (
    RequestFacts,
    authorizer_event,
    connect_event,
    disconnect_event,
    header_maps,
    message_event,
)

FACTS = RequestFacts(api_id="c5jwxq709g", stage="prod", domain_name="d.example",
                     connection_id="BFaT_fALIAMCKug=", connected_at_ms=1731332735513,
                     request_id="BFaVtH2HoAMFZEQ=", request_time_ms=1731332746514,
                     source_ip="166.90.225.1")


def test_message_event_matches_the_capture_layout() -> None:
    event = message_event(FACTS, route_key="chat", message_id="BFaVtfGSIAMCKug=",
                          body='{"action": "chat"}', stage_variables={})
    assert event == {
        "requestContext": {
            "routeKey": "chat", "messageId": "BFaVtfGSIAMCKug=", "eventType": "MESSAGE",
            "extendedRequestId": "BFaVtH2HoAMFZEQ=",
            "requestTime": "11/Nov/2024:13:45:46 +0000", "messageDirection": "IN",
            "stage": "prod", "connectedAt": 1731332735513,
            "requestTimeEpoch": 1731332746514, "identity": {"sourceIp": "166.90.225.1"},
            "requestId": "BFaVtH2HoAMFZEQ=", "domainName": "d.example",
            "connectionId": "BFaT_fALIAMCKug=", "apiId": "c5jwxq709g"},
        "body": '{"action": "chat"}',
        "isBase64Encoded": False,
    }
    assert list(event["requestContext"])[:3] == ["routeKey", "messageId", "eventType"]


def test_disconnect_event_layout() -> None:
    event = disconnect_event(FACTS, status_code=1005,
                             reason="Client-side close frame status not set",
                             stage_variables={"a": "b"})
    ctx = event["requestContext"]
    assert list(ctx)[:7] == ["routeKey", "disconnectStatusCode", "eventType",
                             "extendedRequestId", "requestTime", "messageDirection",
                             "disconnectReason"]
    assert event["stageVariables"] == {"a": "b"}
    assert list(event) == ["headers", "multiValueHeaders", "requestContext",
                           "isBase64Encoded", "stageVariables"]


def test_connect_event_drops_hop_headers_case_insensitively() -> None:
    event = connect_event(FACTS, headers=[("connection", "Upgrade"), ("UPGRADE", "x"),
                                          ("Content-Length", "0"), ("Host", "h")],
                          query=[], stage_variables={})
    assert event["headers"] == {"Host": "h"}


def test_authorizer_event_keeps_a_given_content_length() -> None:
    event = authorizer_event(FACTS, method_arn="arn", headers=[("Content-Length", "5")],
                             query=[], stage_variables={})
    assert event["headers"] == {"Content-Length": "5"}
    assert event["multiValueQueryStringParameters"] == {}


def test_header_maps_group_repeats() -> None:
    single, multi = header_maps([("X-A", "1"), ("x-a", "2"), ("B", "3")])
    assert single == {"X-A": "2", "B": "3"}
    assert multi == {"X-A": ["1", "2"], "B": ["3"]}


def test_authorizer_context_and_user_agent() -> None:
    facts = RequestFacts(**{**{f: getattr(FACTS, f) for f in (
        "api_id", "stage", "domain_name", "connection_id", "connected_at_ms",
        "request_id", "request_time_ms", "source_ip")}, "user_agent": "ua",
        "authorizer": {"principalId": "p"}})
    ctx = message_event(facts, route_key="r", message_id="m", body="",
                        stage_variables={})["requestContext"]
    assert ctx["identity"] == {"userAgent": "ua", "sourceIp": "166.90.225.1"}
    assert ctx["authorizer"] == {"principalId": "p"}
