"""The server's seams: the app protocols, the @connections registry, the errors, the imports."""

from __future__ import annotations

import ast
import textwrap
import threading
from pathlib import Path

import pytest
from websockets.sync.client import connect

import framer.asyncio
import framer.router
from framer.asyncio import ManagementApi, ManagementError, Server
from framer.asyncio._app import App, HttpApp
from framer.controlplane import LocalGateway
from framer.demo import Demo

from .conftest import TIMEOUT, RunningServer, make_router, wait_for

ASYNCIO = Path(framer.asyncio.__file__).parent


def _gateway_app() -> LocalGateway:
    return LocalGateway(framer.router.Gateway())


def test_a_router_is_an_app_and_a_local_gateway_an_http_app() -> None:
    router = make_router({"$default": lambda event, context: None})
    assert isinstance(router, App)
    assert not isinstance(router, HttpApp)  # no plain HTTP of its own
    local = _gateway_app()
    assert isinstance(local, App)
    assert isinstance(local, HttpApp)


def test_an_object_without_the_app_methods_is_refused_naming_them() -> None:
    class Half:
        def resolve_stage(self, path: str) -> None:
            return None

    with pytest.raises(TypeError, match="resolve_stage/connect/get_connection/mark_active; got Half"):
        Server(Half())


def test_router_and_local_gateway_satisfy_the_protocols_under_mypy(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    checked = tmp_path / "apps.py"
    checked.write_text(textwrap.dedent("""
        from framer.asyncio._app import App, HttpApp
        from framer.controlplane import LocalGateway
        from framer.router import Gateway, Router

        def serve_router(router: Router) -> App:
            return router

        def serve_gateway(local: LocalGateway) -> HttpApp:
            return local

        def not_http(router: Router) -> HttpApp:
            return router  # the one error expected: a Router serves no plain HTTP
    """))
    out, err, status = api.run([
        "--strict", "--follow-imports=silent", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"),
        str(checked),
    ])
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1, out + err
    assert "apps.py:13:" in errors[0] and "protocol members" in out, out
    assert "handle_http" in out and "serves_http" in out, out


def test_the_management_errors_are_the_routers() -> None:
    assert framer.asyncio.GoneException is framer.router.GoneException
    assert framer.asyncio.BadRequestException is framer.router.BadRequestException
    expected = {
        framer.asyncio.GoneException: (410, "GoneException"),
        framer.asyncio.BadRequestException: (400, "BadRequestException"),
        framer.asyncio.ForbiddenException: (403, "ForbiddenException"),
        framer.asyncio.LimitExceededException: (429, "LimitExceededException"),
        framer.asyncio.PayloadTooLargeException: (413, "PayloadTooLargeException"),
    }
    for cls, (status, error_type) in expected.items():
        error = cls("why")
        assert isinstance(error, ManagementError)
        assert (error.status, error.error_type, error.message) == (status, error_type, "why")
    # A 410 names itself in the header alone, as API Gateway's does.
    assert framer.asyncio.GoneException("x").to_wire() == (410, [("x-amzn-ErrorType", "GoneException")], b"")


def test_management_api_bound_to_a_server_from_another_thread(demo_server: RunningServer, demo: Demo) -> None:
    """``ManagementApi(server)`` hops onto the server's loop from a caller's thread."""
    assert demo_server.server is not None
    api = ManagementApi(demo_server.server)
    assert threading.get_ident() != demo_server.server.loop_thread_id
    with connect(demo_server.url(), open_timeout=TIMEOUT, user_agent_header="seams/1") as ws:
        wait_for(lambda: len(demo.connections) == 1)
        cid = next(iter(demo.connections))
        assert api.post_to_connection(ConnectionId=cid, Data="to you") == {}
        assert ws.recv(timeout=TIMEOUT) == "to you"
        info = api.get_connection(ConnectionId=cid)
        assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "seams/1"}
        assert info["ConnectedAt"] <= info["LastActiveAt"]
        with pytest.raises(framer.router.BadRequestException) as bad:
            api.get_connection(ConnectionId="short")
        assert bad.value.message == "Invalid connectionId: short"
        api.delete_connection(ConnectionId=cid)
        wait_for(lambda: cid not in demo_server.live_ids())
        with pytest.raises(framer.router.GoneException):
            api.post_to_connection(ConnectionId=cid, Data=b"late")


def _imports(path: Path) -> set[str]:
    """The framer.asyncio modules *path* imports (TYPE_CHECKING imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                names = [node.module] if node.module else [a.name for a in node.names]
                found.update(f"_{n.lstrip('_')}" if n else "" for n in names)
            elif node.module and node.module.startswith("framer.asyncio."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[2] for a in node.names if a.name.startswith("framer.asyncio."))
    return found


def test_no_import_cycles_in_framer_asyncio() -> None:
    modules = {p.stem: p for p in ASYNCIO.glob("_*.py") if p.stem != "__init__"}
    graph = {name: _imports(path) & modules.keys() for name, path in modules.items()}
    assert graph["_server"] >= {"_http", "_shared"}  # the graph is really read
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in graph[name]:
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail + [name, dep]))
            if dep not in state:
                visit(dep, trail + [name])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_no_module_of_framer_asyncio_is_over_600_lines() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in ASYNCIO.glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 600} == {}


def test_the_package_docstring_names_every_module() -> None:
    doc = framer.asyncio.__doc__ or ""
    for path in ASYNCIO.glob("_*.py"):
        if path.stem != "__init__":
            assert f"``{path.stem}``" in doc, path.stem
