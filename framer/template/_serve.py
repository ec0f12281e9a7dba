"""``framer serve --template PATH``: load, print the banner, serve, reload.

``framer.cli`` adds the options (``add_serve_arguments``) and calls
``serve_template``, which prints a problem as one line (``framer: error:
...``) and returns exit status 2, before anything listens.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional

from ._app import LoadOptions, TemplateGateway, discover
from ._banner import print_banner
from ._errors import TemplateError
from ._parameters import parse_overrides

__all__ = ["add_serve_arguments", "template_path", "serve_template"]

_POLL_S = 0.5


class _ServeError(Exception):
    """A problem with the options or the port (printed like a TemplateError)."""


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    """``--template/-t``, ``--parameter-overrides`` and ``--reload``."""
    serve.add_argument(
        "-t", "--template", default=None, metavar="PATH",
        help="serve the WebSocket APIs of an AWS SAM / CloudFormation template (YAML or "
             "JSON, cdk.out/*.template.json too) or a serverless.yml; default: "
             "template.yaml, template.yml, serverless.yml or serverless.yaml here")
    serve.add_argument(
        "--parameter-overrides", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
        help="template parameter values, as sam deploy takes them")
    serve.add_argument(
        "--reload", action="store_true",
        help="apply changes to the template as a new deployment of its stages")


def template_path(args: argparse.Namespace) -> Optional[Path]:
    """The template to serve: ``--template`` (a file, or a directory to look
    in), else one found in the current directory when nothing else was asked
    for, else ``None``."""
    if args.template:
        given = Path(args.template)
        return (discover(given) or given) if given.is_dir() else given
    if args.app or args.demo or args.control_plane or args.function or args.state_dir:
        return None
    return discover(Path("."))


def _options(args: argparse.Namespace) -> LoadOptions:
    try:
        overrides = parse_overrides(args.parameter_overrides)
    except ValueError as exc:
        raise _ServeError(str(exc)) from None
    if args.stage and len(args.stage) > 1:
        raise _ServeError("--stage: give one stage for a template")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return LoadOptions(overrides=overrides, stage=args.stage[0] if args.stage else None,
                       region=region)


def _signature(paths: tuple[Path, ...]) -> tuple[Any, ...]:
    out: list[Optional[tuple[int, int]]] = []
    for path in paths:
        try:
            stat = path.stat()
            out.append((stat.st_mtime_ns, stat.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


async def _watch(loaded: TemplateGateway) -> None:
    err = sys.stderr
    seen = _signature(loaded.model.watched)
    while True:
        await asyncio.sleep(_POLL_S)
        now = _signature(loaded.model.watched)
        if now == seen:
            continue
        seen = now
        try:
            model = loaded.reload()
        except TemplateError as exc:
            print(f"framer: reload failed, still serving the last good template: {exc}",
                  file=err, flush=True)
            continue
        seen = _signature(model.watched)
        stages = ", ".join(f"{api.logical_id}/{s}" for api in model.apis for s in api.stages)
        print(f"framer: reloaded {loaded.path}: new deployment on {stages or 'no stage'}",
              file=err, flush=True)


def serve_template(args: argparse.Namespace, path: Path, config: Any) -> int:
    """Serve the template at ``path`` until SIGINT/SIGTERM; the exit status."""
    try:
        return _serve(args, path, config)
    except (TemplateError, _ServeError) as exc:
        print(f"framer: error: {exc}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace, path: Path, config: Any) -> int:
    from framer.asyncio import Server, run_until_signal

    if args.app or args.demo or args.control_plane or args.function or args.state_dir:
        raise _ServeError("--template serves the template's APIs; not with module:attr, "
                          "--demo or the --control-plane options")
    started_at = time.perf_counter()
    loaded = TemplateGateway.open(path, _options(args))
    seconds = time.perf_counter() - started_at
    server = Server(loaded.app, args.host, args.port, config=config)
    tasks: list[asyncio.Task[None]] = []

    def started() -> None:
        loaded.app.bind(args.host, server.port)
        print_banner(loaded.model, args.host, server.port, sys.stderr, seconds=seconds)
        if args.reload:
            tasks.append(asyncio.get_running_loop().create_task(_watch(loaded)))

    try:
        asyncio.run(run_until_signal(server, started=started))
    except OSError as exc:
        raise _ServeError(f"cannot listen on {args.host}:{args.port}: "
                          f"{exc.strerror or exc}") from None
    return 0
