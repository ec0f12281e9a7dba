"""Shared helpers: a gateway with a fixed clock and seeded ids, and a tiny
synchronous driver (the real one is asyncio; the router does not care)."""

from __future__ import annotations

import inspect
import random
from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from framer.router import (
    Gateway,
    Invocation,
    InvocationKind,
    Invoke,
    Raised,
    Returned,
    Router,
    TimedOut,
)

T0 = datetime(2018, 11, 15, 6, 49, 9, tzinfo=timezone.utc)
NOW_MS = 1731324924553


def run_sync(inv: Invocation) -> Any:
    """Run a LAMBDA invocation synchronously; outcomes as a driver reports them."""
    assert inv.kind is InvocationKind.LAMBDA
    assert inv.handler is not None
    try:
        value = inv.handler(inv.event, inv.context)
        if inspect.isawaitable(value):
            # drive a coroutine that does not really wait
            try:
                value.send(None)  # type: ignore[attr-defined]
            except StopIteration as stop:
                value = stop.value
        return Returned(value=value, elapsed_ms=3)
    except TimeoutError:
        return TimedOut()
    except Exception as exc:  # noqa: BLE001 - the driver's job
        return Raised(error=exc)


def drive(step: Any, run: Callable[[Invocation], Any] = run_sync,
          seen: list[Invocation] | None = None) -> Any:
    """Run every Invoke of a flow; return the final step."""
    while isinstance(step, Invoke):
        if seen is not None:
            seen.append(step.invocation)
        step = step.resume(run(step.invocation))
    return step


@pytest.fixture
def gw() -> Gateway:
    return Gateway(rng=random.Random(1234), clock=lambda: T0)


class World:
    """An API with a few routes, deployed to stage ``prod``."""

    def __init__(self, gw: Gateway, rse: str = "$request.body.action") -> None:
        self.gw = gw
        self.calls: list[dict[str, Any]] = []
        self.api = gw.create_api(name="chat", route_selection_expression=rse)
        self.api_id = self.api.api_id

    def handler(self, result: Any = None, *, raises: BaseException | None = None,
                name: str = "fn") -> Callable[[dict[str, Any], Any], Any]:
        def fn(event: dict[str, Any], context: Any) -> Any:
            self.calls.append(event)
            if raises is not None:
                raise raises
            return result(event) if callable(result) else result
        fn.__name__ = name
        return fn

    def route(self, key: str, result: Any = None, *, raises: BaseException | None = None,
              two_way: bool = False, **kw: Any) -> Any:
        integ = self.gw.create_integration(
            self.api_id, integration_type="AWS_PROXY",
            handler=self.handler(result, raises=raises, name=key.strip("$") or "fn"),
            **kw)
        return self.gw.create_route(
            self.api_id, route_key=key, target=f"integrations/{integ.integration_id}",
            route_response_selection_expression="$default" if two_way else None)

    def deploy(self, stage: str = "prod", **kw: Any) -> Router:
        dep = self.gw.create_deployment(self.api_id)
        try:
            self.gw.update_stage(self.api_id, stage, deployment_id=dep.deployment_id)
        except Exception:
            self.gw.create_stage(self.api_id, stage, dep.deployment_id, **kw)
        return Router(self.gw, self.api_id)

    def connect(self, router: Router, path: str = "/prod", headers: Any = (),
                now_ms: int = NOW_MS, **kw: Any) -> Any:
        return drive(router.connect(path=path, headers=list(headers),
                                    source_ip="203.0.113.9", now_ms=now_ms), **kw)


@pytest.fixture
def world(gw: Gateway) -> World:
    return World(gw)
