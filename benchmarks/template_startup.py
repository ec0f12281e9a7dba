"""Start-up time of ``framer serve --template`` for a 3 function / 5 route
SAM template, against ``framer serve --demo`` in the same run.

Each run spawns the server, waits for its start-up line (the banner's last
line; the demo's "serving on" line) and stops it; the time is spawn to that
line, before any function is invoked. The banner's own "loaded in N ms" (the
template load alone: read, resolve, import the handlers, provision) is
reported too. Prints medians of --runs runs.

    python benchmarks/template_startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/}
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: bench, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Connect: {Type: AWS::Serverless::Function, Properties: {Handler: app.connect}}
  Disconnect: {Type: AWS::Serverless::Function, Properties: {Handler: app.disconnect}}
  Message: {Type: AWS::Serverless::Function, Properties: {Handler: app.message}}
%(integrations)s
%(routes)s
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: dev, AutoDeploy: true}
"""
ROUTES = {"$connect": "Connect", "$disconnect": "Disconnect", "$default": "Message",
          "send": "Message", "ping": "Message"}
HANDLERS = """
import json

def connect(event, context):
    return {"statusCode": 200}

def disconnect(event, context):
    return {"statusCode": 200}

def message(event, context):
    return {"statusCode": 200, "body": json.dumps({"ok": True})}
"""


def write_app(directory: Path) -> Path:
    (directory / "src").mkdir()
    (directory / "src" / "app.py").write_text(HANDLERS)
    integrations = "\n".join(
        f"  {fn}Integration:\n    Type: AWS::ApiGatewayV2::Integration\n"
        f"    Properties: {{ApiId: !Ref Api, IntegrationType: AWS_PROXY, "
        f"IntegrationUri: !GetAtt {fn}.Arn}}" for fn in ("Connect", "Disconnect", "Message"))
    routes = "\n".join(
        f"  Route{i}:\n    Type: AWS::ApiGatewayV2::Route\n"
        f"    Properties: {{ApiId: !Ref Api, RouteKey: \"{key}\", "
        f"Target: !Sub \"integrations/${{{fn}Integration}}\"}}"
        for i, (key, fn) in enumerate(ROUTES.items()))
    path = directory / "template.yaml"
    path.write_text(textwrap.dedent(TEMPLATE) % {"integrations": integrations, "routes": routes})
    return path


def time_start(args: list[str], ready: str, cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "framer.cli", "serve", "--port", "0", *args],
                            cwd=cwd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if re.search(ready, line):
            break
    elapsed = time.perf_counter() - started
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    return elapsed, "".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        template = write_app(directory)
        demo, spawn, loads = [], [], []
        for _ in range(runs):
            demo.append(time_start(["--demo"], r"serving on", directory)[0])
            elapsed, banner = time_start(["-t", str(template), "--log-level", "warning"],
                                         r"^framer: control plane", directory)
            spawn.append(elapsed)
            loads.append(float(re.search(r"loaded in (\d+) ms", banner).group(1)))  # type: ignore[union-attr]
            assert "3 function(s)" in banner and banner.count("route ") == 5, banner
    d, t = statistics.median(demo), statistics.median(spawn)
    print(f"framer serve --demo, spawn to ready:            {d * 1000:7.0f} ms (median of {runs})")
    print(f"framer serve -t (3 functions, 5 routes), ready: {t * 1000:7.0f} ms ({t / d:.2f}x the demo)")
    print(f"  of which the template load (banner):          {statistics.median(loads):7.0f} ms")


if __name__ == "__main__":
    main()
