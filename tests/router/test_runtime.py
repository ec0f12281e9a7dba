"""The data plane: handshakes, authorizers, routing, results, disconnects,
throttling and the connection registry."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from framer.router import (
    Accept,
    Closed,
    ConflictException,
    ConnectionState,
    GoneException,
    HttpResponse,
    InvocationKind,
    Invoke,
    Purpose,
    Raised,
    Refuse,
    Reply,
    Returned,
    Router,
    RouterUsageError,
    TimedOut,
)

from .conftest import NOW_MS, World, drive

ID = r"[A-Za-z0-9_-]{15}="


def frame_re(message: str) -> str:
    return (r'\{"message": "' + message + r'", "connectionId":"' + ID
            + r'", "requestId":"' + ID + r'"\}')


def open_conn(world: World, router: Router, **kw: Any) -> Any:
    step = world.connect(router, **kw)
    assert isinstance(step, Accept), step
    return step.connection


# -- stages ---------------------------------------------------------------------

def test_stage_is_resolved_from_the_path(world: World) -> None:
    world.route("$default")
    router = world.deploy("prod")
    assert router.resolve_stage("/prod") == "prod"
    assert router.resolve_stage("/prod/") == "prod"
    assert router.resolve_stage("/prod?token=1") == "prod"
    assert router.resolve_stage("/dev") is None
    assert router.resolve_stage("/") is None


def test_unknown_stage_is_refused_at_the_handshake(world: World) -> None:
    world.route("$default")
    router = world.deploy("prod")
    step = world.connect(router, path="/dev")
    assert isinstance(step, Refuse)
    assert step.status == 403
    assert step.body == b'{"message":"Forbidden"}'
    assert router.connections() == []


def test_stage_without_deployment_is_refused(world: World) -> None:
    world.route("$default")
    world.gw.create_stage(world.api_id, "empty")
    router = Router(world.gw, world.api_id)
    step = world.connect(router, path="/empty")
    assert isinstance(step, Refuse) and step.status == 403


def test_default_stage_is_served_at_root(world: World) -> None:
    world.route("$default")
    dep = world.gw.create_deployment(world.api_id)
    world.gw.create_stage(world.api_id, "$default", dep.deployment_id)
    router = Router(world.gw, world.api_id)
    assert router.resolve_stage("/") == "$default"
    assert isinstance(world.connect(router, path="/"), Accept)


# -- $connect -------------------------------------------------------------------------

def test_connect_without_connect_route_accepts(world: World) -> None:
    world.route("$default")
    router = world.deploy()
    step = world.connect(router)
    assert isinstance(step, Accept)
    assert step.connection.state is ConnectionState.OPEN
    assert world.calls == []


@pytest.mark.parametrize("status", [200, 201, 204, "200"])
def test_connect_2xx_accepts(world: World, status: Any) -> None:
    world.route("$connect", {"statusCode": status})
    step = world.connect(world.deploy())
    assert isinstance(step, Accept)


@pytest.mark.parametrize("status", [301, 400, 401, 403, 501])
def test_connect_other_status_refuses_with_it(world: World, status: int) -> None:
    world.route("$connect", {"statusCode": status, "body": "nope"})
    router = world.deploy()
    step = world.connect(router)
    assert isinstance(step, Refuse)
    assert step.status == status
    assert step.body == b"nope"
    assert router.connections() == []


def test_connect_exception_is_502(world: World) -> None:
    world.route("$connect", raises=RuntimeError("boom"))
    step = world.connect(world.deploy())
    assert isinstance(step, Refuse) and step.status == 502
    assert "boom" in step.reason


def test_connect_timeout_is_504(world: World) -> None:
    world.route("$connect", raises=TimeoutError())
    step = world.connect(world.deploy())
    assert isinstance(step, Refuse) and step.status == 504
    assert step.body == b'{"message":"Endpoint request timed out"}'


def test_connect_malformed_results_are_502(world: World) -> None:
    world.route("$connect", ["not", "a", "dict"])
    assert world.connect(world.deploy()).status == 502
    world2 = World(world.gw)
    world2.route("$connect", {"statusCode": "two hundred"})
    assert world2.connect(world2.deploy()).status == 502


def test_connect_none_result_accepts(world: World) -> None:
    world.route("$connect", None)
    assert isinstance(world.connect(world.deploy()), Accept)


def test_connect_headers_and_subprotocol_go_on_the_handshake(world: World) -> None:
    world.route("$connect", {"statusCode": 200, "headers": {
        "Sec-WebSocket-Protocol": "chat.v2", "X-Custom": "1", "Connection": "x"}})
    step = world.connect(world.deploy())
    assert isinstance(step, Accept)
    assert step.subprotocol == "chat.v2"
    assert step.headers == (("X-Custom", "1"),)


def test_connect_event_fields(world: World) -> None:
    world.route("$connect", {"statusCode": 200})
    router = world.deploy(stage_variables={"table": "conns"})
    headers = [("Host", "h.example"), ("Connection", "Upgrade"), ("Upgrade", "websocket"),
               ("Sec-WebSocket-Key", "k=="), ("Sec-WebSocket-Version", "13"),
               ("User-Agent", "pytest/1"), ("content-length", "0")]
    seen: list[Any] = []
    step = world.connect(router, path="/prod?name=a&name=b&x=", headers=headers,
                         seen=seen)
    assert isinstance(step, Accept)
    (inv,) = seen
    assert inv.kind is InvocationKind.LAMBDA and inv.purpose is Purpose.CONNECT
    assert inv.timeout_s == 29.0
    event = inv.event
    assert list(event) == ["headers", "multiValueHeaders", "queryStringParameters",
                           "multiValueQueryStringParameters", "requestContext",
                           "isBase64Encoded", "stageVariables"]
    assert "Connection" not in event["headers"] and "Upgrade" not in event["headers"]
    assert "content-length" not in event["headers"]
    assert event["headers"]["Host"] == "h.example"
    assert event["headers"]["X-Forwarded-For"] == "203.0.113.9"
    assert event["headers"]["X-Forwarded-Proto"] == "https"
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert event["multiValueHeaders"]["Sec-WebSocket-Version"] == ["13"]
    assert event["queryStringParameters"] == {"name": "b", "x": ""}
    assert event["multiValueQueryStringParameters"] == {"name": ["a", "b"], "x": [""]}
    assert event["stageVariables"] == {"table": "conns"}
    ctx = event["requestContext"]
    assert ctx["routeKey"] == "$connect" and ctx["eventType"] == "CONNECT"
    assert ctx["stage"] == "prod" and ctx["apiId"] == world.api_id
    assert ctx["connectedAt"] == NOW_MS == ctx["requestTimeEpoch"]
    assert ctx["identity"] == {"userAgent": "pytest/1", "sourceIp": "203.0.113.9"}
    assert ctx["connectionId"] == step.connection.connection_id
    assert ctx["requestId"] == ctx["extendedRequestId"]
    assert ctx["domainName"] == f"{world.api_id}.execute-api.us-east-1.amazonaws.com"
    assert "messageId" not in ctx
    assert inv.context.aws_request_id and inv.context.get_remaining_time_in_millis() == 29000


def test_connect_event_without_query_has_no_query_keys(world: World) -> None:
    world.route("$connect", {"statusCode": 200})
    seen: list[Any] = []
    world.connect(world.deploy(), seen=seen)
    event = seen[0].event
    assert "queryStringParameters" not in event
    assert "multiValueQueryStringParameters" not in event
    assert "stageVariables" not in event
    assert event["requestContext"]["identity"] == {"sourceIp": "203.0.113.9"}


def test_mock_connect_status_from_request_template(world: World) -> None:
    integ = world.gw.create_integration(world.api_id, integration_type="MOCK",
                                        request_templates={"$default": '{"statusCode": 403}'})
    world.gw.create_route(world.api_id, route_key="$connect",
                          target=f"integrations/{integ.integration_id}")
    assert world.connect(world.deploy()).status == 403


def test_http_proxy_connect(world: World) -> None:
    integ = world.gw.create_integration(world.api_id, integration_type="HTTP_PROXY",
                                        integration_uri="http://backend/connect")
    world.gw.create_route(world.api_id, route_key="$connect",
                          target=f"integrations/{integ.integration_id}")
    router = world.deploy()
    step = router.connect(path="/prod", headers=[("Host", "h"), ("Upgrade", "websocket")],
                          source_ip="1.2.3.4", now_ms=NOW_MS)
    assert isinstance(step, Invoke)
    inv = step.invocation
    assert inv.kind is InvocationKind.HTTP and inv.handler is None
    assert inv.http is not None and inv.http.url == "http://backend/connect"
    assert inv.http.method == "POST"
    assert ("Host", "h") in inv.http.headers
    assert all(n != "Upgrade" for n, _ in inv.http.headers)
    refused = step.resume(Returned(value=HttpResponse(status=418)))
    assert isinstance(refused, Refuse) and refused.status == 418


# -- authorizer -----------------------------------------------------------------------

def add_authorizer(world: World, result: Any = None, *, raises: Any = None,
                   sources: tuple[str, ...] = ("route.request.header.Auth",
                                               "route.request.querystring.token"),
                   connect_result: Any = None) -> list[Any]:
    auth_calls: list[Any] = []

    def authorize(event: Any, context: Any) -> Any:
        auth_calls.append(event)
        if raises is not None:
            raise raises
        return result(event) if callable(result) else result

    auth = world.gw.create_authorizer(world.api_id, name="auth", handler=authorize,
                                      identity_source=list(sources))
    integ = world.gw.create_integration(
        world.api_id, integration_type="AWS_PROXY",
        handler=world.handler(connect_result or {"statusCode": 200}))
    world.gw.create_route(world.api_id, route_key="$connect",
                          authorization_type="CUSTOM", authorizer_id=auth.authorizer_id,
                          target=f"integrations/{integ.integration_id}")
    return auth_calls


def policy(effect: str, resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"principalId": "user-1", "policyDocument": {"Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect,
                           "Resource": resource}]}, **extra}


GOOD = {"headers": [("Auth", "secret")], "path": "/prod?token=t"}


def test_missing_identity_source_is_401_without_calling(world: World) -> None:
    calls = add_authorizer(world, policy("Allow"))
    router = world.deploy()
    for kw in ({"headers": [("Auth", "secret")], "path": "/prod"},
               {"headers": [("Auth", "")], "path": "/prod?token=t"},
               {"headers": [], "path": "/prod?token=t"}):
        step = world.connect(router, **kw)
        assert isinstance(step, Refuse) and step.status == 401
        assert step.body == b'{"message":"Unauthorized"}'
    assert calls == []


def test_deny_is_403(world: World) -> None:
    add_authorizer(world, policy("Deny"))
    step = world.connect(world.deploy(), **GOOD)
    assert isinstance(step, Refuse) and step.status == 403
    assert world.calls == []


def test_allow_that_does_not_match_the_method_arn_is_403(world: World) -> None:
    add_authorizer(world, lambda e: policy(
        "Allow", e["methodArn"].rsplit("/", 1)[0] + "/*/*"))
    step = world.connect(world.deploy(), **GOOD)
    assert isinstance(step, Refuse) and step.status == 403


@pytest.mark.parametrize("result", [
    "not a policy",
    {"principalId": "u"},
    {"policyDocument": {"Statement": []}},
    {"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Maybe",
                                                          "Action": "*", "Resource": "*"}]}},
    policy("Allow", context={"nested": {"no": 1}}),
    policy("Allow", context={"big": "x" * 9000}),
])
def test_invalid_authorizer_results_are_500(world: World, result: Any) -> None:
    add_authorizer(world, result)
    step = world.connect(world.deploy(), **GOOD)
    assert isinstance(step, Refuse) and step.status == 500


def test_authorizer_crash_is_500_and_unauthorized_is_401(world: World) -> None:
    add_authorizer(world, raises=ValueError("bug"))
    assert world.connect(world.deploy(), **GOOD).status == 500
    other = World(world.gw)
    add_authorizer(other, raises=Exception("Unauthorized"))
    assert other.connect(other.deploy(), **GOOD).status == 401
    third = World(world.gw)
    add_authorizer(third, "Unauthorized")
    assert third.connect(third.deploy(), **GOOD).status == 401


def test_authorizer_timeout_is_500(world: World) -> None:
    add_authorizer(world, raises=TimeoutError())
    assert world.connect(world.deploy(), **GOOD).status == 500


def test_authorizer_event(world: World) -> None:
    calls = add_authorizer(world, policy("Allow"))
    router = world.deploy()
    world.connect(router, headers=[("Auth", "s"), ("Connection", "upgrade"),
                                   ("Upgrade", "websocket")], path="/prod?token=t")
    (event,) = calls
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == \
        f"arn:aws:execute-api:us-east-1:123456789012:{world.api_id}/prod/$connect"
    assert event["headers"]["Connection"] == "upgrade"
    assert event["headers"]["Upgrade"] == "websocket"
    assert event["headers"]["content-length"] == "0"
    assert event["queryStringParameters"] == {"token": "t"}
    assert event["stageVariables"] == {}
    assert event["requestContext"]["eventType"] == "CONNECT"
    assert event["requestContext"]["connectionId"]


def test_allow_context_reaches_every_later_event(world: World) -> None:
    add_authorizer(world, policy("Allow", f"arn:aws:execute-api:*:*:*/prod/$connect",
                                 context={"role": "admin", "level": 3, "ok": True}))
    world.route("$default", {"body": "x"})
    world.route("$disconnect")
    conn = open_conn(world, world.deploy(), **GOOD)
    drive(conn.receive_text("hello", now_ms=NOW_MS + 5))
    drive(conn.disconnect(code=1000, now_ms=NOW_MS + 9))
    connect_event, message, disconnect = world.calls
    for event in (connect_event, message, disconnect):
        authz = event["requestContext"]["authorizer"]
        assert authz["principalId"] == "user-1"
        assert authz["role"] == "admin" and authz["level"] == 3 and authz["ok"] is True
        assert authz["integrationLatency"] == 3


def test_authorizer_change_does_not_affect_open_connections(world: World) -> None:
    add_authorizer(world, policy("Allow", context={"v": "old"}))
    world.route("$default")
    router = world.deploy()
    conn = open_conn(world, router, **GOOD)
    world.gw.delete_stage(world.api_id, "prod")
    drive(conn.receive_text("x", now_ms=NOW_MS))
    assert world.calls[-1]["requestContext"]["authorizer"]["v"] == "old"


# -- messages -------------------------------------------------------------------

def test_custom_route_by_body(world: World) -> None:
    world.route("join")
    world.route("$default")
    conn = open_conn(world, world.deploy())
    seen: list[Any] = []
    reply = drive(conn.receive_text('{"action": "join"}', now_ms=NOW_MS + 1), seen=seen)
    assert isinstance(reply, Reply) and reply.route_key == "join"
    assert reply.frames == ()  # one-way
    event = seen[0].event
    assert list(event) == ["requestContext", "body", "isBase64Encoded"]
    ctx = event["requestContext"]
    assert ctx["routeKey"] == "join" and ctx["eventType"] == "MESSAGE"
    assert ctx["messageId"] and ctx["messageId"] != ctx["requestId"]
    assert ctx["requestTimeEpoch"] == NOW_MS + 1 and ctx["connectedAt"] == NOW_MS
    assert event["body"] == '{"action": "join"}'
    assert "headers" not in event


def test_non_json_and_unmatched_go_to_default(world: World) -> None:
    world.route("join")
    world.route("$default")
    world.route("$connect")
    world.route("$disconnect")
    conn = open_conn(world, world.deploy())
    assert drive(conn.receive_text("plain text", now_ms=NOW_MS)).route_key == "$default"
    assert drive(conn.receive_text('{"action": "zzz"}', now_ms=NOW_MS)).route_key == "$default"
    for key in ("$connect", "$disconnect"):
        text = json.dumps({"action": key})
        assert drive(conn.receive_text(text, now_ms=NOW_MS)).route_key == "$default"


def test_no_match_and_no_default_is_forbidden_frame(world: World) -> None:
    world.route("join")
    router = world.deploy()
    conn = open_conn(world, router)
    reply = conn.receive_text('{"action": "nope"}', now_ms=NOW_MS)
    assert isinstance(reply, Reply)
    (frame,) = reply.frames
    assert json.loads(frame)["message"] == "Forbidden"
    import re
    assert re.fullmatch(frame_re("Forbidden"), frame)
    assert json.loads(frame)["connectionId"] == conn.connection_id
    assert json.loads(frame)["requestId"] == reply.request_id
    assert conn.state is ConnectionState.OPEN
    assert router.get_connection(conn.connection_id)
    assert isinstance(conn.receive_text("not json", now_ms=NOW_MS), Reply)


def test_two_way_route_sends_the_body(world: World) -> None:
    world.route("echo", lambda e: {"statusCode": 200, "body": "re: " + e["body"]},
                two_way=True)
    conn = open_conn(world, world.deploy())
    reply = drive(conn.receive_text('{"action": "echo"}', now_ms=NOW_MS))
    assert reply.frames == ('re: {"action": "echo"}',)


@pytest.mark.parametrize("result, frames", [
    (None, ()),
    ({"statusCode": 500}, ()),
    ({"body": "plain"}, ("plain",)),
    ({"body": {"a": 1}}, ('{"a": 1}',)),
    ({"body": base64.b64encode(b"hi").decode(), "isBase64Encoded": True}, ("hi",)),
    ("bare string", ("bare string",)),
    ([1, 2], ("[1, 2]",)),
])
def test_two_way_result_shapes(world: World, result: Any, frames: tuple[str, ...]) -> None:
    world.route("$default", result, two_way=True)
    conn = open_conn(world, world.deploy())
    assert drive(conn.receive_text("x", now_ms=NOW_MS)).frames == frames


def test_status_code_on_message_route_does_not_matter(world: World) -> None:
    world.route("$default", {"statusCode": 500, "body": "b"})
    conn = open_conn(world, world.deploy())
    reply = drive(conn.receive_text("x", now_ms=NOW_MS))
    assert reply.frames == () and conn.state is ConnectionState.OPEN


def test_handler_exception_is_internal_server_error_frame(world: World) -> None:
    import re
    world.route("$default", raises=KeyError("x"), two_way=True)
    conn = open_conn(world, world.deploy())
    reply = drive(conn.receive_text("x", now_ms=NOW_MS))
    (frame,) = reply.frames
    assert re.fullmatch(frame_re("Internal server error"), frame)
    assert conn.state is ConnectionState.OPEN


def test_timeout_is_endpoint_request_timed_out_frame(world: World) -> None:
    import re
    world.route("$default", timeout_in_millis=50)
    conn = open_conn(world, world.deploy())
    step = conn.receive_text("x", now_ms=NOW_MS)
    assert isinstance(step, Invoke) and step.invocation.timeout_s == 0.05
    reply = step.resume(TimedOut())
    (frame,) = reply.frames
    assert re.fullmatch(frame_re("Endpoint request timed out"), frame)
    assert conn.state is ConnectionState.OPEN


def test_async_handlers_are_described_not_awaited(world: World) -> None:
    async def handler(event: Any, context: Any) -> Any:
        return {"body": "async"}
    integ = world.gw.create_integration(world.api_id, integration_type="AWS_PROXY",
                                        handler=handler)
    world.gw.create_route(world.api_id, route_key="$default",
                          target=f"integrations/{integ.integration_id}",
                          route_response_selection_expression="$default")
    conn = open_conn(world, world.deploy())
    step = conn.receive_text("x", now_ms=NOW_MS)
    assert isinstance(step, Invoke) and step.invocation.handler is handler
    assert step.resume(Returned(value={"body": "async"})).frames == ("async",)


def test_mock_two_way_sends_its_response_template(world: World) -> None:
    integ = world.gw.create_integration(world.api_id, integration_type="MOCK")
    world.gw.create_integration_response(
        world.api_id, integ.integration_id, integration_response_key="$default",
        response_templates={"$default": '{"pong": true}'})
    world.gw.create_route(world.api_id, route_key="$default",
                          target=f"integrations/{integ.integration_id}",
                          route_response_selection_expression="$default")
    conn = open_conn(world, world.deploy())
    assert conn.receive_text("ping", now_ms=NOW_MS).frames == ('{"pong": true}',)


def test_route_without_integration_is_internal_server_error(world: World) -> None:
    world.gw.create_route(world.api_id, route_key="$default")
    conn = open_conn(world, world.deploy())
    (frame,) = conn.receive_text("x", now_ms=NOW_MS).frames
    assert json.loads(frame)["message"] == "Internal server error"


def test_http_proxy_message(world: World) -> None:
    integ = world.gw.create_integration(world.api_id, integration_type="HTTP_PROXY",
                                        integration_uri="https://svc/msg",
                                        integration_method="put")
    world.gw.create_route(world.api_id, route_key="$default",
                          target=f"integrations/{integ.integration_id}",
                          route_response_selection_expression="$default")
    conn = open_conn(world, world.deploy())
    step = conn.receive_text("hello", now_ms=NOW_MS)
    assert step.invocation.http.method == "PUT"
    assert step.invocation.http.body == b"hello"
    reply = step.resume(Returned(value=HttpResponse(status=200, body=b"ok")))
    assert reply.frames == ("ok",)
    step = conn.receive_text("hello", now_ms=NOW_MS)
    (frame,) = step.resume(Raised(error=ConnectionError())).frames
    assert "Internal server error" in frame


def test_stage_variables_in_message_events(world: World) -> None:
    world.route("$default")
    conn = open_conn(world, world.deploy(stage_variables={"env": "prod"}))
    drive(conn.receive_text("x", now_ms=NOW_MS))
    assert world.calls[-1]["stageVariables"] == {"env": "prod"}
    world.gw.update_stage(world.api_id, "prod", stage_variables={"env": "blue"})
    drive(conn.receive_text("x", now_ms=NOW_MS))
    assert world.calls[-1]["stageVariables"] == {"env": "blue"}


def test_changes_reach_clients_only_through_a_new_deployment(world: World) -> None:
    world.route("join", {"body": "v1"}, two_way=True)
    router = world.deploy()
    conn = open_conn(world, router)
    world.route("leave", {"body": "left"}, two_way=True)
    reply = drive(conn.receive_text('{"action": "leave"}', now_ms=NOW_MS))
    assert json.loads(reply.frames[0])["message"] == "Forbidden"
    dep = world.gw.create_deployment(world.api_id)
    reply = drive(conn.receive_text('{"action": "leave"}', now_ms=NOW_MS))
    assert json.loads(reply.frames[0])["message"] == "Forbidden"
    world.gw.update_stage(world.api_id, "prod", deployment_id=dep.deployment_id)
    assert drive(conn.receive_text('{"action": "leave"}', now_ms=NOW_MS)).frames == ("left",)


def test_route_selection_expression_changes_need_a_deployment(world: World) -> None:
    world.route("join", {"body": "joined"}, two_way=True)
    router = world.deploy()
    conn = open_conn(world, router)
    world.gw.update_api(world.api_id, route_selection_expression="$request.body.type")
    assert drive(conn.receive_text('{"action": "join"}', now_ms=NOW_MS)).frames == \
        ("joined",)
    world.deploy()
    assert drive(conn.receive_text('{"type": "join"}', now_ms=NOW_MS)).frames == \
        ("joined",)


# -- disconnect -----------------------------------------------------------------------

def test_disconnect_event_and_registry(world: World) -> None:
    world.route("$disconnect", {"ignored": True})
    router = world.deploy()
    conn = open_conn(world, router)
    step = conn.disconnect(code=1001, reason="Going away", now_ms=NOW_MS + 100)
    with pytest.raises(GoneException):
        router.get_connection(conn.connection_id)
    assert isinstance(step, Invoke) and step.invocation.purpose is Purpose.DISCONNECT
    event = step.invocation.event
    assert event["headers"] == {"Host": router.domain_name, "x-api-key": "",
                                "X-Forwarded-For": "", "x-restapi": ""}
    assert event["multiValueHeaders"]["x-restapi"] == [""]
    ctx = event["requestContext"]
    assert ctx["disconnectStatusCode"] == 1001
    assert ctx["disconnectReason"] == "Going away"
    assert ctx["eventType"] == "DISCONNECT" and ctx["routeKey"] == "$disconnect"
    assert ctx["requestTimeEpoch"] == NOW_MS + 100
    assert "messageId" not in ctx
    closed = step.resume(Returned(value={"statusCode": 500}))
    assert isinstance(closed, Closed) and closed.error is None


@pytest.mark.parametrize("code, reason, want", [
    (None, "", (1005, "Client-side close frame status not set")),
    (1001, "", (1001, "Going away")),
    (1000, "bye", (1000, "bye")),
    (4000, "", (4000, "")),
])
def test_disconnect_codes(world: World, code: Any, reason: str,
                          want: tuple[int, str]) -> None:
    world.route("$disconnect")
    conn = open_conn(world, world.deploy())
    drive(conn.disconnect(code=code, reason=reason, now_ms=NOW_MS))
    ctx = world.calls[-1]["requestContext"]
    assert (ctx["disconnectStatusCode"], ctx["disconnectReason"]) == want


def test_disconnect_errors_are_reported_not_raised(world: World) -> None:
    world.route("$disconnect", raises=RuntimeError("x"))
    conn = open_conn(world, world.deploy())
    closed = drive(conn.disconnect(code=1000, now_ms=NOW_MS))
    assert isinstance(closed.error, RuntimeError)


def test_disconnect_without_route(world: World) -> None:
    world.route("$default")
    conn = open_conn(world, world.deploy())
    assert isinstance(conn.disconnect(code=1000, now_ms=NOW_MS), Closed)


def test_misuse_is_a_router_usage_error(world: World) -> None:
    world.route("$default")
    conn = open_conn(world, world.deploy())
    step = conn.receive_text("x", now_ms=NOW_MS)
    step.resume(Returned())
    with pytest.raises(RouterUsageError, match="already resumed"):
        step.resume(Returned())
    with pytest.raises(RouterUsageError, match="already resumed"):
        step.returned(None)
    inline = conn.receive_text("x", now_ms=NOW_MS)
    inline.returned(None)
    with pytest.raises(RouterUsageError, match="already resumed"):
        inline.returned(None)
    with pytest.raises(RouterUsageError, match="already resumed"):
        inline.resume(Returned())
    with pytest.raises(RouterUsageError, match="Returned, Raised or TimedOut"):
        conn.receive_text("x", now_ms=NOW_MS).resume("done")  # type: ignore[arg-type]
    drive(conn.disconnect(code=1000, now_ms=NOW_MS))
    with pytest.raises(RouterUsageError, match="CLOSED"):
        conn.receive_text("x", now_ms=NOW_MS)
    with pytest.raises(RouterUsageError, match="once"):
        conn.disconnect(code=1000, now_ms=NOW_MS)


# -- registry -------------------------------------------------------------------------

def test_connection_registry(world: World) -> None:
    world.route("$default")
    router = world.deploy()
    conn = open_conn(world, router, headers=[("User-Agent", "ua/1")])
    info = router.get_connection(conn.connection_id)
    assert info.connected_at_ms == NOW_MS == info.last_active_at_ms
    assert info.source_ip == "203.0.113.9" and info.user_agent == "ua/1"
    drive(conn.receive_text("x", now_ms=NOW_MS + 1234))
    assert router.get_connection(conn.connection_id).last_active_at_ms == NOW_MS + 1234
    router.mark_active(conn.connection_id, NOW_MS + 2000)
    info = router.get_connection(conn.connection_id)
    assert info.to_dict() == {"ConnectedAt": "2024-11-11T11:35:24.553Z",
                              "Identity": {"SourceIp": "203.0.113.9", "UserAgent": "ua/1"},
                              "LastActiveAt": "2024-11-11T11:35:26.553Z"}
    assert info.to_wire()["identity"] == {"sourceIp": "203.0.113.9", "userAgent": "ua/1"}
    assert [c.connection_id for c in router.connections()] == [conn.connection_id]
    with pytest.raises(GoneException) as gone:
        router.get_connection("AAAAAAAAAAAAAAA=")
    assert gone.value.to_wire() == (410, [("x-amzn-ErrorType", "GoneException")], b"")


def test_user_agent_is_left_out_when_absent(world: World) -> None:
    world.route("$default")
    router = world.deploy()
    conn = open_conn(world, router)
    assert router.get_connection(conn.connection_id).to_json() == (
        '{ "ConnectedAt": "2024-11-11T11:35:24.553Z", "Identity": { "SourceIp": '
        '"203.0.113.9" }, "LastActiveAt": "2024-11-11T11:35:24.553Z" }')


def test_connecting_connections_are_gone(world: World) -> None:
    world.route("$connect", {"statusCode": 200})
    router = world.deploy()
    step = router.connect(path="/prod", headers=[], source_ip="1.1.1.1", now_ms=NOW_MS)
    assert isinstance(step, Invoke)
    with pytest.raises(GoneException):
        router.get_connection(step.invocation.connection_id)
    accepted = step.resume(Returned(value={"statusCode": 200}))
    assert router.get_connection(accepted.connection.connection_id)


# -- throttling ---------------------------------------------------------------------------

def test_stage_throttling_on_messages(world: World) -> None:
    world.route("$default")
    router = world.deploy(default_route_settings={"ThrottlingBurstLimit": 3,
                                                  "ThrottlingRateLimit": 1})
    conn = open_conn(world, router)  # takes one token ($connect)
    results = [drive(conn.receive_text("x", now_ms=NOW_MS)) for _ in range(3)]
    assert [r.frames for r in results[:2]] == [(), ()]
    (frame,) = results[2].frames
    assert json.loads(frame)["message"] == "Too Many Requests"
    assert conn.state is ConnectionState.OPEN
    # a second later one token is back
    assert drive(conn.receive_text("x", now_ms=NOW_MS + 1000)).frames == ()


def test_route_throttling_overrides_the_stage(world: World) -> None:
    world.route("hot")
    world.route("$default")
    router = world.deploy(route_settings={"hot": {"ThrottlingBurstLimit": 1,
                                                  "ThrottlingRateLimit": 0}})
    conn = open_conn(world, router)
    hot = '{"action": "hot"}'
    assert drive(conn.receive_text(hot, now_ms=NOW_MS)).frames == ()
    assert "Too Many Requests" in drive(conn.receive_text(hot, now_ms=NOW_MS)).frames[0]
    assert drive(conn.receive_text("other", now_ms=NOW_MS)).frames == ()


def test_throttled_connect_is_429(world: World) -> None:
    world.route("$default")
    router = world.deploy(default_route_settings={"ThrottlingBurstLimit": 1,
                                                  "ThrottlingRateLimit": 0})
    assert isinstance(world.connect(router), Accept)
    step = world.connect(router)
    assert isinstance(step, Refuse) and step.status == 429
    assert step.body == b'{"message":"Too Many Requests"}'


def test_account_level_throttle_is_shared_by_apis(gw: Any) -> None:
    from framer.router import Gateway, Quotas
    gw = Gateway(quotas=Quotas(account_burst_limit=2, account_rate_limit=1.0),
                 clock=gw._clock)
    a, b = World(gw), World(gw)
    a.route("$default")
    b.route("$default")
    ra = a.deploy(default_route_settings={"ThrottlingBurstLimit": 2,
                                          "ThrottlingRateLimit": 1})
    rb = b.deploy(default_route_settings={"ThrottlingBurstLimit": 2,
                                          "ThrottlingRateLimit": 1})
    assert isinstance(a.connect(ra), Accept)
    assert isinstance(b.connect(rb), Accept)
    assert b.connect(rb).status == 429


def test_new_connection_rate(gw: Any) -> None:
    from framer.router import Gateway, Quotas
    gw = Gateway(quotas=Quotas(new_connections_per_second=2), clock=gw._clock)
    w = World(gw)
    w.route("$default")
    r = w.deploy()
    assert [type(w.connect(r)).__name__ for _ in range(3)] == ["Accept", "Accept", "Refuse"]
    assert isinstance(w.connect(r, now_ms=NOW_MS + 1000), Accept)


# -- the message path's caches ------------------------------------------------------

def _expected_message_event(router: Router, conn: Any, event: dict[str, Any]) -> dict[str, Any]:
    """The capture's MESSAGE layout (reference §2.2), written out here as an
    oracle, for ``event``'s message on ``conn``."""
    from framer.router._time import clf
    ctx = event["requestContext"]
    identity = {"sourceIp": conn.source_ip} if conn.user_agent is None \
        else {"userAgent": conn.user_agent, "sourceIp": conn.source_ip}
    expected_ctx: dict[str, Any] = {
        "routeKey": ctx["routeKey"], "messageId": ctx["messageId"], "eventType": "MESSAGE",
        "extendedRequestId": ctx["requestId"], "requestTime": clf(ctx["requestTimeEpoch"]),
        "messageDirection": "IN", "stage": conn.stage, "connectedAt": conn.connected_at_ms,
        "requestTimeEpoch": ctx["requestTimeEpoch"], "identity": identity,
        "requestId": ctx["requestId"], "domainName": router.domain_name,
        "connectionId": conn.connection_id, "apiId": router.api_id}
    if conn.authorizer is not None:
        expected_ctx["authorizer"] = conn.authorizer
    expected: dict[str, Any] = {"requestContext": expected_ctx, "body": event["body"],
                                "isBase64Encoded": False}
    if "stageVariables" in event:
        expected["stageVariables"] = router.gateway.get_stage(router.api_id,
                                                              conn.stage).stage_variables
    return expected


