"""The control-plane half of the ``framer`` command line.

- ``framer serve --control-plane [--state-dir DIR] [--function NAME=module:callable ...]``
  (``--control-plane`` is implied by ``--state-dir`` or ``--function``):
  serve the ``apigatewayv2`` control plane and every stage of every API kept
  in the state directory.
- ``framer functions [--state-dir DIR] [--function ...]``: list the Lambda
  function names the saved state uses, and what each is mapped to.

``framer.cli`` owns the parser and calls in here; errors are raised as
``framer.cli.CliError`` (one line on stderr, exit status 2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any, Optional, TextIO

from ._functions import FunctionRegistry, FunctionSpecError, function_name
from ._store import DB_NAME, StateDirBusy, default_state_dir

__all__ = ["add_serve_arguments", "add_functions_command", "serve_gateway", "list_functions"]


def _cli_error(message: str) -> Exception:
    from framer.cli import CliError

    return CliError(message)


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    """``--control-plane``, ``--state-dir`` and ``--function`` on ``framer serve``."""
    serve.add_argument(
        "--control-plane", action="store_true",
        help="serve the apigatewayv2 control plane (/v2/apis) and every stage of the APIs "
             "made with it, kept in --state-dir (implied by --state-dir or --function)")
    serve.add_argument(
        "--state-dir", default=None, metavar="DIR",
        help="control-plane state (SQLite); default $FRAMER_STATE_DIR or ./.framer")
    serve.add_argument(
        "--function", action="append", default=[], metavar="NAME=module:callable",
        help="run module:callable for Lambda function NAME (named in integrationUri / "
             "authorizerUri); repeatable")


def add_functions_command(sub: Any) -> None:
    """The ``framer functions`` subcommand."""
    cmd = sub.add_parser(
        "functions",
        help="list the Lambda function names the saved APIs use and their handlers",
        description="List the Lambda function names used by the integrations and "
                    "authorizers in the state directory, with the --function mapping "
                    "each has (pass the same --function options as to framer serve).")
    cmd.add_argument("--state-dir", default=None, metavar="DIR",
                     help="default $FRAMER_STATE_DIR or ./.framer")
    cmd.add_argument("--function", action="append", default=[],
                     metavar="NAME=module:callable")
    cmd.add_argument("--json", action="store_true", help="print JSON")


def _registry(specs: list[str]) -> FunctionRegistry:
    registry = FunctionRegistry()
    for spec in specs:
        try:
            registry.add_spec(spec)
        except FunctionSpecError as exc:
            raise _cli_error(f"--function {spec}: {exc}") from None
    return registry


def _state_dir(value: Optional[str]) -> Path:
    return Path(value) if value else default_state_dir()


def functions_in_state(directory: Path) -> dict[str, list[str]]:
    """Function name -> where the state uses it, read without taking the
    directory's lock (so it works while ``framer serve`` runs)."""
    path = directory / DB_NAME
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT api_id, kind, rid, body FROM resources "
                          "WHERE kind IN ('integration', 'authorizer', 'deployment') "
                          "ORDER BY seq").fetchall()
    finally:
        db.close()
    out: dict[str, list[str]] = {}

    def use(uri: Optional[str], where: str) -> None:
        name = function_name(uri or "")
        if name is not None and where not in out.setdefault(name, []):
            out[name].append(where)

    for api_id, kind, rid, body in rows:
        data = json.loads(body)
        if kind == "integration" and data.get("integration_type") == "AWS_PROXY":
            use(data.get("integration_uri"), f"{api_id}/integrations/{rid}")
        elif kind == "authorizer":
            use(data.get("authorizer_uri"), f"{api_id}/authorizers/{rid}")
        elif kind == "deployment":
            for item in data["snapshot"]["integrations"]:
                if item.get("integration_type") == "AWS_PROXY":
                    use(item.get("integration_uri"),
                        f"{api_id}/deployments/{rid}/integrations/{item['integration_id']}")
            for item in data["snapshot"]["authorizers"]:
                use(item.get("authorizer_uri"),
                    f"{api_id}/deployments/{rid}/authorizers/{item['authorizer_id']}")
    return out


def list_functions(args: argparse.Namespace, out: Optional[TextIO] = None) -> int:
    """``framer functions``: print NAME, its handler (or ``unmapped``), its uses."""
    out = out if out is not None else sys.stdout
    registry = _registry(args.function)
    directory = _state_dir(args.state_dir)
    try:
        used = functions_in_state(directory)
    except sqlite3.Error as exc:
        raise _cli_error(f"cannot read {directory / DB_NAME}: {exc}") from None
    names = sorted(set(used) | set(registry))
    rows: list[dict[str, Any]] = [
        {"name": n, "handler": registry.spec(n) if n in registry else None,
         "usedBy": used.get(n, [])} for n in names]
    if args.json:
        print(json.dumps(rows, indent=2), file=out)
        return 0
    if not rows:
        print(f"no functions: none mapped, none used in {directory}", file=out)
        return 0
    width = max(len(n) for n in names)
    for row in rows:
        handler = row["handler"] or "UNMAPPED (add --function " + row["name"] + "=module:callable)"
        uses = ", ".join(row["usedBy"]) or "not used"
        print(f"{row['name']:<{width}}  {handler}  [{uses}]", file=out)
    return 0


def serve_gateway(args: argparse.Namespace, config: Any) -> int:
    """``framer serve --control-plane``: control plane + every stage."""
    from framer.asyncio import Server, run_until_signal

    from . import open_gateway

    registry = _registry(args.function)
    directory = _state_dir(args.state_dir)
    try:
        app = open_gateway(directory, registry)
    except StateDirBusy as exc:
        raise _cli_error(str(exc)) from None
    except (OSError, sqlite3.Error, RuntimeError) as exc:
        raise _cli_error(f"cannot open state in {directory}: {exc}") from None
    try:
        server = Server(app, args.host, args.port, config=config)

        def announce() -> None:
            base = f"{args.host}:{server.port}"
            app.bind(args.host, server.port)
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

        try:
            asyncio.run(run_until_signal(server, started=announce))
        except OSError as exc:
            raise _cli_error(f"cannot listen on {args.host}:{args.port}: "
                             f"{exc.strerror or exc}") from None
    finally:
        app.close()
    return 0
