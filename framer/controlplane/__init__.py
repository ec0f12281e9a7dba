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
"""

from __future__ import annotations

import os
from typing import Any, Optional, Union

from ._app import LocalGateway, substitute_stage_variables
from ._functions import FunctionRegistry, FunctionSpecError, function_name, load_callable
from ._rest import ControlPlane
from ._store import PersistentGateway, StateDirBusy, StateStore, default_state_dir

__all__ = [
    "ControlPlane",
    "FunctionRegistry",
    "FunctionSpecError",
    "LocalGateway",
    "PersistentGateway",
    "StateDirBusy",
    "StateStore",
    "default_state_dir",
    "function_name",
    "load_callable",
    "open_gateway",
    "substitute_stage_variables",
]


class _PersistentApp(LocalGateway):
    """A ``LocalGateway`` that owns its state store (``close()`` releases it)."""

    gateway: PersistentGateway

    def close(self) -> None:
        """Close the SQLite database and release the state directory."""
        self.gateway.store.close()


def open_gateway(
    state_dir: Union[str, "os.PathLike[str]", None] = None,
    functions: Optional[FunctionRegistry] = None,
    **gateway_options: Any,
) -> _PersistentApp:
    """Open (or create) the state in ``state_dir`` (default: :func:`default_state_dir`)
    and return the app to serve; call ``close()`` when done."""
    registry = functions if functions is not None else FunctionRegistry()
    store = StateStore(state_dir if state_dir is not None else default_state_dir())
    try:
        gateway = PersistentGateway(store, registry, **gateway_options)
    except BaseException:
        store.close()
        raise
    return _PersistentApp(gateway, registry)