def test_message_events_are_the_reference_layout_per_connection(world: World) -> None:
    add_authorizer(world, policy("Allow", context={"role": "admin"}))
    world.route("$default", {"body": "x"})
    router = world.deploy(stage_variables={"env": "prod"})
    first = open_conn(world, router, headers=[("Auth", "a"), ("User-Agent", "ua/1")],
                      path="/prod?token=t", now_ms=NOW_MS)
    second = open_conn(world, router, headers=[("Auth", "b")], path="/prod?token=t",
                       now_ms=NOW_MS + 7)
    seen: list[tuple[Any, dict[str, Any]]] = []
    for i, conn in enumerate((first, second, first, second)):
        world.calls.clear()
        drive(conn.receive_text(f"m{i}", now_ms=NOW_MS + 10 + i))
        (event,) = world.calls
        seen.append((conn, event))
        # Same keys, same order, same values as the capture's layout.
        assert json.dumps(event) == json.dumps(_expected_message_event(router, conn, event))
        ctx = event["requestContext"]
        assert ctx["connectionId"] == conn.connection_id
        assert ctx["connectedAt"] == conn.connected_at_ms
        assert ("userAgent" in ctx["identity"]) == (conn is first)
    # The template is per connection: each event names its own.
    assert {e["requestContext"]["connectionId"] for _, e in seen} == {
        first.connection_id, second.connection_id}
    ids = [e["requestContext"][k] for _, e in seen for k in ("requestId", "messageId")]
    assert len(set(ids)) == len(ids)


