"""What the ``Gateway`` keeps, and the lookups its resource families share.

``ApiState`` is everything one API holds; ``Tables`` is the base of the
``Gateway`` and of its resource-family mixins (``_integrations``,
``_authorizers``, ``_routes``): it declares the state ``Gateway.__init__``
makes and finds an API, a fresh identifier, the time and a handler's
integration URI for them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Optional

from ._errors import NotFoundException, RouterUsageError
from ._ids import IdSource
from ._lambda import function_names, handler_name
from ._model import (
    Api,
    Authorizer,
    Deployment,
    Handler,
    Integration,
    IntegrationResponse,
    Route,
    RouteResponse,
    Snapshot,
    Stage,
)
from ._quotas import Quotas


class ApiState:
    """Everything one API holds, mutable; only the Gateway (and the store that
    saves and loads it) touches it."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.routes: dict[str, Route] = {}
        self.integrations: dict[str, Integration] = {}
        self.integration_responses: dict[str, dict[str, IntegrationResponse]] = {}
        self.route_responses: dict[str, dict[str, RouteResponse]] = {}
        self.authorizers: dict[str, Authorizer] = {}
        self.deployments: dict[str, Deployment] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.stages: dict[str, Stage] = {}


class Tables:
    """The Gateway's APIs and what finding things in them needs."""

    region: str
    account_id: str
    quotas: Quotas
    ids: IdSource
    _clock: Optional[Callable[[], datetime]]
    _apis: dict[str, ApiState]

    def _now(self, now: Optional[datetime]) -> datetime:
        if now is not None:
            return now
        if self._clock is None:
            raise RouterUsageError(
                "no time given: pass now=<aware datetime> or build the Gateway "
                "with clock=<callable returning one>")
        return self._clock()

    def _state(self, api_id: str) -> ApiState:
        try:
            return self._apis[api_id]
        except KeyError:
            raise NotFoundException(
                f"Invalid API identifier specified {self.account_id}:{api_id}",
                resource_type="Api") from None

    def _unique(self, taken: Iterable[str], make: Callable[[], str]) -> str:
        existing = set(taken)
        while True:
            value = make()
            if value not in existing:
                return value

    def _lambda_uri(self, handler: Handler) -> str:
        """The integration URI of the Lambda function ``handler`` plays."""
        function = function_names(handler_name(handler), self.region, self.account_id).arn
        return (f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/"
                f"functions/{function}/invocations")
