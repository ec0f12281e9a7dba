"""The control plane: ``Gateway``, an in-memory ``apigatewayv2`` for WebSocket APIs.

Operations mirror the apigatewayv2 API (create_api, create_route, ...,
create_deployment, create_stage, update_stage, ...) with Python names, and raise
API Gateway's exceptions (``BadRequestException``, ``NotFoundException``,
``ConflictException``, ``TooManyRequestsException``) with messages that name the
field, the value and the rule.

Deployments are snapshots: ``create_deployment`` freezes the API's routes,
integrations, route responses, integration responses and authorizers; stages
serve the snapshot of the deployment they point at, so later edits reach
clients only after a new deployment is made and a stage points at it. Stage
settings (variables, throttling) are not part of a deployment and apply at once.

No clock is read here: every operation that stamps a date takes ``now=`` (an
aware ``datetime``), falling back to the ``clock`` callable given to the
``Gateway``; with neither, it raises ``RouterUsageError``.

This module holds the ``Gateway`` itself: its constructor, what the data plane
reads, and the resources that decide what is served (APIs, deployments,
stages). The API's editable contents are one mixin each, sharing the
``Gateway``'s state through their base ``Tables`` (``_tables``):
``Integrations`` (``_integrations``), ``Authorizers`` (``_authorizers``) and
``Routes`` (``_routes``). The input checks are in ``_checks``, the change hook
(``mutation``, ``observe``, ``lock``) in ``_changes``, ``Quotas`` in
``_quotas``.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable, Mapping, Optional

from . import _selection
from ._authorizers import Authorizers
from ._changes import GatewayChange, GatewayObserver, Observed, mutation
from ._checks import (
    SettingsInput,
    check_api_key_expression,
    check_stage_name,
    checked_route_settings,
    checked_stage_variables,
)
from ._checks import find as _find
from ._errors import (
    BadRequestException,
    ConflictException,
    NotFoundException,
    TooManyRequestsException,
)
from ._ids import IdSource
from ._integrations import Integrations
from ._model import DEFAULT_STAGE_ROUTE_SETTINGS, Api, Deployment, Snapshot, Stage
from ._quotas import Quotas
from ._routes import Routes
from ._tables import ApiState
from ._throttle import AccountBuckets

__all__ = ["Gateway", "GatewayChange", "GatewayObserver", "Quotas"]


class Gateway(Integrations, Authorizers, Routes, Observed):
    """An in-memory API Gateway (v2, WebSocket) control plane for one account/region."""

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        quotas: Quotas = Quotas(),
        rng: Optional[random.Random] = None,
        clock: Optional[Callable[[], datetime]] = None,
        lock: Optional[contextlib.AbstractContextManager[Any]] = None,
    ) -> None:
        self._lock = lock if lock is not None else contextlib.nullcontext()
        self._depth = 0  # marked calls in progress (see mutation)
        self._observers: list[GatewayObserver] = []
        self.revision = 0
        self.region = region
        self.account_id = account_id
        self.quotas = quotas
        self.ids = IdSource(rng)
        self._clock = clock
        self._apis: dict[str, ApiState] = {}
        self._account_buckets: Optional[tuple[Quotas, AccountBuckets]] = None

    # -- what the data plane reads -------------------------------------------

    def find_stage(self, api_id: str, stage_name: str) -> Optional[Stage]:
        """The stage, or ``None`` when the API or the stage does not exist
        (``get_stage`` without its exception: every message asks)."""
        state = self._apis.get(api_id)
        return state.stages.get(stage_name) if state is not None else None

    def account_buckets(self) -> AccountBuckets:
        """The account's throttles, shared by every Router of this Gateway;
        made anew when ``quotas`` is replaced."""
        made = self._account_buckets
        if made is None or made[0] is not self.quotas:
            q = self.quotas
            made = self._account_buckets = (q, AccountBuckets(
                rate=q.account_rate_limit, burst=q.account_burst_limit,
                connections_per_second=q.new_connections_per_second))
        return made[1]

    # -- APIs ----------------------------------------------------------------

    @mutation
    def create_api(
        self,
        *,
        name: str,
        route_selection_expression: str,
        protocol_type: str = "WEBSOCKET",
        description: Optional[str] = None,
        api_key_selection_expression: str = "$request.header.x-api-key",
        now: Optional[datetime] = None,
    ) -> Api:
        """Create a WebSocket API. ``route_selection_expression`` is required."""
        if protocol_type != "WEBSOCKET":
            raise BadRequestException(
                f"Invalid protocolType {protocol_type!r}: framer runs WEBSOCKET APIs only")
        if not name:
            raise BadRequestException("Invalid name: an API needs a non-empty name")
        _selection.parse(route_selection_expression)
        check_api_key_expression(api_key_selection_expression)
        api_id = self._unique(self._apis, self.ids.api_id)
        api = Api(
            api_id=api_id,
            name=name,
            route_selection_expression=route_selection_expression,
            api_endpoint=f"wss://{api_id}.execute-api.{self.region}.amazonaws.com",
            created_date=self._now(now),
            api_key_selection_expression=api_key_selection_expression,
            description=description,
        )
        self._apis[api_id] = ApiState(api)
        return api

    def get_api(self, api_id: str) -> Api:
        """The API, or ``NotFoundException``."""
        return self._state(api_id).api

    def get_apis(self) -> list[Api]:
        """Every API, oldest first."""
        return [s.api for s in self._apis.values()]

    @mutation
    def update_api(
        self,
        api_id: str,
        *,
        name: Optional[str] = None,
        route_selection_expression: Optional[str] = None,
        description: Optional[str] = None,
    ) -> Api:
        """Change the API's name, description or route selection expression
        (the expression reaches clients with the next deployment)."""
        state = self._state(api_id)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if route_selection_expression is not None:
            _selection.parse(route_selection_expression)
            changes["route_selection_expression"] = route_selection_expression
        if description is not None:
            changes["description"] = description
        state.api = replace(state.api, **changes)
        return state.api

    @mutation
    def delete_api(self, api_id: str) -> None:
        """Delete the API with everything in it."""
        self._state(api_id)
        del self._apis[api_id]

    # -- deployments ---------------------------------------------------------

    @mutation
    def create_deployment(
        self,
        api_id: str,
        stage_name: Optional[str] = None,
        description: Optional[str] = None,
        *,
        now: Optional[datetime] = None,
    ) -> Deployment:
        """Snapshot the API; with ``stage_name``, point that (existing) stage at it."""
        state = self._state(api_id)
        if not state.routes:
            raise BadRequestException(
                "At least one route is required before deploying the Api")
        if description is not None and len(description) > 1024:
            raise BadRequestException(
                f"Invalid description: {len(description)} characters, at most 1024")
        if stage_name is not None:
            self.get_stage(api_id, stage_name)
        when = self._now(now)
        deployment = Deployment(
            deployment_id=self._unique(state.deployments, self.ids.deployment_id),
            created_date=when, description=description)
        state.deployments[deployment.deployment_id] = deployment
        state.snapshots[deployment.deployment_id] = Snapshot(
            api_id=api_id,
            route_selection_expression=state.api.route_selection_expression,
            routes={r.route_key: r for r in state.routes.values()},
            integrations=dict(state.integrations),
            integration_responses={k: dict(v) for k, v in
                                   state.integration_responses.items()},
            route_responses={k: dict(v) for k, v in state.route_responses.items()},
            authorizers=dict(state.authorizers),
        )
        if stage_name is not None:
            self.update_stage(api_id, stage_name,
                              deployment_id=deployment.deployment_id, now=when)
        return deployment

    def get_deployment(self, api_id: str, deployment_id: str) -> Deployment:
        """The deployment, or ``NotFoundException``."""
        return _find(self._state(api_id).deployments, deployment_id, "Deployment")

    def get_deployments(self, api_id: str) -> list[Deployment]:
        """Every deployment of the API, oldest first."""
        return list(self._state(api_id).deployments.values())

    def get_snapshot(self, api_id: str, deployment_id: str) -> Snapshot:
        """What the deployment froze (routes, integrations, authorizers...)."""
        self.get_deployment(api_id, deployment_id)
        return self._state(api_id).snapshots[deployment_id]

    @mutation
    def delete_deployment(self, api_id: str, deployment_id: str) -> None:
        """Delete a deployment no stage points at (else ``BadRequestException``)."""
        state = self._state(api_id)
        self.get_deployment(api_id, deployment_id)
        users = [s.stage_name for s in state.stages.values()
                 if s.deployment_id == deployment_id]
        if users:
            raise BadRequestException(
                "Active stages pointing to this deployment must be moved or deleted "
                f"(deployment {deployment_id} is used by stage(s) {', '.join(users)})")
        del state.deployments[deployment_id]
        del state.snapshots[deployment_id]

    # -- stages --------------------------------------------------------------

    @mutation
    def create_stage(
        self,
        api_id: str,
        stage_name: str,
        deployment_id: Optional[str] = None,
        *,
        description: Optional[str] = None,
        default_route_settings: Optional[SettingsInput] = None,
        route_settings: Optional[Mapping[str, SettingsInput]] = None,
        stage_variables: Optional[Mapping[str, str]] = None,
        tags: Optional[Mapping[str, str]] = None,
        now: Optional[datetime] = None,
    ) -> Stage:
        """Create a stage (at most ``quotas.max_stages_per_api``, 10 by default).

        ``default_route_settings`` starts from the seed's defaults (throttling
        5000 burst / 10000.0 rate, metrics and data trace off); the fields you
        give replace those.
        """
        state = self._state(api_id)
        check_stage_name(stage_name)
        if stage_name in state.stages:
            raise ConflictException(f"Stage {stage_name} already exists for this API")
        if len(state.stages) >= self.quotas.max_stages_per_api:
            raise TooManyRequestsException(
                f"Maximum number of stages ({self.quotas.max_stages_per_api}) reached "
                f"for API {api_id}: delete or reuse a stage (update_stage) before "
                f"creating {stage_name!r}", limit_type="StagesPerApi")
        if deployment_id is not None:
            self.get_deployment(api_id, deployment_id)
        defaults = DEFAULT_STAGE_ROUTE_SETTINGS
        if default_route_settings is not None:
            defaults = defaults.merged(checked_route_settings(
                default_route_settings, "defaultRouteSettings", self.quotas))
        when = self._now(now)
        stage = Stage(
            stage_name=stage_name,
            created_date=when,
            last_updated_date=when,
            deployment_id=deployment_id,
            default_route_settings=defaults,
            route_settings={k: checked_route_settings(v, f"routeSettings[{k!r}]", self.quotas)
                            for k, v in (route_settings or {}).items()},
            stage_variables=checked_stage_variables(stage_variables or {}, self.quotas),
            description=description,
            tags=dict(tags or {}),
        )
        state.stages[stage_name] = stage
        return stage

    def get_stage(self, api_id: str, stage_name: str) -> Stage:
        """The stage, or ``NotFoundException``."""
        return _find(self._state(api_id).stages, stage_name, "Stage", label="stage")

    def get_stages(self, api_id: str) -> list[Stage]:
        """Every stage of the API, oldest first."""
        return list(self._state(api_id).stages.values())

    @mutation
    def update_stage(
        self,
        api_id: str,
        stage_name: str,
        *,
        deployment_id: Optional[str] = None,
        description: Optional[str] = None,
        default_route_settings: Optional[SettingsInput] = None,
        route_settings: Optional[Mapping[str, SettingsInput]] = None,
        stage_variables: Optional[Mapping[str, str]] = None,
        now: Optional[datetime] = None,
    ) -> Stage:
        """Change a stage; takes effect for the next connection/message.

        - ``deployment_id``: point the stage at another deployment (promotion is
          ``update_stage(api, "prod", deployment_id=<test's deployment id>)``);
        - ``default_route_settings``: the fields given replace the current ones;
        - ``route_settings``: merged per route key, field by field (remove a
          route's settings with ``delete_route_settings``);
        - ``stage_variables``: replaces the whole map.
        """
        state = self._state(api_id)
        stage = self.get_stage(api_id, stage_name)
        changes: dict[str, Any] = {}
        if deployment_id is not None:
            self.get_deployment(api_id, deployment_id)
            changes["deployment_id"] = deployment_id
        if description is not None:
            changes["description"] = description
        if default_route_settings is not None:
            changes["default_route_settings"] = stage.default_route_settings.merged(
                checked_route_settings(default_route_settings, "defaultRouteSettings",
                                       self.quotas))
        if route_settings is not None:
            merged = dict(stage.route_settings)
            for key, value in route_settings.items():
                new = checked_route_settings(value, f"routeSettings[{key!r}]", self.quotas)
                merged[key] = merged[key].merged(new) if key in merged else new
            changes["route_settings"] = merged
        if stage_variables is not None:
            changes["stage_variables"] = checked_stage_variables(stage_variables, self.quotas)
        changes["last_updated_date"] = self._now(now)
        updated = replace(stage, **changes)
        state.stages[stage_name] = updated
        return updated

    @mutation
    def delete_route_settings(self, api_id: str, stage_name: str, route_key: str) -> None:
        """Remove a route's settings from a stage (it falls back to the defaults)."""
        state = self._state(api_id)
        stage = self.get_stage(api_id, stage_name)
        if route_key not in stage.route_settings:
            raise NotFoundException(
                f"No route settings for route key {route_key} in stage {stage_name}",
                resource_type="RouteSettings")
        remaining = {k: v for k, v in stage.route_settings.items() if k != route_key}
        state.stages[stage_name] = replace(stage, route_settings=remaining)

    @mutation
    def delete_stage(self, api_id: str, stage_name: str) -> None:
        """Delete a stage; new connections to it are refused."""
        state = self._state(api_id)
        self.get_stage(api_id, stage_name)
        del state.stages[stage_name]