def test_a_handler_changing_its_event_changes_no_later_event(world: World) -> None:
    def vandal(event: dict[str, Any]) -> Any:
        if event["body"] != "one":
            return None
        ctx = event["requestContext"]
        ctx["connectionId"] = "stolen"
        ctx["identity"]["sourceIp"] = "0.0.0.0"
        ctx["authorizer"]["role"] = "root"
        ctx["extra"] = True
        event["stageVariables"]["env"] = "hacked"
        return None

    add_authorizer(world, policy("Allow", context={"role": "admin"}))
    world.route("$default", vandal)
    router = world.deploy(stage_variables={"env": "prod"})
    conn = open_conn(world, router, **GOOD)
    drive(conn.receive_text("one", now_ms=NOW_MS + 1))
    world.calls.clear()
    drive(conn.receive_text("two", now_ms=NOW_MS + 2))
    (event,) = world.calls
    ctx = event["requestContext"]
    assert ctx["connectionId"] == conn.connection_id and "extra" not in ctx
    assert ctx["identity"]["sourceIp"] == "203.0.113.9"
    assert ctx["authorizer"]["role"] == "admin" and conn.authorizer["role"] == "admin"
    assert event["stageVariables"] == {"env": "prod"}
    assert json.dumps(event) == json.dumps(_expected_message_event(router, conn, event))


