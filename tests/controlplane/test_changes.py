"""Every mutating ``Gateway`` call tells its observers, and so reaches the state store.

The table ``CALLS`` holds one call of every public ``Gateway`` method that is
not a read (``get_*``) or the hook itself: a new mutating method fails
``test_every_mutating_method_is_in_the_table`` until it is added, and then
``test_each_mutation_notifies_and_persists`` checks that it notifies.
"""

from __future__ import annotations

import inspect
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from framer.controlplane import FunctionRegistry, PersistentGateway, StateStore
from framer.router import BadRequestException, Gateway, NotFoundException
from framer.router._gateway import GatewayChange

from . import handlers
from .conftest import lambda_uri

NOT_MUTATIONS = {"observe", "lock", "find_stage", "account_buckets"}  # reads, though not get_*

Ids = dict[str, str]
Call = Callable[[Gateway, Ids], Any]


def _create_api(gw: Gateway, ids: Ids) -> None:
    ids["api"] = gw.create_api(name="t", route_selection_expression="$request.body.action").api_id


def _create_integration(gw: Gateway, ids: Ids) -> None:
    ids["integration"] = gw.create_integration(
        ids["api"], integration_type="AWS_PROXY", integration_uri=lambda_uri("echo"),
        handler=handlers.echo).integration_id


def _create_authorizer(gw: Gateway, ids: Ids) -> None:
    ids["authorizer"] = gw.create_authorizer(
        ids["api"], name="auth", identity_source=["route.request.header.Auth"],
        handler=handlers.authorize, authorizer_uri=lambda_uri("authorize")).authorizer_id


def _create_route(gw: Gateway, ids: Ids) -> None:
    ids["route"] = gw.create_route(ids["api"], route_key="$default",
                                   target=f"integrations/{ids['integration']}").route_id


def _create_route_response(gw: Gateway, ids: Ids) -> None:
    ids["route_response"] = gw.create_route_response(
        ids["api"], ids["route"], route_response_key="$default").route_response_id


def _create_deployment(gw: Gateway, ids: Ids) -> None:
    ids["deployment"] = gw.create_deployment(ids["api"]).deployment_id


# In an order that works: each call finds what the earlier ones made.
CALLS: dict[str, Call] = {
    "create_api": _create_api,
    "update_api": lambda gw, ids: gw.update_api(ids["api"], description="changed"),
    "create_integration": _create_integration,
    "update_integration": lambda gw, ids: gw.update_integration(
        ids["api"], ids["integration"], timeout_in_millis=1000),
    "create_integration_response": lambda gw, ids: gw.create_integration_response(
        ids["api"], ids["integration"], integration_response_key="$default"),
    "create_authorizer": _create_authorizer,
    "create_route": _create_route,
    "update_route": lambda gw, ids: gw.update_route(ids["api"], ids["route"],
                                                    operation_name="op"),
    "create_route_response": _create_route_response,
    "delete_route_response": lambda gw, ids: gw.delete_route_response(
        ids["api"], ids["route"], ids["route_response"]),
    "create_deployment": _create_deployment,
    "create_stage": lambda gw, ids: gw.create_stage(
        ids["api"], "dev", ids["deployment"],
        route_settings={"$default": {"ThrottlingBurstLimit": 5}}),
    "update_stage": lambda gw, ids: gw.update_stage(ids["api"], "dev",
                                                    stage_variables={"v": "1"}),
    "delete_route_settings": lambda gw, ids: gw.delete_route_settings(
        ids["api"], "dev", "$default"),
    "delete_stage": lambda gw, ids: gw.delete_stage(ids["api"], "dev"),
    "delete_deployment": lambda gw, ids: gw.delete_deployment(ids["api"], ids["deployment"]),
    "delete_route": lambda gw, ids: gw.delete_route(ids["api"], ids["route"]),
    "delete_authorizer": lambda gw, ids: gw.delete_authorizer(ids["api"], ids["authorizer"]),
    "delete_integration": lambda gw, ids: gw.delete_integration(ids["api"],
                                                                ids["integration"]),
    "delete_api": lambda gw, ids: gw.delete_api(ids["api"]),
}


def _now() -> datetime:
    return datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _picture(gw: Gateway) -> str:
    """Everything the gateway's public reads show, as text."""
    parts: list[Any] = []
    for api in gw.get_apis():
        a = api.api_id
        parts += [api, gw.get_routes(a), gw.get_integrations(a), gw.get_authorizers(a),
                  gw.get_deployments(a), gw.get_stages(a)]
        parts += [gw.get_route_responses(a, r.route_id) for r in gw.get_routes(a)]
        parts += [gw.get_integration_responses(a, i.integration_id)
                  for i in gw.get_integrations(a)]
        parts += [gw.get_snapshot(a, d.deployment_id) for d in gw.get_deployments(a)]
    # Handlers are resolved again on load: the same function, another object.
    return re.sub(r" at 0x[0-9a-f]+", "", repr(parts))


def test_every_mutating_method_is_in_the_table() -> None:
    public = {name for name, _ in inspect.getmembers(Gateway)
              if not name.startswith("_") and not name.startswith("get_")}
    assert public - NOT_MUTATIONS == set(CALLS)


def test_each_mutation_notifies_and_persists(tmp_path: Path) -> None:
    functions = FunctionRegistry({"echo": handlers.echo, "authorize": handlers.authorize})

    def reopen() -> PersistentGateway:
        return PersistentGateway(StateStore(tmp_path), functions, clock=_now)

    gw = reopen()
    seen: list[GatewayChange] = []
    gw.observe(seen.append)
    ids: Ids = {}
    for name, call in CALLS.items():
        before = _picture(gw)
        seen.clear()
        call(gw, ids)
        after = _picture(gw)
        assert after != before, f"{name} changed nothing: the table's call is wrong"
        # One change per call, even when the method calls another mutation
        # (create_deployment with a stage calls update_stage).
        assert seen == [GatewayChange(operation=name, api_id=ids["api"])], name
        gw.store.close()
        gw = reopen()
        assert _picture(gw) == after, f"{name} was not written to the state store"
        gw.observe(seen.append)
    gw.store.close()


def test_nested_mutation_notifies_once_for_the_outer_call() -> None:
    gw = Gateway(clock=_now)
    ids: Ids = {}
    for name in ("create_api", "create_integration", "create_route"):
        CALLS[name](gw, ids)
    gw.create_stage(ids["api"], "dev")
    seen: list[GatewayChange] = []
    gw.observe(seen.append)
    gw.create_deployment(ids["api"], stage_name="dev")
    assert seen == [GatewayChange(operation="create_deployment", api_id=ids["api"])]
    assert gw.get_stage(ids["api"], "dev").deployment_id == gw.get_deployments(ids["api"])[0].deployment_id


def test_a_failed_mutation_still_notifies_and_a_failed_create_api_does_not() -> None:
    gw = Gateway(clock=_now)
    ids: Ids = {}
    _create_api(gw, ids)
    seen: list[GatewayChange] = []
    gw.observe(seen.append)
    with pytest.raises(NotFoundException):
        gw.delete_stage(ids["api"], "nope")
    assert seen == [GatewayChange(operation="delete_stage", api_id=ids["api"])]
    seen.clear()
    with pytest.raises(BadRequestException):
        gw.create_api(name="", route_selection_expression="$request.body.action")
    assert seen == []
