"""framer.controlplane: the ``apigatewayv2`` API of API Gateway, served locally.

``framer serve --control-plane`` serves, on one port:

- the ``apigatewayv2`` REST-JSON control plane under ``/v2/apis`` (what
  ``aws apigatewayv2 ... --endpoint-url http://HOST:PORT`` and boto3's
  ``apigatewayv2`` client with ``endpoint_url`` speak);
- every stage of every API at ``ws://HOST:PORT/{apiId}/{stage}`` (or
  ``ws://HOST:PORT/{stage}`` while the name is unique), with @connections
  under the same prefixes.

State (APIs, routes, integrations, authorizers, deployments, stages) lives in
SQLite in a state directory and is restored at startup. Embed it::

    from framer.asyncio import serve
    from framer.controlplane import FunctionRegistry, open_gateway

    functions = FunctionRegistry({"chat": my_handler})
    app = open_gateway(".framer", functions)
    async with serve(app, "127.0.0.1", 8080) as server:
        await server.serve_forever()
    app.close()

Modules:

- ``_rest``: ``ControlPlane``, the sans-IO ``apigatewayv2`` REST-JSON endpoint:
  finds a request's operation, answers with its status or API Gateway's error.
- ``_operations``: one function per ``apigatewayv2`` operation, and the table
  (method, path, handler) that maps requests to them.
- ``_request``: what an operation is given and gives back (``Request``,
  ``Reply``, ``Operation``) and the paging of list calls.
- ``_store``: ``StateStore`` (the SQLite file of a state directory) and
  ``PersistentGateway``, which writes each change the gateway reports to it.
- ``_app``: ``LocalGateway``, the app a server serves: control plane plus every
  stage of every API, with stage variables substituted; ``open_gateway``.
- ``_functions``: ``FunctionRegistry``, Lambda function names to Python handlers.
- ``_commands``: what ``framer serve --control-plane`` and ``framer functions``
  do, with plain arguments (``framer.cli`` parses the command line).
- ``_errors``: ``ControlPlaneError``, a problem the caller can fix.
"""

from __future__ import annotations

from ._app import LocalGateway, open_gateway, substitute_stage_variables
from ._commands import list_functions, serve_gateway
from ._errors import ControlPlaneError
from ._functions import FunctionRegistry, FunctionSpecError, function_name, load_callable
from ._rest import ControlPlane
from ._store import (
    PersistentGateway,
    StateDirBusy,
    StateStore,
    default_state_dir,
    functions_in_state,
)

__all__ = [
    "ControlPlane",
    "ControlPlaneError",
    "FunctionRegistry",
    "FunctionSpecError",
    "LocalGateway",
    "PersistentGateway",
    "StateDirBusy",
    "StateStore",
    "default_state_dir",
    "function_name",
    "functions_in_state",
    "list_functions",
    "load_callable",
    "open_gateway",
    "serve_gateway",
    "substitute_stage_variables",
]
