"""The control plane: resources, deployments, stages, quotas and errors."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from framer.router import (
    Accept,
    BadRequestException,
    ConflictException,
    Gateway,
    IntegrationType,
    Invoke,
    NotFoundException,
    Quotas,
    RouterUsageError,
    RouteSettings,
    TooManyRequestsException,
)

from .conftest import NOW_MS, T0, World

SEED_DEPLOYMENT = ('{ "DeploymentId": "fedcba", "DeploymentStatus": "DEPLOYED", '
                   '"CreatedDate": "2018-11-15T06:49:09Z" }')
SEED_STAGE = ('{ "StageName": "test", "CreatedDate": "2018-11-15T06:50:28Z", '
              '"DeploymentId": "fedcba", "DefaultRouteSettings": { "MetricsEnabled": false, '
              '"ThrottlingBurstLimit": 5000, "DataTraceEnabled": false, '
              '"ThrottlingRateLimit": 10000.0 }, "LastUpdatedDate": "2018-11-15T06:50:28Z", '
              '"StageVariables": {}, "RouteSettings": {} }')


def handler(event: Any, context: Any) -> Any:
    return {"statusCode": 200}


def api_with_route(gw: Gateway) -> str:
    api = gw.create_api(name="a", route_selection_expression="$request.body.action")
    integ = gw.create_integration(api.api_id, integration_type="AWS_PROXY", handler=handler)
    gw.create_route(api.api_id, route_key="$default",
                    target=f"integrations/{integ.integration_id}")
    return api.api_id


# -- the seed's JSON, byte for byte --------------------------------------------

def test_create_deployment_json_is_the_seeds(gw: Gateway) -> None:
    api_id = api_with_route(gw)
    gw.ids.deployment_id = lambda: "fedcba"  # type: ignore[method-assign]
    dep = gw.create_deployment(api_id, now=T0)
    assert dep.to_json() == SEED_DEPLOYMENT


def test_create_stage_json_is_the_seeds(gw: Gateway) -> None:
    api_id = api_with_route(gw)
    gw.ids.deployment_id = lambda: "fedcba"  # type: ignore[method-assign]
    gw.create_deployment(api_id, now=T0)
    stage = gw.create_stage(api_id, "test", "fedcba",
                            now=datetime(2018, 11, 15, 6, 50, 28, tzinfo=timezone.utc))
    assert stage.to_json() == SEED_STAGE


def test_indented_json_is_what_the_cli_prints(gw: Gateway) -> None:
    api_id = api_with_route(gw)
    dep = gw.create_deployment(api_id, now=T0)
    assert dep.to_json(indent=4) == (
        '{\n    "DeploymentId": "%s",\n    "DeploymentStatus": "DEPLOYED",\n'
        '    "CreatedDate": "2018-11-15T06:49:09Z"\n}' % dep.deployment_id)


def test_wire_forms_are_camel_case(gw: Gateway) -> None:
    api_id = api_with_route(gw)
    dep = gw.create_deployment(api_id, description="first", now=T0)
    assert dep.to_wire() == {"autoDeployed": False, "createdDate": "2018-11-15T06:49:09Z",
                             "deploymentId": dep.deployment_id,
                             "deploymentStatus": "DEPLOYED", "description": "first"}
    stage = gw.create_stage(api_id, "dev", dep.deployment_id, stage_variables={"a": "b"},
                            route_settings={"join": {"ThrottlingBurstLimit": 10}})
    wire = stage.to_wire()
    assert wire["stageName"] == "dev"
    assert wire["defaultRouteSettings"] == {
        "dataTraceEnabled": False, "detailedMetricsEnabled": False,
        "throttlingBurstLimit": 5000, "throttlingRateLimit": 10000.0}
    assert wire["routeSettings"] == {"join": {"throttlingBurstLimit": 10}}
    assert wire["stageVariables"] == {"a": "b"}


# -- APIs, routes, integrations ---------------------------------------------------

def test_api_id_and_cli_shape(gw: Gateway) -> None:
    api = gw.create_api(name="chat", route_selection_expression="$request.body.action")
    assert len(api.api_id) == 10 and api.api_id.isalnum() and api.api_id.islower()
    assert api.to_dict() == {
        "ApiEndpoint": f"wss://{api.api_id}.execute-api.us-east-1.amazonaws.com",
        "ApiId": api.api_id, "ApiKeySelectionExpression": "$request.header.x-api-key",
        "CreatedDate": "2018-11-15T06:49:09Z", "DisableExecuteApiEndpoint": False,
        "Name": "chat", "ProtocolType": "WEBSOCKET",
        "RouteSelectionExpression": "$request.body.action"}
    assert gw.get_api(api.api_id) == api
    assert api.to_wire()["routeSelectionExpression"] == "$request.body.action"


def test_route_selection_expression_is_required_and_validated(gw: Gateway) -> None:
    with pytest.raises(BadRequestException, match="required"):
        gw.create_api(name="x", route_selection_expression="")
    with pytest.raises(BadRequestException, match=r"\$request.header"):
        gw.create_api(name="x", route_selection_expression="$request.header.a")


def test_only_websocket_apis(gw: Gateway) -> None:
    with pytest.raises(BadRequestException, match="WEBSOCKET"):
        gw.create_api(name="x", route_selection_expression="a", protocol_type="HTTP")


def test_unknown_api_is_not_found(gw: Gateway) -> None:
    with pytest.raises(NotFoundException) as info:
        gw.get_api("nope")
    assert info.value.status == 404
    assert info.value.resource_type == "Api"
    assert info.value.message == "Invalid API identifier specified 123456789012:nope"


def test_duplicate_route_key_conflicts(world: World) -> None:
    world.route("join")
    with pytest.raises(ConflictException) as info:
        world.route("join")
    assert info.value.message == "Route with key join already exists for this API"
    assert info.value.status == 409


def test_renaming_a_route_follows_the_key_rules(world: World) -> None:
    world.route("join")
    leave = world.route("leave")
    with pytest.raises(ConflictException) as info:
        world.gw.update_route(world.api_id, leave.route_id, route_key="join")
    assert info.value.message == "Route with key join already exists for this API"
    with pytest.raises(BadRequestException, match="reserved"):
        world.gw.update_route(world.api_id, leave.route_id, route_key="$custom")
    assert world.gw.update_route(world.api_id, leave.route_id,
                                 route_key="leave").route_key == "leave"
    assert world.gw.update_route(world.api_id, leave.route_id,
                                 route_key="part").route_key == "part"
    assert sorted(r.route_key for r in world.gw.get_routes(world.api_id)) == ["join", "part"]


def test_predefined_and_custom_route_keys(world: World) -> None:
    for key in ("$connect", "$disconnect", "$default", "sendMessage"):
        assert world.route(key).route_key == key
    with pytest.raises(BadRequestException, match="reserved"):
        world.route("$custom")


def test_authorization_only_on_connect(world: World) -> None:
    gw = world.gw
    auth = gw.create_authorizer(world.api_id, name="a", handler=handler,
                                identity_source=["route.request.header.Auth"])
    with pytest.raises(BadRequestException) as info:
        gw.create_route(world.api_id, route_key="join", authorization_type="CUSTOM",
                        authorizer_id=auth.authorizer_id)
    assert info.value.message == \
        "Currently, authorization is restricted to the $connect route only"
    route = gw.create_route(world.api_id, route_key="$connect",
                            authorization_type="CUSTOM", authorizer_id=auth.authorizer_id)
    assert route.to_dict()["AuthorizerId"] == auth.authorizer_id
    other = world.route("other")
    with pytest.raises(BadRequestException, match="restricted to the \\$connect"):
        gw.update_route(world.api_id, other.route_id, authorization_type="AWS_IAM")


def test_custom_authorization_needs_an_existing_authorizer(world: World) -> None:
    with pytest.raises(BadRequestException, match="needs an authorizerId"):
        world.gw.create_route(world.api_id, route_key="$connect",
                              authorization_type="CUSTOM")
    with pytest.raises(NotFoundException, match="zzz"):
        world.gw.create_route(world.api_id, route_key="$connect",
                              authorization_type="CUSTOM", authorizer_id="zzz")


def test_authorizer_rules(gw: Gateway) -> None:
    api = gw.create_api(name="a", route_selection_expression="a")
    with pytest.raises(BadRequestException, match="JWT is for HTTP APIs"):
        gw.create_authorizer(api.api_id, name="j", authorizer_type="JWT", handler=handler,
                             identity_source=[])
    with pytest.raises(BadRequestException, match="identitySource 'header.Auth'"):
        gw.create_authorizer(api.api_id, name="j", handler=handler,
                             identity_source=["header.Auth"])
    ok = gw.create_authorizer(api.api_id, name="ok", handler=handler, identity_source=[
        "route.request.header.Auth", "route.request.querystring.token"])
    assert ok.to_dict()["IdentitySource"] == ["route.request.header.Auth",
                                              "route.request.querystring.token"]
    assert ok.to_dict()["AuthorizerType"] == "REQUEST"


def test_integration_kinds_and_timeouts(gw: Gateway) -> None:
    api = gw.create_api(name="a", route_selection_expression="a")
    lam = gw.create_integration(api.api_id, integration_type="AWS_PROXY", handler=handler)
    assert lam.timeout_in_millis == 29000
    assert lam.integration_uri.endswith(":function:handler/invocations")  # type: ignore[union-attr]
    assert lam.to_dict()["PayloadFormatVersion"] == "1.0"
    http = gw.create_integration(api.api_id, integration_type=IntegrationType.HTTP_PROXY,
                                 integration_uri="http://localhost:9000/hook",
                                 timeout_in_millis=50)
    assert http.integration_method == "POST" and http.timeout_in_millis == 50
    mock = gw.create_integration(api.api_id, integration_type="MOCK")
    assert mock.to_dict() == {
        "ConnectionType": "INTERNET", "IntegrationId": mock.integration_id,
        "IntegrationResponseSelectionExpression": "${response.statuscode}",
        "IntegrationType": "MOCK", "PassthroughBehavior": "WHEN_NO_MATCH",
        "TimeoutInMillis": 29000}
    for bad in (49, 29001, 0):
        with pytest.raises(BadRequestException, match=f"timeoutInMillis {bad}"):
            gw.create_integration(api.api_id, integration_type="MOCK",
                                  timeout_in_millis=bad)
    with pytest.raises(BadRequestException, match="callable"):
        gw.create_integration(api.api_id, integration_type="AWS_PROXY")
    with pytest.raises(BadRequestException, match="http:// or https://"):
        gw.create_integration(api.api_id, integration_type="HTTP_PROXY",
                              integration_uri="ftp://x")
    with pytest.raises(BadRequestException, match="VTL"):
        gw.create_integration(api.api_id, integration_type="AWS")


def test_a_handlers_made_up_uri_names_the_function_its_context_names() -> None:
    gw = Gateway(region="eu-west-1", account_id="111122223333", clock=lambda: T0)
    world = World(gw)
    fn = world.handler({"statusCode": 200}, name="say.hi <x>")
    integ = gw.create_integration(world.api_id, integration_type="AWS_PROXY", handler=fn)
    arn = "arn:aws:lambda:eu-west-1:111122223333:function:say-hi--x-"
    assert integ.integration_uri == (
        f"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{arn}/invocations")
    authorizer = gw.create_authorizer(world.api_id, name="auth", handler=fn,
                                      identity_source=["route.request.header.Auth"])
    assert authorizer.authorizer_uri == integ.integration_uri
    gw.create_route(world.api_id, route_key="$default",
                    target=f"integrations/{integ.integration_id}")
    accepted = world.connect(world.deploy())
    assert isinstance(accepted, Accept), accepted
    step = accepted.connection.receive_text("x", now_ms=NOW_MS)
    assert isinstance(step, Invoke)
    assert step.invocation.context.invoked_function_arn == arn


def test_route_target_must_exist(world: World) -> None:
    with pytest.raises(NotFoundException, match="no integration"):
        world.gw.create_route(world.api_id, route_key="x", target="integrations/abc")
    with pytest.raises(BadRequestException, match="integrations/<integrationId>"):
        world.gw.create_route(world.api_id, route_key="x", target="lambda")


def test_route_responses(world: World) -> None:
    route = world.route("echo")
    with pytest.raises(BadRequestException, match="only \\$default"):
        world.gw.update_route(world.api_id, route.route_id,
                              route_response_selection_expression="$request.body")
    rr = world.gw.create_route_response(world.api_id, route.route_id)
    assert rr.to_dict() == {"RouteResponseId": rr.route_response_id,
                            "RouteResponseKey": "$default"}
    with pytest.raises(ConflictException):
        world.gw.create_route_response(world.api_id, route.route_id)
    with pytest.raises(BadRequestException, match="only \\$default"):
        world.gw.create_route_response(world.api_id, route.route_id,
                                       route_response_key="other")


def test_in_use_resources_cannot_be_deleted(world: World) -> None:
    route = world.route("echo")
    with pytest.raises(ConflictException, match="echo"):
        world.gw.delete_integration(world.api_id, route.integration_id)  # type: ignore[arg-type]
    world.gw.delete_route(world.api_id, route.route_id)
    world.gw.delete_integration(world.api_id, route.integration_id)  # type: ignore[arg-type]
    assert world.gw.get_integrations(world.api_id) == []


# -- deployments and stages -----------------------------------------------------------

def test_deploying_without_routes_is_a_bad_request(gw: Gateway) -> None:
    api = gw.create_api(name="a", route_selection_expression="a")
    with pytest.raises(BadRequestException) as info:
        gw.create_deployment(api.api_id)
    assert info.value.message == "At least one route is required before deploying the Api"


def test_deployment_is_an_immutable_snapshot(world: World) -> None:
    gw = world.gw
    world.route("join")
    first = gw.create_deployment(world.api_id)
    gw.create_stage(world.api_id, "prod", first.deployment_id)
    # change the API after deploying
    world.route("leave")
    gw.update_api(world.api_id, route_selection_expression="$request.body.type")
    snap = gw.get_snapshot(world.api_id, first.deployment_id)
    assert set(snap.routes) == {"join"}
    assert snap.route_selection_expression == "$request.body.action"
    # the stage still serves the old snapshot until a new deployment is pointed at
    stage = gw.get_stage(world.api_id, "prod")
    assert stage.deployment_id == first.deployment_id
    second = gw.create_deployment(world.api_id)
    assert gw.get_stage(world.api_id, "prod").deployment_id == first.deployment_id
    gw.update_stage(world.api_id, "prod", deployment_id=second.deployment_id)
    assert set(gw.get_snapshot(world.api_id, second.deployment_id).routes) == \
        {"join", "leave"}


def test_create_deployment_with_stage_name_points_the_stage(world: World) -> None:
    gw = world.gw
    world.route("join")
    first = gw.create_deployment(world.api_id)
    gw.create_stage(world.api_id, "prod", first.deployment_id)
    later = T0 + timedelta(hours=1)
    second = gw.create_deployment(world.api_id, "prod", "again", now=later)
    stage = gw.get_stage(world.api_id, "prod")
    assert stage.deployment_id == second.deployment_id
    assert stage.last_updated_date == later and stage.created_date == T0
    with pytest.raises(NotFoundException, match="stage identifier"):
        gw.create_deployment(world.api_id, "nostage")


def test_promotion_is_one_update_stage(world: World) -> None:
    gw = world.gw
    world.route("join")
    old = gw.create_deployment(world.api_id)
    gw.create_stage(world.api_id, "prod", old.deployment_id)
    new = gw.create_deployment(world.api_id)
    gw.create_stage(world.api_id, "test", new.deployment_id)
    test_deployment = gw.get_stage(world.api_id, "test").deployment_id
    gw.update_stage(world.api_id, "prod", deployment_id=test_deployment)
    assert gw.get_stage(world.api_id, "prod").deployment_id == new.deployment_id


def test_eleventh_stage_is_refused(world: World) -> None:
    world.route("join")
    dep = world.gw.create_deployment(world.api_id)
    for i in range(10):
        world.gw.create_stage(world.api_id, f"s{i}", dep.deployment_id)
    with pytest.raises(TooManyRequestsException) as info:
        world.gw.create_stage(world.api_id, "s10", dep.deployment_id)
    assert info.value.status == 429
    assert info.value.limit_type == "StagesPerApi"
    assert "Maximum number of stages (10)" in info.value.message
    assert len(world.gw.get_stages(world.api_id)) == 10
    world.gw.delete_stage(world.api_id, "s0")
    world.gw.create_stage(world.api_id, "s10", dep.deployment_id)


def test_stage_quota_is_configurable() -> None:
    gw = Gateway(quotas=Quotas(max_stages_per_api=2), clock=lambda: T0,
                 rng=random.Random(3))
    api_id = api_with_route(gw)
    gw.create_stage(api_id, "a")
    gw.create_stage(api_id, "b")
    with pytest.raises(TooManyRequestsException, match=r"\(2\)"):
        gw.create_stage(api_id, "c")


@pytest.mark.parametrize("name", ["", "has space", "a/b", "x" * 129, "$other", "ünï"])
def test_bad_stage_names(gw: Gateway, name: str) -> None:
    api_id = api_with_route(gw)
    with pytest.raises(BadRequestException, match="Invalid stageName"):
        gw.create_stage(api_id, name)


@pytest.mark.parametrize("name", ["prod", "v1_beta-2", "$default", "x" * 128])
def test_good_stage_names(gw: Gateway, name: str) -> None:
    api_id = api_with_route(gw)
    assert gw.create_stage(api_id, name).stage_name == name


def test_duplicate_stage_conflicts(gw: Gateway) -> None:
    api_id = api_with_route(gw)
    gw.create_stage(api_id, "prod")
    with pytest.raises(ConflictException, match="prod"):
        gw.create_stage(api_id, "prod")


@pytest.mark.parametrize("variables, fragment", [
    ({"bad-name": "v"}, "stage variable name 'bad-name'"),
    ({"ok": "has space"}, "value 'has space' for ok"),
    ({"ok": ""}, "value '' for ok"),
    ({"ok": "x" * 2049}, "1-2048"),
    ({"k" * 65: "v"}, "1-64"),
])
def test_stage_variable_rules(gw: Gateway, variables: dict[str, str],
                              fragment: str) -> None:
    api_id = api_with_route(gw)
    with pytest.raises(BadRequestException) as info:
        gw.create_stage(api_id, "prod", stage_variables=variables)
    assert fragment in info.value.message


def test_stage_variable_values_allowed_characters(gw: Gateway) -> None:
    api_id = api_with_route(gw)
    value = "AZaz09-._~:/?#&=,"
    stage = gw.create_stage(api_id, "prod", stage_variables={"url_1": value})
    assert stage.stage_variables == {"url_1": value}


def test_too_many_stage_variables(gw: Gateway) -> None:
    api_id = api_with_route(gw)
    with pytest.raises(BadRequestException, match="at most 100"):
        gw.create_stage(api_id, "p", stage_variables={f"v{i}": "x" for i in range(101)})


def test_update_stage_settings(gw: Gateway) -> None:
    api_id = api_with_route(gw)
    gw.create_stage(api_id, "prod", stage_variables={"a": "1"})
    stage = gw.update_stage(
        api_id, "prod", stage_variables={"b": "2"},
        default_route_settings={"ThrottlingBurstLimit": 10, "LoggingLevel": "INFO"},
        route_settings={"join": {"ThrottlingRateLimit": 2}})
    assert stage.stage_variables == {"b": "2"}
    assert stage.default_route_settings.throttling_burst_limit == 10
    assert stage.default_route_settings.throttling_rate_limit == 10000.0
    assert stage.route_settings["join"] == RouteSettings(throttling_rate_limit=2.0)
    stage = gw.update_stage(api_id, "prod",
                            route_settings={"join": RouteSettings(throttling_burst_limit=3)})
    assert stage.route_settings["join"] == RouteSettings(throttling_rate_limit=2.0,
                                                         throttling_burst_limit=3)
    assert stage.to_dict()["RouteSettings"] == {
        "join": {"ThrottlingBurstLimit": 3, "ThrottlingRateLimit": 2.0}}
    gw.delete_route_settings(api_id, "prod", "join")
    assert gw.get_stage(api_id, "prod").route_settings == {}
    with pytest.raises(NotFoundException):
        gw.delete_route_settings(api_id, "prod", "join")


@pytest.mark.parametrize("settings, fragment", [
    ({"ThrottlingBurstLimit": -1}, "throttlingBurstLimit -1"),
    ({"ThrottlingBurstLimit": 5001}, "exceeds the account burst limit 5000"),
    ({"ThrottlingRateLimit": 10000.5}, "exceeds the account rate limit"),
    ({"ThrottlingRateLimit": "fast"}, "throttlingRateLimit 'fast'"),
    ({"LoggingLevel": "LOUD"}, "loggingLevel 'LOUD'"),
    ({"Colour": "red"}, "unknown member 'Colour'"),
])
def test_route_settings_rules(gw: Gateway, settings: dict[str, Any],
                              fragment: str) -> None:
    api_id = api_with_route(gw)
    with pytest.raises(BadRequestException) as info:
        gw.create_stage(api_id, "prod", route_settings={"join": settings})
    assert fragment in info.value.message
    assert "routeSettings['join']" in info.value.message


def test_get_and_delete_deployments(world: World) -> None:
    gw = world.gw
    world.route("join")
    a = gw.create_deployment(world.api_id)
    b = gw.create_deployment(world.api_id)
    assert [d.deployment_id for d in gw.get_deployments(world.api_id)] == \
        [a.deployment_id, b.deployment_id]
    gw.create_stage(world.api_id, "prod", a.deployment_id)
    with pytest.raises(BadRequestException, match="prod"):
        gw.delete_deployment(world.api_id, a.deployment_id)
    gw.delete_deployment(world.api_id, b.deployment_id)
    with pytest.raises(NotFoundException) as info:
        gw.get_deployment(world.api_id, b.deployment_id)
    assert info.value.resource_type == "Deployment"
    with pytest.raises(NotFoundException):
        gw.create_stage(world.api_id, "test", b.deployment_id)


def test_get_stage_errors(gw: Gateway) -> None:
    api_id = api_with_route(gw)
    with pytest.raises(NotFoundException) as info:
        gw.get_stage(api_id, "prod")
    assert info.value.resource_type == "Stage"
    with pytest.raises(NotFoundException):
        gw.delete_stage(api_id, "prod")
    with pytest.raises(NotFoundException):
        gw.update_stage(api_id, "prod", stage_variables={})


def test_time_must_come_from_the_caller() -> None:
    gw = Gateway()
    with pytest.raises(RouterUsageError, match="now="):
        gw.create_api(name="a", route_selection_expression="a")
    api = gw.create_api(name="a", route_selection_expression="a", now=T0)
    assert api.created_date == T0


def test_other_quotas() -> None:
    gw = Gateway(quotas=Quotas(max_routes_per_api=1, max_integrations_per_api=1,
                               max_authorizers_per_api=1), clock=lambda: T0)
    api_id = api_with_route(gw)
    with pytest.raises(TooManyRequestsException, match="routes"):
        gw.create_route(api_id, route_key="b")
    with pytest.raises(TooManyRequestsException, match="integrations"):
        gw.create_integration(api_id, integration_type="MOCK")
    gw.create_authorizer(api_id, name="a", handler=handler, identity_source=[])
    with pytest.raises(TooManyRequestsException, match="authorizers"):
        gw.create_authorizer(api_id, name="b", handler=handler, identity_source=[])


def test_names_and_values_with_a_trailing_newline_are_refused(world: World, gw: Gateway) -> None:
    """``$`` matches before a final newline; the gateway's checks match the whole text."""
    world.route("join")
    dep = world.gw.create_deployment(world.api_id)
    with pytest.raises(BadRequestException):
        world.gw.create_stage(world.api_id, "prod\n", dep.deployment_id)
    with pytest.raises(BadRequestException):
        world.gw.create_stage(world.api_id, "prod", dep.deployment_id, stage_variables={"a\n": "b"})
    with pytest.raises(BadRequestException):
        world.gw.create_stage(world.api_id, "prod", dep.deployment_id, stage_variables={"a": "b\n"})
    api = gw.create_api(name="a", route_selection_expression="a")
    with pytest.raises(BadRequestException, match="identitySource"):
        gw.create_authorizer(api.api_id, name="j", handler=handler,
                             identity_source=["route.request.header.Auth\n"])
    world.gw.create_stage(world.api_id, "prod", dep.deployment_id, stage_variables={"a": "b"})
