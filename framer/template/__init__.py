"""framer.template: run the WebSocket APIs of a template a user already has.

``framer serve --template PATH`` (AWS SAM / CloudFormation YAML or JSON,
``cdk synth`` output, ``serverless.yml``). Modules, one concern each:

- ``_errors``: ``TemplateError`` (file, line, place and property of a problem).
- ``_documents``: reading JSON, and YAML with CloudFormation's short-form tags and lines.
- ``_intrinsics``: the intrinsic functions (``Ref``, ``Fn::Sub``, ``Fn::If``...).
- ``_parameters``: ``Parameters`` (checked), ``--parameter-overrides``, pseudo parameters.
- ``_functions``: SAM/Lambda function properties -> ``framer.functions.Function``,
  and the one place a function becomes what the gateway calls.
- ``_resources``: ``AWS::ApiGatewayV2::*`` provisioned through ``Gateway``'s create_* calls.
- ``_sam``: SAM's ``AWS::Serverless::WebSocketApi`` expanded to ``AWS::ApiGatewayV2::*``.
- ``_stack``: the resources in dependency order, conditions, placeholders.
- ``_variables``: serverless.yml's ``${...}`` variables.
- ``_serverless``: serverless.yml compiled to CloudFormation.
- ``_model``: ``App``, the neutral model of what a template made.
- ``_app``: ``TemplateGateway``: a template on a gateway, and its reload.
- ``_banner``: the start-up banner.
- ``_serve``: finding the template, serving it, the ``--reload`` watcher.
"""

from __future__ import annotations

from ._app import TEMPLATE_NAMES, LoadOptions, TemplateGateway, discover
from ._errors import TemplateError
from ._functions import TemplateFunction
from ._model import ApiEntry, App, RouteEntry, Skipped
from ._serve import find_template, serve_template

__all__ = ["TEMPLATE_NAMES", "ApiEntry", "App", "LoadOptions", "RouteEntry", "Skipped",
           "TemplateError", "TemplateFunction", "TemplateGateway", "discover", "find_template",
           "serve_template"]
