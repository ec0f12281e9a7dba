"""serverless.yml: variables, functions, websocket events, --stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from framer.template import TemplateError

from .conftest import code_dir, open_template, write

SERVICE = """
service: chat
frameworkVersion: "4"
params:
  default: {greeting: hi}
  prod: {greeting: hello}
stages:
  default:
    params: {colour: blue}
provider:
  name: aws
  runtime: python3.12
  stage: ${opt:stage, 'dev'}
  region: eu-west-1
  websocketsApiName: ${self:service}-ws-${sls:stage}
  websocketsApiRouteSelectionExpression: $request.body.route
  websocketsDescription: ${self:custom.description}
  environment:
    A: ${env:FRAMER_TEST_A, 'fallback'}
    B: ${param:greeting}
    C: ${param:colour}
custom:
  description: Chat for ${sls:stage} in ${aws:region} (${opt:region, self:provider.region})
  table: ${file(./config.json):tables.${sls:stage}, 'none'}
  memory: ${file(./config.json):memory}
functions:
  connect:
    handler: src/app.echo
    timeout: 12
    memorySize: ${self:custom.memory}
    environment:
      TABLE: ${self:custom.table}
      ENABLED: ${strToBool(true)}
    events:
      - websocket:
          route: $connect
          authorizer:
            name: auth
            identitySource: [route.request.querystring.token]
  auth:
    handler: src/app.env
  default:
    name: custom-default-name
    handler: src/app.echo
    runtime: nodejs20.x
    events:
      - websocket: $default
      - websocket:
          route: ping
          routeResponseSelectionExpression: $default
      - http: GET /ignored
"""


@pytest.fixture
def service(tmp_path: Path) -> Path:
    code_dir(tmp_path)
    write(tmp_path, json.dumps({"tables": {"dev": "chat-dev"}, "memory": 256}), "config.json")
    return tmp_path


def test_variables_and_functions(service: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAMER_TEST_A", "from-env")
    loaded = open_template(service, SERVICE, "serverless.yml")
    assert loaded.model.format == "serverless"
    functions = {f.function.name: f for f in loaded.model.functions}
    connect = functions["chat-dev-connect"].function
    assert (connect.handler, connect.code_dir, connect.timeout_s, connect.memory_mb) == (
        "src/app.echo", service, 12.0, 256)
    assert dict(connect.environment) == {"A": "from-env", "B": "hi", "C": "blue",
                                         "TABLE": "chat-dev", "ENABLED": "true"}
    assert functions["chat-dev-auth"].function.timeout_s == 6.0  # the framework's default
    assert functions["custom-default-name"].problem == "its runtime nodejs20.x is not python3.x"
    (api,) = loaded.model.apis
    gateway_api = loaded.app.gateway.get_api(api.api_id)
    assert (gateway_api.name, gateway_api.route_selection_expression, gateway_api.description) \
        == ("chat-ws-dev", "$request.body.route", "Chat for dev in eu-west-1 (eu-west-1)")
    assert api.stages == ("dev",)
    assert loaded.app.gateway.region == "eu-west-1"


def test_websocket_events(service: Path) -> None:
    loaded = open_template(service, SERVICE, "serverless.yml")
    (api,) = loaded.model.apis
    routes = {r.route_key: r for r in api.routes}
    assert set(routes) == {"$connect", "$default", "ping"}
    assert routes["$connect"].target == "chat-dev-connect"
    assert routes["$connect"].authorizer == "chat-dev-auth"
    assert routes["ping"].target == routes["$default"].target == "custom-default-name"
    gw = loaded.app.gateway
    (authorizer,) = gw.get_authorizers(api.api_id)
    assert authorizer.identity_source == ("route.request.querystring.token",)
    ping = next(r for r in gw.get_routes(api.api_id) if r.route_key == "ping")
    assert ping.route_response_selection_expression == "$default"
    assert len(gw.get_route_responses(api.api_id, ping.route_id)) == 1


def test_stage_option_selects_the_stage(service: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRAMER_TEST_A", raising=False)
    loaded = open_template(service, SERVICE, "serverless.yml", stage="prod")
    assert loaded.model.apis[0].stages == ("prod",)
    connect = next(f.function for f in loaded.model.functions if f.logical_id.startswith("Connect"))
    assert connect.name == "chat-prod-connect"
    assert dict(connect.environment)["TABLE"] == "none"  # the file has no tables.prod
    assert dict(connect.environment)["B"] == "hello"  # params.prod
    assert dict(connect.environment)["A"] == "fallback"


def test_authorizer_by_arn_defaults_to_the_auth_header(service: Path) -> None:
    text = SERVICE.replace("""          authorizer:
            name: auth
            identitySource: [route.request.querystring.token]""",
                           """          authorizer: arn:aws:lambda:eu-west-1:123456789012:function:chat-dev-auth""")
    loaded = open_template(service, text, "serverless.yml")
    (authorizer,) = loaded.app.gateway.get_authorizers(loaded.model.apis[0].api_id)
    assert authorizer.identity_source == ("route.request.header.Auth",)
    assert authorizer.name == "chat-dev-auth"


@pytest.mark.parametrize(("change", "where", "fragment"), [
    (("${param:greeting}", "${param:nothing}"), "provider.environment.B",
     "variable ${param:nothing} has no value and no fallback"),
    (("${self:custom.description}", "${ssm:/chat/description}"), "provider.websocketsDescription",
     "variable source 'ssm'"),
    (("name: auth\n", "name: nobody\n"), "functions.connect.events[0].websocket.authorizer.name",
     "authorizer 'nobody' is no function of this service"),
    (("handler: src/app.env", "handler: src/missing.env"), "functions.auth",
     "cannot import module 'src.missing'"),
    (("    handler: src/app.env\n", "    handler: src/app.env\n    events: [{websocket: $default}]\n"),
     "functions.default.events[0].websocket", "route $default is given twice (also by "
     "functions.auth.events[0].websocket)"),
    (("custom:\n", "custom:\n  loop: ${self:custom.loop2}\n  loop2: ${self:custom.loop}\n"
                   "  use: ${self:custom.loop}\n"), "custom.loop", "circular variable: ${self:custom.loop2} "
     "-> ${self:custom.loop} -> ${self:custom.loop2}"),
])
def test_bad_services_name_the_place(service: Path, change: tuple[str, str], where: str,
                                     fragment: str) -> None:
    with pytest.raises(TemplateError) as info:
        open_template(service, SERVICE.replace(*change), "serverless.yml")
    assert info.value.where == where and fragment in info.value.problem, str(info.value)
    assert info.value.file == str(service / "serverless.yml")
