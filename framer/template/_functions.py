"""The template's Lambda functions: properties -> ``framer.functions.Function``.

``AWS::Serverless::Function`` (SAM: ``Handler``, ``Runtime``, ``CodeUri``,
``InlineCode``, ``Environment``, ``Timeout``, ``MemorySize``,
``ReservedConcurrentExecutions``, ``FunctionName``, ``PackageType``, merged
over ``Globals.Function``) and ``AWS::Lambda::Function`` (the same with
``Code``: a local path after ``sam build``/``cdk synth`` via the
``aws:asset:path`` metadata, or ``ZipFile`` inline code, written to
``index.py`` in a temporary code directory as Lambda does).

``handler_for`` is the one place where a ``TemplateFunction`` becomes what
the gateway invokes: a ``framer.functions.FunctionHandler``, which the
server's runner runs in worker processes (or in-process).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from framer.functions import Function, FunctionError, function_handler, load_handler

from ._errors import TemplateError

__all__ = ["TemplateFunction", "function_from_properties", "merge_globals", "handler_for",
           "physical_name"]

Handler = Callable[..., Any]

_INLINE_FILES = {"python": "index.py", "nodejs": "index.js"}


@dataclass(frozen=True, slots=True)
class TemplateFunction:
    """A function of the template: its ``Function`` record and, when framer
    cannot run it, why (its routes then fail as a failing integration does)."""

    logical_id: str
    function: Function
    problem: Optional[str] = None


def physical_name(stack_name: str, logical_id: str) -> str:
    """The name CloudFormation gives an unnamed function: stack, logical id
    and a suffix, at most 64 characters."""
    suffix = hashlib.sha1(f"{stack_name}/{logical_id}".encode()).hexdigest()[:12].upper()
    head = f"{stack_name}-{logical_id}"[: 64 - len(suffix) - 1]
    return f"{head}-{suffix}"


def merge_globals(defaults: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rule: maps merge (the function's keys win), lists are
    added to, other values are replaced by the function's."""
    out = dict(defaults)
    for key, value in own.items():
        base = out.get(key)
        if isinstance(base, dict) and isinstance(value, dict):
            out[key] = merge_globals(base, value)
        elif isinstance(base, list) and isinstance(value, list):
            out[key] = base + value
        else:
            out[key] = value
    return out


def _inline_dir(source: str, runtime: str) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="framer-inline-"))
    atexit.register(shutil.rmtree, directory, True)
    name = next((f for prefix, f in _INLINE_FILES.items() if runtime.startswith(prefix)),
                "index.py")
    (directory / name).write_text(source, encoding="utf-8")
    return directory


def _number(props: Mapping[str, Any], key: str, where: str, cast: Callable[[Any], Any]) -> Any:
    try:
        return cast(props[key])
    except (TypeError, ValueError):
        raise TemplateError(f"{key} must be a number, got {props[key]!r}",
                            where=f"{where}.{key}") from None


def _code(kind: str, props: Mapping[str, Any], metadata: Mapping[str, Any], base: Path,
          runtime: str, where: str) -> tuple[Path, Optional[str]]:
    """The code directory and, if the code is not local, why it cannot run."""
    asset = metadata.get("aws:asset:path") if isinstance(metadata, dict) else None
    if isinstance(asset, str):  # cdk synth: Code points at S3, the asset is next to us
        return base / asset, None
    if kind == "AWS::Serverless::Function":
        if isinstance(props.get("InlineCode"), str):
            return _inline_dir(props["InlineCode"], runtime), None
        uri = props.get("CodeUri", ".")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            return base / uri, None
        return base, f"its CodeUri {uri!r} is not a local path"
    code = props.get("Code")
    if isinstance(code, str) and not code.startswith("s3://"):
        return base / code, None  # a local path, as `aws cloudformation package` takes it
    if not isinstance(code, dict):
        raise TemplateError("Code must be a map (ZipFile, S3Bucket/S3Key or ImageUri)",
                            where=f"{where}.Code")
    if isinstance(code.get("ZipFile"), str):
        return _inline_dir(code["ZipFile"], runtime), None
    if "ImageUri" in code:
        return base, "it is a container image (ImageUri)"
    return base, (f"its code is in S3 (s3://{code.get('S3Bucket')}/{code.get('S3Key')}), "
                  "not in a local directory")


def function_from_properties(logical_id: str, kind: str, props: Mapping[str, Any],
                             metadata: Mapping[str, Any], *, base: Path, stack_name: str,
                             where: str) -> TemplateFunction:
    """The ``TemplateFunction`` for resolved properties (Globals already merged)."""
    name = props.get("FunctionName") or physical_name(stack_name, logical_id)
    image = props.get("PackageType") == "Image"
    runtime = str(props.get("Runtime") or "")
    if not runtime and not image:
        raise TemplateError("Runtime is required for a function deployed as a .zip "
                            "archive (e.g. python3.12)", where=f"{where}.Runtime")
    handler = props.get("Handler")
    if not image and not isinstance(handler, str):
        raise TemplateError("Handler is required (e.g. app.handler)", where=f"{where}.Handler")
    code_dir, problem = _code(kind, props, metadata, base, runtime, where)
    if image:
        problem = "it is a container image (PackageType: Image)"
    environment = props.get("Environment", {})
    variables = environment.get("Variables", {}) if isinstance(environment, dict) else None
    if not isinstance(variables, dict):
        raise TemplateError("Environment must be a map with Variables (a map)",
                            where=f"{where}.Environment")
    options: dict[str, Any] = {}
    if "Timeout" in props:
        options["timeout_s"] = _number(props, "Timeout", where, float)
    if "MemorySize" in props:
        options["memory_mb"] = _number(props, "MemorySize", where, int)
    if "ReservedConcurrentExecutions" in props:
        options["reserved_concurrency"] = _number(props, "ReservedConcurrentExecutions",
                                                  where, int)
    try:
        function = Function(name=str(name), handler=str(handler or "image.handler"),
                            code_dir=code_dir, runtime=runtime or "image",
                            environment={k: _env_value(v) for k, v in variables.items()},
                            **options)
    except FunctionError as exc:
        raise TemplateError(str(exc), where=where) from None
    if problem is None and not function.is_python:
        problem = f"its runtime {runtime} is not python3.x"
    if problem is None and not code_dir.is_dir():
        raise TemplateError(f"the code directory {code_dir} does not exist",
                            where=f"{where}.{'CodeUri' if 'Serverless' in kind else 'Code'}")
    return TemplateFunction(logical_id, function, problem)


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def handler_for(function: TemplateFunction, region: str) -> Handler:
    """What the gateway calls for ``function``: a ``FunctionHandler`` (the
    server's runner invokes the function, in worker processes by default),
    its handler imported here once to report a wrong ``Handler`` at load, with
    its environment set for in-process runs (one process, one environment:
    the banner warns when functions disagree on a variable); or, when it
    cannot run, a handler that fails every call."""
    if function.problem is not None:
        message = f"framer cannot run function {function.function.name}: {function.problem}"

        def cannot_run(event: Any, context: Any) -> Any:
            raise RuntimeError(message)
        return cannot_run
    os.environ.setdefault("AWS_REGION", region)
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    os.environ.update(function.function.environment)
    try:
        return function_handler(function.function, load_handler(function.function))
    except FunctionError as exc:
        raise TemplateError(str(exc), where=f"Resources.{function.logical_id}.Properties."
                                            "Handler") from None
