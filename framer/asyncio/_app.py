"""The app a server serves: what the server calls, as typed protocols.

A :class:`framer.router.Router` serves one API; the control plane's
``LocalGateway`` serves every API of a gateway behind one object and answers
``apigatewayv2`` calls over plain HTTP too (:class:`HttpApp`).  The server
needs nothing else from either.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol, Sequence, runtime_checkable

from framer.router import ConnectionInfo, Router

__all__ = ["App", "HttpApp", "HttpAnswer", "as_app"]

#: A plain-HTTP answer: ``(status, headers, body)``.
HttpAnswer = tuple[int, list[tuple[str, str]], bytes]


@runtime_checkable
class App(Protocol):
    """The data plane of one or more WebSocket APIs, as the server drives it."""

    def resolve_stage(self, path: str) -> Optional[str]:
        """The stage a request target names (``"dev"``, ``"apiId/dev"``), or None."""

    def connect(self, *, path: str, headers: Sequence[tuple[str, str]],
                source_ip: str, now_ms: int) -> Any:
        """Start a handshake: the router's first step (``Invoke``, ``Accept`` or ``Refuse``)."""

    def get_connection(self, connection_id: str) -> ConnectionInfo:
        """GetConnection's data for an open connection, else the router's ``GoneException``."""

    def mark_active(self, connection_id: str, now_ms: int) -> None:
        """Record a PostToConnection for ``lastActiveAt`` (``GoneException`` if closed)."""


@runtime_checkable
class HttpApp(App, Protocol):
    """An app that also answers plain HTTP requests of its own (a control plane)."""

    def serves_http(self, target: str) -> bool:
        """Whether a request target is one of the app's own (checked for SigV4 as such)."""

    def handle_http(self, method: str, target: str, headers: Sequence[tuple[str, str]],
                    body: bytes) -> Optional[HttpAnswer]:
        """The answer to a request the app serves, or None to let the server answer it."""


def as_app(app: object) -> App:
    """*app* itself, or the Router it holds (``.router``) or builds (``.build_router()``)."""
    if isinstance(app, Router):
        return app
    router = getattr(app, "router", None)
    if isinstance(router, Router):
        return router
    build = getattr(app, "build_router", None)
    if callable(build):
        built = build()
        if isinstance(built, Router):
            return built
    if isinstance(app, App):  # several APIs behind one object (framer.controlplane.LocalGateway)
        return app
    raise TypeError(
        "expected a framer.router.Router, an object with .router / .build_router(), "
        f"or an app with resolve_stage/connect/get_connection/mark_active; got {type(app).__name__}"
    )
