"""Fixtures for the gateway server tests.

The server runs on its own event loop in a background thread, bound to
127.0.0.1 on an ephemeral port, so the tests can use real, blocking clients
(websockets' sync client, websocket-client, boto3) exactly as users would.
Every wait is bounded so a broken server fails a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Iterator, Optional

import pytest

from framer.asyncio import Server, serve
from framer.demo import Demo, build_demo

TIMEOUT = 5.0


class RunningServer:
    """A :class:`framer.asyncio.Server` running in a thread; use as a context manager."""

    def __init__(self, app: Any, **options: Any) -> None:
        self.app = app
        self.options = options
        self.server: Optional[Server] = None
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._ready = threading.Event()
        self._stop: Optional[asyncio.Event] = None
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by __enter__/__exit__
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self.app, "127.0.0.1", 0, **self.options) as server:
            self.server = server
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> "RunningServer":
        self._thread.start()
        assert self._ready.wait(TIMEOUT), "server did not start"
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        """Shut down gracefully (1001 to every client) and wait for the thread."""
        if self.loop is not None and self._stop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(TIMEOUT + 10)
        assert not self._thread.is_alive(), "server did not stop"

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def url(self, stage: str = "dev") -> str:
        return f"ws://127.0.0.1:{self.port}/{stage}"

    def endpoint(self, stage: str = "dev") -> str:
        return f"http://127.0.0.1:{self.port}/{stage}"

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run *fn* on the server's loop and return its result."""
        assert self.loop is not None

        async def hop() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(hop(), self.loop).result(TIMEOUT)

    def live_ids(self) -> list[str]:
        assert self.server is not None
        return self.call(lambda: list(self.server.connections.live))  # type: ignore[union-attr]


@pytest.fixture
def demo() -> Demo:
    return build_demo()


@pytest.fixture
def demo_server(demo: Demo) -> Iterator[RunningServer]:
    with RunningServer(demo) as running:
        yield running


def wait_for(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Poll *predicate* until it holds; fail after *timeout* seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %.1fs" % timeout)
        time.sleep(0.01)


def make_router(
    routes: dict[str, Any],
    *,
    two_way: tuple[str, ...] = (),
    stage: str = "dev",
    timeout_in_millis: int = 29_000,
) -> Any:
    """A deployed API with one AWS_PROXY integration per route key."""
    from datetime import datetime, timezone

    from framer.router import Gateway, Router

    gw = Gateway(clock=lambda: datetime.now(timezone.utc))
    api = gw.create_api(name="test", route_selection_expression="$request.body.action")
    for key, handler in routes.items():
        integration = gw.create_integration(
            api.api_id, integration_type="AWS_PROXY", handler=handler, timeout_in_millis=timeout_in_millis
        )
        route = gw.create_route(
            api.api_id,
            route_key=key,
            target=f"integrations/{integration.integration_id}",
            route_response_selection_expression="$default" if key in two_way else None,
        )
        if key in two_way:
            gw.create_route_response(api.api_id, route.route_id, route_response_key="$default")
    gw.create_stage(api.api_id, stage)
    gw.create_deployment(api.api_id, stage_name=stage)
    return Router(gw, api.api_id, domain_name="localhost")
