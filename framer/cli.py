"""``framer`` command line: ``framer serve module:attr``, ``framer serve --demo``,
``framer serve --control-plane`` (the apigatewayv2 control plane, see
framer.controlplane) and ``framer functions``.

``module:attr`` works like uvicorn's ``module:app``: import *module* (the
current directory is on the path), take *attr* (dots allowed), and serve it.
The attribute may be a :class:`framer.router.Router`, an object exposing one
(``.router`` or ``.build_router()``), or a zero-argument callable returning one
of those (a factory).

Errors are one line on stderr and a non-zero exit status, never a traceback:
the library's own errors (``framer.controlplane.ControlPlaneError``,
``ValueError`` from a configuration) become a :class:`CliError` here, the one
module that knows argparse.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

if TYPE_CHECKING:
    from framer.asyncio import AccessKey, ServerConfig
    from framer.controlplane import FunctionRegistry
    from framer.functions import Runner

__all__ = ["main", "load_app"]

_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


def load_app(spec: str) -> Any:
    """Import ``module:attr`` and return the attribute (calling it if it is a factory)."""
    from framer.functions import FunctionError
    from framer.functions._inprocess import import_spec

    try:
        value = import_spec(spec)
    except FunctionError as exc:
        raise CliError(f"app {spec!r} (module:attr, e.g. myapi:router): {exc}") from None
    from framer.router import Router

    if not isinstance(value, Router) and not hasattr(value, "router") and not hasattr(value, "build_router") and callable(value):
        try:
            value = value()
        except Exception as exc:
            raise CliError(f"calling factory {spec} failed: {type(exc).__name__}: {exc}") from None
    return value


def _add_conform_parser(sub: Any) -> None:
    conform = sub.add_parser(
        "conform",
        help="probe a WebSocket server for API Gateway's runtime rules",
        description="Probe ws://HOST:PORT/PATH for API Gateway's rules (32 KiB frames, "
        "128 KiB messages, text only, UTF-8, ping, close); exit 0 only if every rule passes.",
    )
    conform.add_argument("url", help="the WebSocket URL, e.g. ws://127.0.0.1:8080/dev")
    conform.add_argument("--api-gateway", action="store_true", help="also check that binary frames are closed with 1003")
    conform.add_argument("--json", action="store_true", help="print the report as JSON")
    conform.add_argument("--timeout", type=float, default=5.0, metavar="S", help="seconds to wait for each answer (default 5)")
    conform.add_argument("--fuzz", type=int, nargs="?", const=500, metavar="N",
                         help="property-based fuzzing: N examples per property, failures shrunk (default 500)")
    conform.add_argument("--echo", action="store_true", help="the server echoes: check every message comes back")
    conform.add_argument("--max-frame", type=int, metavar="BYTES", help="fuzz with this frame limit (instead of --api-gateway)")
    conform.add_argument("--max-message", type=int, metavar="BYTES", help="fuzz with this message limit")
    conform.add_argument("--property", action="append", default=[], metavar="NAME",
                         help="fuzz only this property (repeatable): frames, messages, at_limits, invalid_frames, over_limits")
    conform.add_argument("--db", type=Path, default=Path(".framer-conform"), metavar="DIR",
                         help="hypothesis example database (default .framer-conform)")
    conform.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit XML report")
    conform.add_argument("--replay", metavar="HEX|@FILE", help="send these bytes (from a failure report) and judge the answer")
    conform.add_argument("--expect", default="open", metavar="open|close:CODE",
                         help="with --replay: what the server must do (default open)")
    conform.add_argument("--max-time", type=float, metavar="S", help="stop fuzzing after S seconds")
    conform.add_argument("--max-pause", type=float, default=0.005, metavar="S",
                         help="longest pause between the pieces of an example (default 0.005)")
    conform.add_argument("--concurrency", type=int, default=1, metavar="K", help="properties fuzzed at once (default 1)")
    conform.add_argument("--allow-remote", metavar="HOST",
                         help="fuzz or replay against HOST although it is not loopback (must be the URL's host)")


def _conform(args: argparse.Namespace) -> int:
    from framer import conform

    try:
        return conform.main(conform.Options(
            args.url, api_gateway=args.api_gateway, as_json=args.json, timeout=args.timeout, fuzz=args.fuzz,
            echo=args.echo, max_frame=args.max_frame, max_message=args.max_message, database=args.db,
            junit=args.junit, replay=args.replay, expect=args.expect, max_time=args.max_time,
            max_pause=args.max_pause, concurrency=args.concurrency, properties=tuple(args.property),
            allow_remote=args.allow_remote,
        ))
    except conform.ConformError as exc:
        print(f"framer: error: {exc}", file=sys.stderr)
        return 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="framer", description="Amazon API Gateway WebSocket runtime")
    parser.add_argument("--version", action="version",
                        version=f"framer {importlib.metadata.version('framer')}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_conform_parser(sub)
    serve = sub.add_parser(
        "serve",
        help="serve an API over WebSocket with the @connections API on the same port",
        description="Serve ws://HOST:PORT/{stage} and /{stage}/@connections/{id}.",
    )
    serve.add_argument("app", nargs="?", help="module:attr of a Router (or an object/factory giving one)")
    serve.add_argument("--demo", action="store_true", help="serve the built-in chat + echo demo API (stage 'dev')")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    serve.add_argument(
        "--stage", action="append", default=None, metavar="NAME",
        help="only serve this stage (repeatable); default: every stage of the API",
    )
    serve.add_argument("--log-level", default="info", choices=_LOG_LEVELS, help="logging level (default info)")
    serve.add_argument("--idle-timeout", type=float, default=600.0, metavar="SECONDS", help="idle timeout (default 600)")
    serve.add_argument("--max-duration", type=float, default=7200.0, metavar="SECONDS", help="maximum connection duration (default 7200)")
    serve.add_argument("--max-buffer", type=int, default=1024 * 1024, metavar="BYTES", help="outgoing bytes queued per client before 429 (default 1 MiB)")
    serve.add_argument("--handshake-timeout", type=float, default=10.0, metavar="SECONDS", help="close a connection whose upgrade is not done by then (default 10)")
    serve.add_argument("--max-handshake-size", type=int, default=16 * 1024, metavar="BYTES", help="largest request head; 431 above it (default 16 KiB)")
    serve.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="also answer plain HTTP (control plane, @connections) whose Host is NAME "
             "(repeatable; '*' turns the Host check off); default: the bound address, "
             "localhost, 127.0.0.1 and [::1] with the port")
    serve.add_argument(
        "--require-sigv4", action="store_true",
        help="require an AWS SigV4 signature by one of the --access-key keys on the control "
             "plane and @connections (needs botocore: pip install 'framer[sigv4]')")
    serve.add_argument(
        "--access-key", action="append", default=[], metavar="ID:SECRET",
        help="a key --require-sigv4 accepts (repeatable); default: AWS_ACCESS_KEY_ID and "
             "AWS_SECRET_ACCESS_KEY from the environment")
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
    serve.add_argument(
        "-t", "--template", default=None, metavar="PATH",
        help="serve the WebSocket APIs of an AWS SAM / CloudFormation template (YAML or JSON, "
             "cdk.out/*.template.json too) or a serverless.yml (a file, or a directory to look "
             "in); default: template.yaml, template.yml, serverless.yml or serverless.yaml here")
    serve.add_argument("--parameter-overrides", action="extend", nargs="+", default=[],
                       metavar="KEY=VALUE", help="template parameter values, as sam deploy takes them")
    serve.add_argument("--reload", action="store_true",
                       help="replace a function's workers when a file under its code directory "
                            "changes (in-process: reload its module), and apply changes to the "
                            "template as a new deployment of its stages")
    serve.add_argument("--in-process", action="store_true",
                       help="run handlers in framer's own process (for breakpoints and speed) "
                            "instead of worker processes per function")
    serve.add_argument("--region", default=None, metavar="REGION",
                       help="the AWS region in ARNs, domain names and functions' AWS_REGION "
                            "(default us-east-1; a template: $AWS_REGION if set)")
    serve.add_argument("--env-vars", default=None, metavar="FILE",
                       help="functions' environment variables in sam local's JSON format "
                            "({\"FunctionName\": {\"VAR\": \"value\"}, \"Parameters\": {...}}); "
                            "worker processes only")
    serve.add_argument("--no-connections-hook", action="store_true",
                       help="leave boto3 alone: @connections calls to https://{domainName}/{stage} "
                            "go to that host instead of framer")
    _add_functions_parser(sub)
    return parser


def _add_functions_parser(sub: Any) -> None:
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


def _functions(specs: list[str]) -> "FunctionRegistry":
    """The ``--function NAME=module:callable`` options as a FunctionRegistry."""
    from framer.controlplane import FunctionRegistry, FunctionSpecError

    registry = FunctionRegistry()
    for spec in specs:
        try:
            registry.add_spec(spec)
        except FunctionSpecError as exc:
            raise CliError(f"--function {spec}: {exc}") from None
    return registry


def _access_keys(args: argparse.Namespace) -> "tuple[AccessKey, ...]":
    """``--access-key ID:SECRET`` options, else the environment's key (none without either)."""
    from framer.asyncio import AccessKey

    keys = []
    for text in args.access_key:
        try:
            keys.append(AccessKey.parse(text))
        except ValueError as exc:
            raise CliError(f"--access-key {text.partition(':')[0]}:***: {exc}") from None
    if args.access_key and not args.require_sigv4:
        raise CliError("--access-key is only used with --require-sigv4")
    key_id, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not keys and args.require_sigv4 and key_id and secret:
        keys.append(AccessKey(key_id, secret))
    return tuple(keys)