def test_request_time_follows_the_message_second(world: World) -> None:
    from framer.router._time import clf
    world.route("$default")
    conn = open_conn(world, world.deploy())
    base = (NOW_MS // 1000) * 1000
    times = [base + 998, base + 999, base + 1000, base + 1999, base + 2000, base + 999,
             base + 86_400_000]
    for now in times:
        world.calls.clear()
        drive(conn.receive_text("x", now_ms=now))
        ctx = world.calls[0]["requestContext"]
        assert ctx["requestTimeEpoch"] == now
        assert ctx["requestTime"] == clf(now)
    assert clf(base + 999) != clf(base + 1000)


def test_message_context_is_what_the_constructor_makes(world: World) -> None:
    from framer.router import LambdaContext
    world.route("$default")
    conn = open_conn(world, world.deploy())
    step = conn.receive_text("x", now_ms=NOW_MS)
    context = step.invocation.context
    made = LambdaContext(
        function_name=context.function_name, invoked_function_arn=context.invoked_function_arn,
        aws_request_id=context.aws_request_id, timeout_ms=29000,
        deadline_ms=NOW_MS + 29000)
    assert list(vars(context).items()) == list(vars(made).items())
    assert context.log_group_name == f"/aws/lambda/{context.function_name}"


@pytest.mark.parametrize("value", [
    None, {"body": "plain"}, {"body": ""}, {"body": None}, {"statusCode": 200},
    {"body": "aGk=", "isBase64Encoded": True}, {"body": "plain", "isBase64Encoded": False},
    {"body": {"a": 1}}, "bare", [1, 2], {"body": object()},
])
@pytest.mark.parametrize("two_way", [True, False])
def test_returned_is_resume_with_returned(world: World, value: Any, two_way: bool) -> None:
    world.route("$default", two_way=two_way)
    conn = open_conn(world, world.deploy())
    shortcut = conn.receive_text("x", now_ms=NOW_MS)
    full = conn.receive_text("x", now_ms=NOW_MS)
    a, b = shortcut.returned(value), full.resume(Returned(value=value))
    assert isinstance(a, Reply) and a.route_key == b.route_key == "$default"
    assert a.frames == tuple(f.replace(b.request_id, a.request_id) for f in b.frames)
    with pytest.raises(RouterUsageError):
        shortcut.returned(value)
    with pytest.raises(RouterUsageError):
        shortcut.resume(Returned(value=value))


def test_messages_in_flight_on_one_route_each_end_with_their_own_ids(world: World) -> None:
    """A route's messages share its reply maker: several in flight, from two
    connections, finished out of order and each its own way, still answer
    with their own request and connection ids."""
    world.route("$default", two_way=True)
    router = world.deploy()
    first, second = open_conn(world, router), open_conn(world, router)
    steps = [conn.receive_text("x", now_ms=NOW_MS + i)
             for i, conn in enumerate((first, second, first))]
    assert all(isinstance(s, Invoke) for s in steps)
    ids = [(s.invocation.connection_id, s.invocation.request_id) for s in steps]
    assert len({request_id for _, request_id in ids}) == 3
    assert [c for c, _ in ids] == [first.connection_id, second.connection_id,
                                   first.connection_id]
    timed_out = steps[2].resume(TimedOut())
    returned = steps[0].returned({"body": "one"})
    failed = steps[1].resume(Raised(error=ValueError("x")))
    assert returned.request_id == ids[0][1] and returned.frames == ("one",)
    for reply, (connection_id, request_id), text in (
            (timed_out, ids[2], "Endpoint request timed out"),
            (failed, ids[1], "Internal server error")):
        assert reply.request_id == request_id
        assert json.loads(reply.frames[0]) == {
            "message": text, "connectionId": connection_id, "requestId": request_id}


def test_returned_resumes_a_connect_flow_too(world: World) -> None:
    world.route("$connect")
    router = world.deploy()
    step = router.connect(path="/prod", headers=[], source_ip="203.0.113.9", now_ms=NOW_MS)
    assert isinstance(step, Invoke)
    accepted = step.returned({"statusCode": 200})
    assert isinstance(accepted, Accept)
    refused = router.connect(path="/prod", headers=[], source_ip="203.0.113.9",
                             now_ms=NOW_MS).returned({"statusCode": 403})
    assert isinstance(refused, Refuse) and refused.status == 403


def test_each_message_sees_the_stage_as_it_is_now(world: World) -> None:
    """The message path remembers the Stage object a connection's last message
    saw; a replaced stage (update, new deployment), a deleted one and a
    deleted API are each noticed on the next message."""
    world.route("$default", {"body": "v1"}, two_way=True)
    router = world.deploy(stage_variables={"env": "a"})
    conn = open_conn(world, router)
    other = open_conn(world, router)
    assert drive(conn.receive_text("x", now_ms=NOW_MS)).frames == ("v1",)
    assert drive(other.receive_text("x", now_ms=NOW_MS)).frames == ("v1",)
    world.gw.update_stage(world.api_id, "prod", stage_variables={"env": "b"})
    drive(conn.receive_text("x", now_ms=NOW_MS))
    assert world.calls[-1]["stageVariables"] == {"env": "b"}
    # A new deployment reaches both connections.
    route_id = next(r.route_id for r in world.gw.get_routes(world.api_id))
    world.gw.delete_route(world.api_id, route_id)
    world.route("$default", {"body": "v2"}, two_way=True)
    world.deploy()
    assert drive(conn.receive_text("x", now_ms=NOW_MS)).frames == ("v2",)
    assert drive(other.receive_text("x", now_ms=NOW_MS)).frames == ("v2",)
    # Throttling follows the stage too: a burst of 1 at rate 0 admits one more.
    world.gw.update_stage(world.api_id, "prod", default_route_settings={
        "throttlingBurstLimit": 1, "throttlingRateLimit": 0.0})
    assert drive(conn.receive_text("x", now_ms=NOW_MS)).frames == ("v2",)
    (throttled,) = drive(other.receive_text("x", now_ms=NOW_MS)).frames
    assert "Too Many Requests" in throttled
    # Deleted stage: the last deployment used, no stage throttling, no variables.
    world.gw.delete_stage(world.api_id, "prod")
    world.calls.clear()
    assert drive(other.receive_text("x", now_ms=NOW_MS)).frames == ("v2",)
    assert "stageVariables" not in world.calls[-1]
    world.gw.delete_api(world.api_id)
    assert drive(conn.receive_text("x", now_ms=NOW_MS)).frames == ("v2",)


def test_a_connect_flows_invoke_is_resumed_once(world: World) -> None:
    world.route("$connect", {"statusCode": 200})
    router = world.deploy()
    step = router.connect(path="/prod", headers=[], source_ip="203.0.113.9", now_ms=NOW_MS)
    assert isinstance(step, Invoke)
    assert isinstance(step.returned({"statusCode": 200}), Accept)
    with pytest.raises(RouterUsageError, match="already resumed"):
        step.resume(Returned(value={"statusCode": 200}))


def test_the_gateway_revision_counts_mutating_calls_ended(world: World) -> None:
    """The message path keeps a connection's stage while the revision is the
    same: every mutating call, even one that fails, moves it; reads do not."""
    before = world.gw.revision
    world.gw.get_stages(world.api_id)
    world.gw.find_stage(world.api_id, "prod")
    assert world.gw.revision == before
    world.gw.create_stage(world.api_id, "rev")
    assert world.gw.revision == before + 1
    with pytest.raises(ConflictException):
        world.gw.create_stage(world.api_id, "rev")
    assert world.gw.revision == before + 2


def test_lambda_call_is_the_invocations_call(world: World) -> None:
    world.route("$connect", {"statusCode": 200})
    world.route("$default", {"body": "b"}, two_way=True, timeout_in_millis=1500)
    router = world.deploy()
    connect = router.connect(path="/prod", headers=[], source_ip="203.0.113.9", now_ms=NOW_MS)
    assert isinstance(connect, Invoke) and connect.lambda_call is not None
    handler, event, context = connect.lambda_call
    inv = connect.invocation
    assert (handler, event, context) == (inv.handler, inv.event, inv.context)
    conn = drive(connect).connection
    step = conn.receive_text("m", now_ms=NOW_MS + 1)
    assert isinstance(step, Invoke) and step.lambda_call is not None
    handler, event, context = step.lambda_call
    inv = step.invocation  # made when read, then kept
    assert step.invocation is inv
    assert inv.handler is handler and inv.event is event and inv.context is context
    assert inv.kind is InvocationKind.LAMBDA and inv.purpose is Purpose.MESSAGE
    assert inv.route_key == "$default" and inv.timeout_s == 1.5 and inv.http is None
    assert inv.connection_id == conn.connection_id
    assert inv.request_id == event["requestContext"]["requestId"]
    assert context.aws_request_id and context.get_remaining_time_in_millis() == 1500
    # Resumed with or without reading invocation, the reply is the same.
    reply = step.resume(Returned(value=handler(event, context)))
    assert reply.frames == ("b",) and reply.request_id == inv.request_id
    unread = conn.receive_text("m", now_ms=NOW_MS + 2)
    assert unread.returned({"body": "b"}).frames == ("b",)


def test_http_message_has_no_lambda_call(world: World) -> None:
    integ = world.gw.create_integration(world.api_id, integration_type="HTTP_PROXY",
                                        integration_uri="https://svc/msg")
    world.gw.create_route(world.api_id, route_key="$default",
                          target=f"integrations/{integ.integration_id}")
    conn = open_conn(world, world.deploy())
    step = conn.receive_text("hello", now_ms=NOW_MS)
    assert isinstance(step, Invoke) and step.lambda_call is None
    assert step.invocation.kind is InvocationKind.HTTP and step.invocation.http.body == b"hello"
    (frame,) = step.resume(TimedOut()).frames
    assert "Endpoint request timed out" in frame and step.invocation.request_id in frame


def test_alternating_routes_keep_their_own_buckets(world: World) -> None:
    """The message path remembers the last route's buckets per connection;
    alternating routes and connections still take from the right bucket."""
    world.route("hot")
    world.route("$default")
    router = world.deploy(route_settings={"hot": {"ThrottlingBurstLimit": 3,
                                                  "ThrottlingRateLimit": 0}})
    a, b = open_conn(world, router), open_conn(world, router)
    hot = '{"action": "hot"}'
    outcomes = []
    for conn, text in [(a, hot), (a, "x"), (b, hot), (b, "x"), (a, hot), (b, "x"),
                       (b, hot), (a, "x"), (a, hot)]:
        frames = drive(conn.receive_text(text, now_ms=NOW_MS)).frames
        outcomes.append("throttled" if frames and "Too Many Requests" in frames[0] else "ok")
    # The hot route's bucket (burst 3, shared by both connections) runs out at
    # its fourth message; $default is not limited.
    assert outcomes == ["ok", "ok", "ok", "ok", "ok", "ok", "throttled", "ok", "throttled"]
