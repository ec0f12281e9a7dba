"""Resources and their properties, provisioned as apigatewayv2 would make them."""

from __future__ import annotations

from pathlib import Path

import pytest

from framer.router import AuthorizationType, IntegrationType
from framer.template import TemplateError, TemplateGateway

from .conftest import code_dir, open_template

FULL = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: [AWS::Serverless-2016-10-31]
Parameters:
  WithExtra: {Type: String, Default: "no", AllowedValues: ["yes", "no"]}
Conditions:
  Extra: !Equals [!Ref WithExtra, "yes"]
Globals:
  Function:
    Runtime: python3.11
    CodeUri: src/
    Timeout: 20
    Environment:
      Variables: {A: global, B: global}
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: full
      Description: every resource type
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.op
      ApiKeySelectionExpression: $request.header.x-api-key
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      FunctionName: echo-fn
      MemorySize: 512
      ReservedConcurrentExecutions: 5
      Environment:
        Variables: {B: own}
      Events:
        Hello: {Type: HttpApi, Properties: {Path: /hello, Method: get}}
  Inline:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Timeout: 7
      Role: !GetAtt EchoRole.Arn
      Code:
        ZipFile: |
          def handler(event, context):
              return {"statusCode": 200, "body": "inline"}
  Node:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
  ViaSub:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Echo.Arn}/invocations
      TimeoutInMillis: 5000
  ViaGetAtt:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !GetAtt Inline.Arn
  ViaJoin:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !Join ["", ["arn:", !Ref AWS::Partition, ":apigateway:", !Ref AWS::Region, ":lambda:path/2015-03-31/functions/", !GetAtt Node.Arn, "/invocations"]]
  ViaLiteral:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: arn:aws:lambda:us-east-1:123456789012:function:echo-fn
  Http:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: HTTP_PROXY
      IntegrationMethod: PUT
      IntegrationUri: http://127.0.0.1:9/${stageVariables.path}
  Mock:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: MOCK
      RequestTemplates: {$default: '{"statusCode": 200}'}
      TemplateSelectionExpression: \\$default
  MockResponse:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties:
      ApiId: !Ref Api
      IntegrationId: !Ref Mock
      IntegrationResponseKey: $default
      ResponseTemplates: {$default: '{"pong": true}'}
  Auth:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Api
      Name: auth
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Echo.Arn}/invocations
      IdentitySource: [route.request.header.Auth, route.request.querystring.token]
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: $connect
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref Auth
      Target: !Sub integrations/${ViaSub}
  InlineRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: inline, Target: !Join [/, [integrations, !Ref ViaGetAtt]]}
  NodeRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: node, Target: !Join [/, [integrations, !Ref ViaJoin]]}
  LiteralRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: literal
      OperationName: Literal
      ApiKeyRequired: true
      RouteResponseSelectionExpression: $default
      Target: !Join [/, [integrations, !Ref ViaLiteral]]
  LiteralResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties: {ApiId: !Ref Api, RouteId: !Ref LiteralRoute, RouteResponseKey: $default}
  HttpRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: http, Target: !Join [/, [integrations, !Ref Http]]}
  MockRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Join [/, [integrations, !Ref Mock]]}
  ExtraRoute:
    Type: AWS::ApiGatewayV2::Route
    Condition: Extra
    Properties: {ApiId: !Ref Api, RouteKey: extra, Target: !Join [/, [integrations, !Ref Mock]]}
  Deployment:
    Type: AWS::ApiGatewayV2::Deployment
    DependsOn: [ConnectRoute, InlineRoute, NodeRoute, LiteralRoute, HttpRoute, MockRoute]
    Properties: {ApiId: !Ref Api, Description: first}
  Prod:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Api
      StageName: prod
      Description: production
      DeploymentId: !Ref Deployment
      StageVariables: {path: items}
      DefaultRouteSettings: {ThrottlingBurstLimit: 50, ThrottlingRateLimit: 20, DataTraceEnabled: false, LoggingLevel: INFO}
      RouteSettings:
        literal: {ThrottlingBurstLimit: 5, ThrottlingRateLimit: 1}
  Dev:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: dev, AutoDeploy: true}
  HttpApi:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: rest, ProtocolType: HTTP}
  HttpApiRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref HttpApi, RouteKey: GET /items}
  Table:
    Type: AWS::DynamoDB::Table
