"""What ``framer serve --control-plane`` and ``framer functions`` do, with plain
arguments: ``framer.cli`` parses the command line and calls in here.

- :func:`serve_gateway`: serve the ``apigatewayv2`` control plane and every
  stage of every API kept in a state directory, until SIGINT/SIGTERM.
- :func:`list_functions`: list the Lambda function names the saved state
  uses, and what each is mapped to.

Problems the caller can fix raise :class:`ControlPlaneError` (``StateDirBusy``
and ``FunctionSpecError`` are kinds of it); an ``OSError`` from listening on
the address is left to the caller.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, TextIO, Union

from ._app import open_gateway
from ._errors import ControlPlaneError
from ._functions import FunctionRegistry
from ._store import DB_NAME, default_state_dir, functions_in_state

if TYPE_CHECKING:
    from framer.asyncio import ServerConfig
    from framer.functions import Runner

__all__ = ["serve_gateway", "list_functions"]

StateDir = Union[str, "os.PathLike[str]", None]


def _state_dir(value: StateDir) -> Path:
    return Path(value) if value else default_state_dir()


def list_functions(state_dir: StateDir, functions: FunctionRegistry, *,
                   as_json: bool = False, out: Optional[TextIO] = None) -> None:
    """Print each function name the state in ``state_dir`` (default:
    :func:`default_state_dir`) uses or ``functions`` maps: its handler (or
    ``UNMAPPED``) and its uses; as a JSON list with ``as_json``."""
    out = out if out is not None else sys.stdout
    directory = _state_dir(state_dir)
    used = functions_in_state(directory)
    names = sorted(set(used) | set(functions))
    rows: list[dict[str, Any]] = [
        {"name": n, "handler": functions.spec(n) if n in functions else None,
         "usedBy": used.get(n, [])} for n in names]
    if as_json:
        print(json.dumps(rows, indent=2), file=out)
        return
    if not rows:
        print(f"no functions: none mapped, none used in {directory}", file=out)
        return
    width = max(len(n) for n in names)
    for row in rows:
        handler = row["handler"] or "UNMAPPED (add --function " + row["name"] + "=module:callable)"
        uses = ", ".join(row["usedBy"]) or "not used"
        print(f"{row['name']:<{width}}  {handler}  [{uses}]", file=out)


def serve_gateway(host: str, port: int, *, state_dir: StateDir = None,
                  functions: Optional[FunctionRegistry] = None,
                  config: Optional["ServerConfig"] = None,
                  runner: Optional["Runner"] = None, region: str = "us-east-1") -> None:
    """Serve the control plane and every stage on ``host:port`` (``config``: a
    :class:`framer.asyncio.ServerConfig`, default its defaults) until SIGINT/SIGTERM, with the state
    in ``state_dir`` (default: :func:`default_state_dir`), announcing the
    addresses on stderr once listening.  ``runner`` (a ``framer.functions``
    runner, closed at shutdown) runs the functions; without one they run in
    this process.  ``region`` is the APIs' region (ARNs, domain names)."""
    from framer.asyncio import Server, run_until_signal

    registry = functions if functions is not None else FunctionRegistry()
    directory = _state_dir(state_dir)
    try:
        app = open_gateway(directory, registry, region=region)
    except ControlPlaneError:  # StateDirBusy: its message says it all
        raise
    except (OSError, sqlite3.Error, RuntimeError) as exc:
        raise ControlPlaneError(f"cannot open state in {directory}: {exc}") from None
    try:
        server = Server(app, host, port, config=config, runner=runner)

        def announce() -> None:
            base = f"{host}:{server.port}"
            app.bind(host, server.port)
            err = sys.stderr
            apis = app.gateway.get_apis()
            print(f"framer: control plane http://{base} (aws apigatewayv2 ... "
                  f"--endpoint-url http://{base})", file=err)
            print(f"framer: state {(directory / DB_NAME).resolve()} "
                  f"({len(apis)} API(s) restored)", file=err)
            for name in registry:
                print(f"framer: function {name} = {registry.spec(name)}", file=err)
            for name, places in sorted(app.gateway.unmapped_functions().items()):
                print(f"framer: warning: function {name} is not mapped (used by "
                      f"{', '.join(places)}); add --function {name}=module:callable",
                      file=err)
            for url in app.stage_urls(f"ws://{base}"):
                print(f"framer: stage {url}", file=err)
            err.flush()

        asyncio.run(run_until_signal(server, started=announce))
    finally:
        app.close()
