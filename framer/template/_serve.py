"""Serving a template: find it, load it, print the banner, serve, reload.

``framer.cli`` owns the options (``--template``, ``--parameter-overrides``,
``--reload``, ``--stage``) and calls ``find_template`` and ``serve_template``
with plain values; problems are raised as ``TemplateError`` (a ``ValueError``)
before anything listens, and ``OSError`` when the port cannot be bound.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from ._app import LoadOptions, TemplateGateway, discover
from ._banner import print_banner
from ._errors import TemplateError
from ._parameters import parse_overrides

__all__ = ["find_template", "serve_template"]

_POLL_S = 0.5


def find_template(given: Optional[str]) -> Optional[Path]:
    """The template to serve: ``given`` (a file, or a directory to look in),
    else one of ``TEMPLATE_NAMES`` in the current directory, else ``None``."""
    if given:
        path = Path(given)
        return (discover(path) or path) if path.is_dir() else path
    return discover(Path("."))


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


def serve_template(path: Path, host: str, port: int, *, overrides: Sequence[str] = (),
                   stage: Optional[str] = None, reload: bool = False,
                   config: Any = None, runner: Any = None,
                   region: Optional[str] = None) -> None:
    """Serve the template at ``path`` until SIGINT/SIGTERM.

    ``overrides`` are ``--parameter-overrides`` items, ``stage`` a
    serverless.yml stage, ``config`` a ``framer.asyncio.ServerConfig``,
    ``runner`` the ``framer.functions`` runner of the template's functions
    (closed at shutdown; without one they run in this process), ``region``
    the stack's region (default ``$AWS_REGION`` or us-east-1).
    """
    from framer.asyncio import Server, run_until_signal

    try:
        parameters = parse_overrides(overrides)
    except ValueError as exc:
        raise TemplateError(str(exc)) from None
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") \
        or "us-east-1"
    started_at = time.perf_counter()
    loaded = TemplateGateway.open(path, LoadOptions(overrides=parameters, stage=stage,
                                                    region=region))
    seconds = time.perf_counter() - started_at
    server = Server(loaded.app, host, port, config=config, runner=runner)
    tasks: list[asyncio.Task[None]] = []

    def started() -> None:
        loaded.app.bind(host, server.port)
        print_banner(loaded.model, host, server.port, sys.stderr, seconds=seconds)
        if reload:
            tasks.append(asyncio.get_running_loop().create_task(_watch(loaded)))

    asyncio.run(run_until_signal(server, started=started))
