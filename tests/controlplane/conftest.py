"""Fixtures: ``framer serve``'s control plane, in-process or as a subprocess.

In-process servers run on their own event loop in a thread (127.0.0.1, an
ephemeral port) so tests can use blocking clients (boto3, the AWS CLI,
websockets' sync client). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator, Optional

import boto3
import pytest
from botocore.config import Config

from framer.asyncio import Server, serve
from framer.controlplane import FunctionRegistry, open_gateway

from . import handlers

TIMEOUT = 10.0
HERE = Path(__file__).parent
ROOT = HERE.parent.parent

FUNCTIONS = {"echo": handlers.echo, "pong": handlers.pong, "connect": handlers.connect,
             "authorize": handlers.authorize}


def lambda_uri(name: str) -> str:
    """The apigateway invocation URI of a Lambda function, as the CLI is given it."""
    return ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:us-east-1:123456789012:function:{name}/invocations")


def client(port: int) -> Any:
    """boto3's apigatewayv2 client pointed at a framer server (dummy credentials)."""
    return boto3.client(
        "apigatewayv2", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=15))


def echo_api(c: Any, name: str, *stages: str) -> str:
    """An API whose $default route echoes, deployed to *stages*; its id."""
    api_id: str = c.create_api(Name=name, ProtocolType="WEBSOCKET",
                               RouteSelectionExpression="$request.body.action")["ApiId"]
    integration = c.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY",
                                       IntegrationUri=lambda_uri("echo"))
    route = c.create_route(ApiId=api_id, RouteKey="$default",
                           Target=f"integrations/{integration['IntegrationId']}",
                           RouteResponseSelectionExpression="$default")
    c.create_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseKey="$default")
    for stage in stages:
        c.create_stage(ApiId=api_id, StageName=stage)
        c.create_deployment(ApiId=api_id, StageName=stage)
    return api_id


class GatewayServer:
    """``framer serve``'s app (state in ``state_dir``) served in a thread."""

    def __init__(self, state_dir: Path, functions: Optional[dict[str, Any]] = None,
                 **options: Any) -> None:
        self.state_dir = state_dir
        self.app = open_gateway(state_dir, FunctionRegistry(functions or FUNCTIONS))
        self.options = options
        self.server: Optional[Server] = None
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self.app, "127.0.0.1", 0, **self.options) as server:
            self.server = server
            self.app.bind("127.0.0.1", server.port)
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> "GatewayServer":
        self._thread.start()
        assert self._ready.wait(TIMEOUT), "server did not start"
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.loop is not None and self._stop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(TIMEOUT + 10)
        self.app.close()
        assert not self._thread.is_alive(), "server did not stop"

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def client(self) -> Any:
        return client(self.port)

    def ws(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[GatewayServer]:
    with GatewayServer(tmp_path / "state") as running:
        yield running


class ServeProcess:
    """``python -m framer.cli serve`` in a subprocess; the port is read from its banner."""

    def __init__(self, state_dir: Path, *functions: str, options: tuple[str, ...] = (),
                 environ: Optional[dict[str, str]] = None) -> None:
        args = [sys.executable, "-m", "framer.cli", "serve", "--port", "0",
                "--state-dir", str(state_dir), "--log-level", "warning", *options]
        for spec in functions:
            args += ["--function", spec]
        env = dict(os.environ if environ is None else environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        self.proc = subprocess.Popen(args, cwd=HERE, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.banner: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.port = self._wait_port()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put("")

    def _wait_port(self) -> int:
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                self.kill()
                raise AssertionError("framer serve printed no banner in time") from None
            if line == "":
                raise AssertionError(f"framer serve exited: {''.join(self.banner)}")
            self.banner.append(line)
            match = re.search(r"control plane http://127\.0\.0\.1:(\d+)", line)
            if match:
                # The banner's remaining lines follow at once; give them a moment.
                while True:
                    try:
                        more = self.lines.get(timeout=0.5)
                    except queue.Empty:
                        break
                    if more == "":
                        break
                    self.banner.append(more)
                return int(match.group(1))

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(TIMEOUT)

    def stop(self) -> int:
        """SIGTERM and wait: the graceful path."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(TIMEOUT)