"""


@pytest.fixture
def full(tmp_path: Path) -> TemplateGateway:
    code_dir(tmp_path)
    return open_template(tmp_path, FULL, stack_name="full")


def test_api_properties(full: TemplateGateway) -> None:
    (entry,) = full.model.apis
    api = full.app.gateway.get_api(entry.api_id)
    assert (api.name, api.description, api.route_selection_expression,
            api.api_key_selection_expression) == (
        "full", "every resource type", "$request.body.op", "$request.header.x-api-key")
    assert entry.logical_id == "Api"


def test_functions_map_to_function_records(full: TemplateGateway, tmp_path: Path) -> None:
    functions = {f.logical_id: f for f in full.model.functions}
    echo = functions["Echo"].function
    assert (echo.name, echo.handler, echo.runtime, echo.code_dir, echo.timeout_s,
            echo.memory_mb, echo.reserved_concurrency) == (
        "echo-fn", "app.echo", "python3.11", tmp_path / "src", 20.0, 512, 5)
    assert dict(echo.environment) == {"A": "global", "B": "own"}  # Globals merged
    inline = functions["Inline"].function
    assert inline.name.startswith("full-Inline-") and len(inline.name) <= 64
    assert (inline.code_dir / "index.py").read_text().startswith("def handler")
    assert inline.timeout_s == 7.0 and inline.memory_mb == 128
    assert functions["Node"].problem == "its runtime nodejs20.x is not python3.x"
    assert any(w.startswith(f"function {functions['Node'].function.name} (Node) cannot run")
               for w in full.model.warnings)


def test_integration_uri_forms_reach_their_function(full: TemplateGateway) -> None:
    routes = {r.route_key: r for r in full.model.apis[0].routes}
    assert routes["$connect"].function.logical_id == "Echo"  # Fn::Sub ${Echo.Arn}
    assert routes["inline"].function.logical_id == "Inline"  # !GetAtt
    assert routes["node"].function.logical_id == "Node"  # !Join
    assert routes["literal"].function.logical_id == "Echo"  # a literal ARN
    assert (routes["http"].integration_type, routes["http"].target) == (
        "HTTP_PROXY", "http://127.0.0.1:9/${stageVariables.path}")
    assert routes["$default"].integration_type == "MOCK"
    assert "extra" not in routes  # Condition Extra is false
    assert routes["$connect"].authorizer == "echo-fn"


def test_routes_integrations_and_responses(full: TemplateGateway) -> None:
    gw = full.app.gateway
    api_id = full.model.apis[0].api_id
    routes = {r.route_key: r for r in gw.get_routes(api_id)}
    integrations = {i.integration_id: i for i in gw.get_integrations(api_id)}
    literal = routes["literal"]
    assert (literal.operation_name, literal.api_key_required,
            literal.route_response_selection_expression) == ("Literal", True, "$default")
    assert [r.route_response_key for r in gw.get_route_responses(api_id, literal.route_id)] \
        == ["$default"]
    connect = routes["$connect"]
    assert connect.authorization_type is AuthorizationType.CUSTOM
    assert integrations[connect.integration_id].timeout_in_millis == 5000
    http = integrations[routes["http"].integration_id]
    assert (http.integration_type, http.integration_method) == (IntegrationType.HTTP_PROXY, "PUT")
    mock = integrations[routes["$default"].integration_id]
    assert mock.request_templates == {"$default": '{"statusCode": 200}'}
    assert mock.template_selection_expression == "\\$default"
    (response,) = gw.get_integration_responses(api_id, mock.integration_id)
    assert (response.integration_response_key, response.response_templates) == (
        "$default", {"$default": '{"pong": true}'})
    (auth,) = gw.get_authorizers(api_id)
    assert (auth.name, auth.identity_source) == (
        "auth", ("route.request.header.Auth", "route.request.querystring.token"))


def test_stages_deployments_and_settings(full: TemplateGateway) -> None:
    gw = full.app.gateway
    api_id = full.model.apis[0].api_id
    prod, dev = gw.get_stage(api_id, "prod"), gw.get_stage(api_id, "dev")
    assert prod.description == "production" and prod.stage_variables == {"path": "items"}
    assert (prod.default_route_settings.throttling_burst_limit,
            prod.default_route_settings.throttling_rate_limit,
            prod.default_route_settings.logging_level.value) == (50, 20.0, "INFO")
    assert prod.route_settings["literal"].throttling_burst_limit == 5
    deployments = {d.deployment_id: d for d in gw.get_deployments(api_id)}
    assert deployments[prod.deployment_id].description == "first"
    assert dev.deployment_id is not None and dev.deployment_id != prod.deployment_id  # AutoDeploy
    snapshot = gw.get_snapshot(api_id, prod.deployment_id)
    assert set(snapshot.routes) == {"$connect", "inline", "node", "literal", "http", "$default"}
    assert full.model.apis[0].stages == ("prod", "dev")


def test_unemulated_and_http_apis_are_listed(full: TemplateGateway) -> None:
    skipped = {s.logical_id: (s.type, s.reason) for s in full.model.skipped}
    assert skipped["Table"] == ("AWS::DynamoDB::Table", "not emulated")
    assert skipped["HttpApi"][1].startswith("an HTTP API: not served")
    assert skipped["HttpApiRoute"][1] == "part of HttpApi, an HTTP API"
    assert "EchoRole" not in skipped  # SAM's implicit role: a placeholder, not listed
    assert skipped["Echo.Events.Hello"][0] == "SAM event HttpApi"
    assert skipped["Echo.Events.Hello"][1].startswith("not served")
    assert [a.logical_id for a in full.model.apis] == ["Api"]


def test_deployment_without_depends_on_still_snapshots_every_route(tmp_path: Path) -> None:
    loaded = open_template(tmp_path, """
        Resources:
          Stage: {Type: AWS::ApiGatewayV2::Stage, Properties: {ApiId: !Ref Api, StageName: s, DeploymentId: !Ref Dep}}
          Dep: {Type: AWS::ApiGatewayV2::Deployment, Properties: {ApiId: !Ref Api}}
          Api: {Type: AWS::ApiGatewayV2::Api, Properties: {Name: a, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.a}}
          R1: {Type: AWS::ApiGatewayV2::Route, Properties: {ApiId: !Ref Api, RouteKey: one, Target: !Sub "integrations/${I}"}}
          R2: {Type: AWS::ApiGatewayV2::Route, Properties: {ApiId: !Ref Api, RouteKey: two, Target: !Sub "integrations/${I}"}}
          I: {Type: AWS::ApiGatewayV2::Integration, Properties: {ApiId: !Ref Api, IntegrationType: MOCK}}
    """)
    gw = loaded.app.gateway
    api_id = loaded.model.apis[0].api_id
    stage = gw.get_stage(api_id, "s")
    assert set(gw.get_snapshot(api_id, stage.deployment_id).routes) == {"one", "two"}


API = """
  Api: {Type: AWS::ApiGatewayV2::Api, Properties: {Name: a, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.a}}
