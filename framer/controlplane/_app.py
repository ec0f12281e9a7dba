"""``LocalGateway``: every API of a (persistent) Gateway on one port, plus the control plane.

What ``framer serve --control-plane`` hands to the asyncio server.
It speaks the router interface the server drives (``resolve_stage``,
``connect``, ``get_connection``, ``connection``, ``mark_active``,
``connections``) for several APIs at once, and answers ``/v2/...`` requests
with the ``apigatewayv2`` control plane (``handle_http``).

URLs, for an API ``abcde12345`` with stages ``test`` and ``prod``:

- ``ws://HOST:PORT/abcde12345/test``: always that API's stage;
- ``ws://HOST:PORT/test``: the short form, while exactly one API has a stage
  named ``test``; when several do, the handshake is refused with 400 and a
  message naming the candidates' long URLs;
- ``/abcde12345/test/@connections/{id}`` (and the short form) for @connections;
- ``ws://HOST:PORT/abcde12345`` reaches the API's ``$default`` stage when no
  API has a stage named ``abcde12345``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any, Mapping, Optional, Sequence, Union
from urllib.parse import unquote

from framer.router import (
    Connection,
    ConnectionInfo,
    Gateway,
    GoneException,
    Integration,
    IntegrationType,
    NotFoundException,
    Refuse,
    Router,
    Snapshot,
    Stage,
)

from ._functions import FunctionRegistry
from ._rest import ControlPlane, Response
from ._store import PersistentGateway, StateStore, default_state_dir

__all__ = ["LocalGateway", "open_gateway", "substitute_stage_variables"]

_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


def substitute_stage_variables(text: str, variables: Mapping[str, str]) -> str:
    """Replace each ``${stageVariables.NAME}`` (an undefined one becomes empty)."""
    if "${stageVariables." not in text:
        return text
    return _STAGE_VARIABLE.sub(lambda m: variables.get(m.group(1), ""), text)


class _StageVariablesView:
    """The Gateway as a ``Router`` sees it, with HTTP_PROXY URIs per stage.

    A deployment is shared by stages whose variables differ, so the
    substitution of ``${stageVariables.NAME}`` in an HTTP_PROXY
    ``integrationUri`` is per (deployment, stage). When a stage's deployment
    has such a URI, ``get_stage`` answers a copy of the stage pointing at
    ``"{deploymentId}@{stage}"``, and ``get_snapshot`` of that id is the
    deployment's snapshot with the URIs substituted. Both are cached by the
    identity of the (immutable) stage and snapshot records, so a stage update
    (new variables or deployment) is seen at the next message. Everything
    else is the real Gateway's (attributes read and written through).
    """

    __slots__ = ("_gateway", "_stages", "_snapshots")
    _gateway: Gateway
    _stages: dict[tuple[str, str], tuple[Stage, Stage]]
    _snapshots: dict[tuple[str, str], tuple[Stage, Snapshot, Snapshot]]

    def __init__(self, gateway: Gateway) -> None:
        object.__setattr__(self, "_gateway", gateway)
        object.__setattr__(self, "_stages", {})
        object.__setattr__(self, "_snapshots", {})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._gateway, name, value)

    def get_stage(self, api_id: str, stage_name: str) -> Stage:
        real = self._gateway.get_stage(api_id, stage_name)
        key = (api_id, stage_name)
        cached = self._stages.get(key)
        if cached is not None and cached[0] is real:
            return cached[1]
        seen = real
        if real.deployment_id is not None:
            snapshot = self._gateway.get_snapshot(api_id, real.deployment_id)
            if any(_templated(i) for i in snapshot.integrations.values()):
                seen = dataclasses.replace(
                    real, deployment_id=f"{real.deployment_id}@{stage_name}")
        self._stages[key] = (real, seen)
        return seen

    def get_snapshot(self, api_id: str, deployment_id: str) -> Snapshot:
        base, sep, stage_name = deployment_id.partition("@")
        snapshot = self._gateway.get_snapshot(api_id, base)
        if not sep:
            return snapshot
        stage = self._gateway.get_stage(api_id, stage_name)
        key = (api_id, deployment_id)
        cached = self._snapshots.get(key)
        if cached is not None and cached[0] is stage and cached[1] is snapshot:
            return cached[2]
        variables = stage.stage_variables
        integrations = {
            iid: dataclasses.replace(i, integration_uri=substitute_stage_variables(
                i.integration_uri or "", variables)) if _templated(i) else i
            for iid, i in snapshot.integrations.items()}
        seen = dataclasses.replace(snapshot, integrations=integrations)
        self._snapshots[key] = (stage, snapshot, seen)
        return seen


def _templated(integration: Integration) -> bool:
    return (integration.integration_type is IntegrationType.HTTP_PROXY
            and "${stageVariables." in (integration.integration_uri or ""))


def _refuse(status: int, message: str, reason: str) -> Refuse:
    body = json.dumps({"message": message}).encode("utf-8")
    return Refuse(status=status, reason=reason, body=body)


class LocalGateway:
    """Serve every API of ``gateway`` and its control plane from one server.

    ``gateway`` is usually a :class:`~framer.controlplane.PersistentGateway`;
    a plain in-memory :class:`~framer.router.Gateway` works too (nothing is
    saved). ``functions`` maps Lambda function names to Python handlers.
    """

    def __init__(self, gateway: Gateway, functions: Optional[FunctionRegistry] = None,
                 *, endpoint_host: str = "127.0.0.1:8080") -> None:
        self.gateway = gateway
        self.functions = functions if functions is not None else FunctionRegistry()
        self.control = ControlPlane(gateway, self.functions, endpoint_host=endpoint_host)
        self._routers: dict[str, Router] = {}

    # -- the control plane ---------------------------------------------------------

    def serves_http(self, target: str) -> bool:
        """Whether a request target is a control-plane call (``/v2/...``)."""
        return ControlPlane.handles(target.partition("?")[0])

    def handle_http(self, method: str, target: str, headers: Sequence[tuple[str, str]],
                    body: bytes) -> Optional[Response]:
        """Answer a plain HTTP request if it is a control-plane call, else ``None``."""
        if not self.serves_http(target):
            return None
        return self.control.handle(method, target, headers, body)

    def bind(self, host: str, port: int) -> None:
        """Tell the app where it listens (``apiEndpoint`` when a request has no Host)."""
        self.control.endpoint_host = f"{host}:{port}"

    # -- locating a stage --------------------------------------------------------------

    def router(self, api_id: str) -> Router:
        """The data-plane router of one API (made on first use)."""
        router = self._routers.get(api_id)
        if router is None:
            router = Router(_StageVariablesView(self.gateway), api_id)  # type: ignore[arg-type]
            self._routers[api_id] = router
        return router

    def _has_stage(self, api_id: str, stage: str) -> bool:
        try:
            self.gateway.get_stage(api_id, stage)
        except NotFoundException:
            return False
        return True

    def _is_api(self, api_id: str) -> bool:
        try:
            self.gateway.get_api(api_id)
        except NotFoundException:
            return False
        return True

    def locate(self, path: str) -> Union[tuple[str, str], Refuse, None]:
        """``(api_id, stage)`` a request target names, a ``Refuse`` when the short
        form is ambiguous, or ``None`` when it names no stage."""
        raw, _, _query = path.partition("?")
        parts = [unquote(p) for p in raw.strip("/").split("/")] if raw.strip("/") else []
        if len(parts) == 2:
            api_id, stage = parts
            if self._is_api(api_id) and self._has_stage(api_id, stage):
                return api_id, stage
            return None
        if len(parts) > 2:
            return None
        stage = parts[0] if parts else "$default"
        owners = [api.api_id for api in self.gateway.get_apis()
                  if self._has_stage(api.api_id, stage)]
        if len(owners) == 1:
            return owners[0], stage
        if len(owners) > 1:
            urls = ", ".join(f"/{api_id}/{stage}" for api_id in owners)
            return _refuse(
                400,
                f"Stage name {stage} is ambiguous: {len(owners)} APIs have it. Connect "
                f"to one of {urls}",
                f"stage {stage} is ambiguous (APIs {', '.join(owners)})")
        if parts and self._is_api(parts[0]) and self._has_stage(parts[0], "$default"):
            return parts[0], "$default"
        return None

    # -- what the server calls (framer.router's data-plane interface) ------------------

    def resolve_stage(self, path: str) -> Optional[str]:
        """``apiId/stage`` for a request target, or ``None``."""
        found = self.locate(path)
        if not isinstance(found, tuple):
            return None
        return f"{found[0]}/{found[1]}"

    def connect(self, *, path: str, headers: Any, source_ip: str, now_ms: int) -> Any:
        """Start a handshake on the API and stage ``path`` names."""
        found = self.locate(path)
        if isinstance(found, Refuse):
            return found
        if found is None:
            return _refuse(403, "Forbidden", f"no stage for path {path!r}")
        api_id, stage = found
        query = path.partition("?")[2]
        inner = f"/{stage}" + (f"?{query}" if query else "")
        return self.router(api_id).connect(path=inner, headers=headers,
                                           source_ip=source_ip, now_ms=now_ms)

    def connection(self, connection_id: str) -> Connection:
        """The OPEN connection with this id, on whichever API, else ``GoneException``."""
        for router in list(self._routers.values()):
            try:
                return router.connection(connection_id)
            except GoneException:
                continue
        raise GoneException(f"Connection {connection_id} is gone")

    def get_connection(self, connection_id: str) -> ConnectionInfo:
        """GetConnection's data, else ``GoneException``."""
        return self.connection(connection_id).info()

    def mark_active(self, connection_id: str, now_ms: int) -> None:
        """Record a PostToConnection for ``lastActiveAt``."""
        conn = self.connection(connection_id)
        conn.last_active_at_ms = max(conn.last_active_at_ms, now_ms)

    def connections(self) -> list[ConnectionInfo]:
        """Every OPEN connection of every API."""
        return [info for router in list(self._routers.values())
                for info in router.connections()]

    def stage_urls(self, base: str) -> list[str]:
        """Every stage's long URL under ``base`` (``ws://HOST:PORT``), for banners."""
        urls = []
        for api in self.gateway.get_apis():
            for stage in self.gateway.get_stages(api.api_id):
                urls.append(f"{base}/{api.api_id}/{stage.stage_name}  ({api.name})")
        return urls


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
