"""The start-up banner: what a template serves, as ``sam local start-api``
prints its mounts."""

from __future__ import annotations

from typing import TextIO

from ._model import App

__all__ = ["print_banner"]


def print_banner(app: App, host: str, port: int, out: TextIO, *, seconds: float) -> None:
    """Per API its stage URLs, @connections URL and routes (with each route's
    function: name, handler, runtime, code directory); then what was not run;
    last, the control plane's URL."""
    base = f"{host}:{port}"
    stages = [stage for api in app.apis for stage in api.stages]
    print(f"framer: {app.file} ({app.format}) loaded in {seconds * 1000:.0f} ms: "
          f"{len(app.apis)} WebSocket API(s), {len(app.functions)} function(s)", file=out)
    for api in app.apis:
        print(f"framer: API {api.logical_id} {api.name!r} (id {api.api_id})", file=out)
        for stage in api.stages:
            # The short /{stage} form works while no other API has the stage name.
            prefix = f"/{stage}" if stages.count(stage) == 1 else f"/{api.api_id}/{stage}"
            print(f"framer:   stage {stage}: ws://{base}{prefix}  (also "
                  f"ws://{base}/{api.api_id}/{stage})", file=out)
            print(f"framer:     @connections http://{base}{prefix}/@connections/"
                  "{connectionId}", file=out)
        if not api.stages:
            print("framer:   no stage: nothing to connect to until a stage is made", file=out)
        width = max((len(r.route_key) for r in api.routes), default=0)
        for route in api.routes:
            if route.function is not None:
                fn = route.function.function
                what = f"{fn.name}  {fn.handler}  {fn.runtime}  {fn.code_dir.resolve()}"
                if route.function.problem is not None:
                    what += "  [CANNOT RUN]"
            elif route.integration_type == "AWS_PROXY":
                what = f"{route.target}  [not in the template: fails]"
            elif route.integration_type is None:
                what = "(no integration)"
            else:
                what = f"{route.integration_type} {route.target}".rstrip()
            if route.authorizer:
                what += f"  (authorizer {route.authorizer})"
            print(f"framer:   route {route.route_key:<{width}} -> {what}", file=out)
    groups: dict[tuple[str, str], list[str]] = {}
    for skipped in app.skipped:
        groups.setdefault((skipped.type, skipped.reason), []).append(skipped.logical_id)
    for (kind, reason), ids in groups.items():
        print(f"framer: ignored {kind} ({reason}): {', '.join(ids)}", file=out)
    for name, value in app.outputs.items():
        print(f"framer: output {name} = {value}", file=out)
    for warning in app.warnings:
        print(f"framer: warning: {warning}", file=out)
    print(f"framer: control plane http://{base}/v2/apis (aws apigatewayv2 ... "
          f"--endpoint-url http://{base})", file=out)
    out.flush()