"""


@pytest.mark.parametrize(("resources", "where", "fragment"), [
    ("  A: {Type: AWS::SNS::Topic, DependsOn: B}\n  B: {Type: AWS::SNS::Topic, DependsOn: A}\n",
     "Resources.A", "circular dependency: A -> B -> A"),
    ("  A: {Type: AWS::SNS::Topic, Properties: {TopicName: !GetAtt B.TopicName}}\n"
     "  B: {Type: AWS::SNS::Topic, Properties: {TopicName: !Ref A}}\n",
     "Resources.A", "circular dependency: A -> B -> A"),
    ("  A: {Type: AWS::SNS::Topic, DependsOn: [Nope]}\n", "Resources.A.DependsOn.0",
     "DependsOn 'Nope': no resource of that name"),
    (API + "  R: {Type: AWS::ApiGatewayV2::Route, Properties: {ApiId: !Ref Api, RouteKey: x, "
     "Target: integrations/abc1234}}\n", "Resources.R.Properties.Target",
     "Target 'integrations/abc1234' is no integration of this API"),
    (API + "  R: {Type: AWS::ApiGatewayV2::Route, Properties: {ApiId: !Ref Api, "
     "RouteKey: $bad}}\n", "Resources.R.Properties.RouteKey", "Invalid routeKey '$bad'"),
    (API + "  R: {Type: AWS::ApiGatewayV2::Route, Properties: {ApiId: !Ref Api}}\n",
     "Resources.R.Properties.RouteKey", "RouteKey is required"),
    ("  F: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.12, CodeUri: src/, "
     "Handler: missing.handler}}\n", "Resources.F.Properties.Handler",
     "cannot import module 'missing'"),
    ("  F: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.12, CodeUri: nodir/, "
     "Handler: app.echo}}\n", "Resources.F.Properties.CodeUri", "does not exist"),
    ("  F: {Type: AWS::Lambda::Function, Properties: {Handler: app.echo, Runtime: python3.12, "
     "Code: nothere/}}\n", "Resources.F.Properties.Code", "nothere does not exist"),
    ("  F: {Type: AWS::Lambda::Function, Properties: {Handler: app.echo, Code: {ZipFile: x}}}\n",
     "Resources.F.Properties.Runtime", "Runtime is required"),
    ("  T: {Type: AWS::SNS::Topic, Properties: {TopicName: !Ref Missing}}\n"
     "  F: {Type: AWS::Serverless::Function, Properties: {Runtime: python3.12, CodeUri: src/, "
     "Handler: app.echo, Environment: {Variables: {X: !Ref Missing}}}}\n",
     "Resources.F.Properties.Environment.Variables.X", "Ref to 'Missing'"),
])
def test_bad_templates_name_resource_and_property(tmp_path: Path, resources: str, where: str,
                                                  fragment: str) -> None:
    code_dir(tmp_path)
    text = "Resources:\n" + resources
    with pytest.raises(TemplateError) as info:
        open_template(tmp_path, text)
    assert info.value.where == where and fragment in info.value.problem, str(info.value)
    assert info.value.file == str(tmp_path / "template.yaml") and info.value.line is not None


def test_sam_websocket_api_expands_to_its_parts(tmp_path: Path) -> None:
    code_dir(tmp_path)
    loaded = open_template(tmp_path, """
        Transform: AWS::Serverless-2016-10-31
        Globals:
          Function: {Runtime: python3.12, CodeUri: src/}
        Resources:
          Chat:
            Type: AWS::Serverless::WebSocketApi
            Properties:
              Name: chat
              RouteSelectionExpression: $request.body.type
              StageName: live
              StageVariables: {colour: blue}
              Auth:
                AuthType: CUSTOM
                AuthArn: !GetAtt Auth.Arn
                IdentitySource: [route.request.querystring.token]
              Routes:
                $connect: {FunctionArn: !GetAtt Echo.Arn}
                say:
                  FunctionArn: !GetAtt Echo.Arn
                  IntegrationTimeout: 3000
                  RouteResponseSelectionExpression: $default
          Echo: {Type: AWS::Serverless::Function, Properties: {Handler: app.echo}}
          Auth: {Type: AWS::Serverless::Function, Properties: {Handler: app.env}}
        Outputs:
          Id: {Value: !Ref Chat}
    """)
    (api,) = loaded.model.apis
    assert (api.logical_id, api.name, api.stages) == ("Chat", "chat", ("live",))
    assert loaded.model.outputs["Id"] == api.api_id
    routes = {r.route_key: r for r in api.routes}
    assert set(routes) == {"$connect", "say"}
    assert routes["$connect"].function.logical_id == "Echo"
    assert routes["$connect"].authorizer == next(
        f.function.name for f in loaded.model.functions if f.logical_id == "Auth")
    gw = loaded.app.gateway
    assert gw.get_api(api.api_id).route_selection_expression == "$request.body.type"
    stage = gw.get_stage(api.api_id, "live")
    assert stage.stage_variables == {"colour": "blue"} and stage.deployment_id is not None
    say = next(r for r in gw.get_routes(api.api_id) if r.route_key == "say")
    assert say.route_response_selection_expression == "$default"
    assert gw.get_integration(api.api_id, say.integration_id).timeout_in_millis == 3000