def _server_config(args: argparse.Namespace) -> "ServerConfig":
    from framer.asyncio import ServerConfig

    return ServerConfig(
        idle_timeout=args.idle_timeout,
        max_duration=args.max_duration,
        max_buffer=args.max_buffer,
        handshake_timeout=args.handshake_timeout,
        max_handshake_size=args.max_handshake_size,
        allowed_hosts=tuple(args.allow_host),
        require_sigv4=args.require_sigv4,
        access_keys=_access_keys(args),
    )


def _runner(args: argparse.Namespace) -> "Runner":
    """The runner of the server's functions: worker processes, or ``--in-process``."""
    from framer.functions import (DEFAULT_REGION, EnvVarsFile, FunctionError, InProcessRunner,
                                  RunnerOptions, WorkerRunner)

    keys = _access_keys(args) if args.require_sigv4 else ()
    try:
        options = RunnerOptions(region=args.region or DEFAULT_REGION, reload=args.reload,
                                connections_hook=not args.no_connections_hook,
                                credentials=(keys[0].key_id, keys[0].secret) if keys else None)
        env_vars = EnvVarsFile.load(args.env_vars) if args.env_vars else None
    except (FunctionError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if args.in_process:
        if env_vars is not None:
            logging.getLogger("framer.server").warning(
                "--env-vars has no effect with --in-process (functions share framer's environment)")
        # One process, one environment: the region at least is Lambda's.
        os.environ.setdefault("AWS_REGION", options.region)
        os.environ.setdefault("AWS_DEFAULT_REGION", options.region)
        return InProcessRunner(options)
    return WorkerRunner(options, env_vars=env_vars)


def _serve(args: argparse.Namespace) -> None:
    """Check the options, then run the one library call they ask for."""
    from framer.asyncio import Server, run_until_signal

    if args.demo and args.app:
        raise CliError("give either module:attr or --demo, not both")
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be between 0 and 65535, got {args.port}")
    control_plane = args.control_plane or bool(args.function) or args.state_dir is not None
    if args.template or not (args.demo or args.app or control_plane):
        _serve_template(args, control_plane)
        return
    if control_plane and (args.demo or args.app):
        raise CliError("--control-plane, --function and --state-dir serve the apigatewayv2 control plane; not with module:attr or --demo")
    if control_plane and args.stage:
        raise CliError("--stage needs module:attr or --demo (the control plane serves every stage)")
    try:
        config = _server_config(args)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    run: Callable[[], None]
    if control_plane:
        # The apigatewayv2 control plane and its APIs (framer.controlplane).
        from framer.controlplane import serve_gateway

        functions = _functions(args.function)

        runner = _runner(args)

        def run() -> None:
            serve_gateway(args.host, args.port, state_dir=args.state_dir,
                          functions=functions, config=config, runner=runner,
                          region=args.region or "us-east-1")
    else:
        if args.demo:
            from framer.demo import build_demo

            app: Any = build_demo(region=args.region or "us-east-1")
        else:
            app = load_app(args.app)
        try:
            server = Server(app, args.host, args.port, config=config, stages=args.stage,
                            runner=_runner(args))
        except (TypeError, ValueError) as exc:
            raise CliError(str(exc)) from None

        def run() -> None:
            asyncio.run(run_until_signal(server))
    try:
        run()
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None


def _list_functions(args: argparse.Namespace) -> None:
    from framer.controlplane import list_functions

    list_functions(args.state_dir, _functions(args.function), as_json=args.json)


def _serve_template(args: argparse.Namespace, control_plane: bool) -> None:
    """``--template`` (or a template found here): framer.template serves it."""
    from framer.template import find_template, serve_template

    if args.demo or args.app or control_plane:
        raise CliError("--template serves the template's APIs; not with module:attr, --demo "
                       "or the control-plane options")
    path = find_template(args.template)
    if path is None:
        raise CliError("nothing to serve: give module:attr, --demo, --control-plane or "
                       "--template (no template.yaml, template.yml, serverless.yml or "
                       "serverless.yaml here)")
    if args.stage and len(args.stage) > 1:
        raise CliError("--stage: give one stage for a template")
    try:
        serve_template(path, args.host, args.port, overrides=args.parameter_overrides,
                       stage=args.stage[0] if args.stage else None, reload=args.reload,
                       config=_server_config(args), runner=_runner(args), region=args.region)
    except ValueError as exc:  # framer.template.TemplateError is one
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``framer`` console script; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "conform":
        return _conform(args)
    if args.command == "functions":
        command = _list_functions
    elif args.command == "serve":
        logging.basicConfig(
            level=getattr(logging, args.log_level.upper()),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        command = _serve
    else:
        parser.print_help(sys.stderr)
        return 2
    from framer.controlplane import ControlPlaneError

    try:
        command(args)
    except (CliError, ControlPlaneError) as exc:
        print(f"framer: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
