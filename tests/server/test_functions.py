"""``framer serve`` running handlers as Lambda functions, end to end: a real
``framer serve functions_api:router`` process, real websockets and boto3
clients, worker processes (the default) and ``--in-process``."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WAIT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Serve:
    """``python -m framer serve ARGS`` in ``cwd``; its stderr lines in ``lines``."""

    def __init__(self, cwd: Path, *args: str, env: Optional[dict[str, str]] = None,
                 port: Optional[int] = None) -> None:
        self.port = port or _free_port()
        environment = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
        for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            environment.pop(key, None)
        environment.setdefault("AWS_ACCESS_KEY_ID", "testing")
        environment.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "framer", "serve", "--port", str(self.port), *args],
            cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._new: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_for(r"serving on ws://|control plane http://")

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            self._new.put(line)
        self._new.put("\0")

    def wait_for(self, pattern: str) -> str:
        """The first line (seen so far or coming) matching ``pattern``."""
        deadline = time.monotonic() + WAIT
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if re.search(pattern, line):
                    return line
            seen = len(self.lines)
            try:
                if self._new.get(timeout=max(0.0, deadline - time.monotonic())) == "\0":
                    raise AssertionError(f"framer serve exited without {pattern!r}:\n"
                                         + "\n".join(self.lines))
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} in time:\n" + "\n".join(self.lines)) from None

    def url(self, stage: str = "dev") -> str:
        return f"ws://127.0.0.1:{self.port}/{stage}"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(WAIT)


@pytest.fixture
def code(tmp_path: Path) -> Path:
    """A copy of functions_app.py and functions_api.py: the user's project."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("functions_app.py", "functions_api.py"):
        shutil.copy(HERE / name, project / name)
    (project / "pids").mkdir()
    return project


@pytest.fixture(params=["workers", "in-process"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _serve(code: Path, *args: str) -> Serve:
    return Serve(code, "functions_api:router", *args, env={"PID_DIR": str(code / "pids")})


@pytest.fixture
def server(code: Path) -> Iterator[Serve]:
    running = _serve(code, "--region", "eu-west-1")
    yield running
    running.stop()


def _ask(ws: ClientConnection, action: str, **fields: object) -> str:
    ws.send(json.dumps({"action": action, **fields}))
    answer = ws.recv(WAIT)
    assert isinstance(answer, str)
    return answer


def _say(ws: ClientConnection, text: str) -> str:
    """Send plain text ($default: the echo function) and return the answer."""
    ws.send(text)
    answer = ws.recv(WAIT)
    assert isinstance(answer, str)
    return answer


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + WAIT
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[p for p in pids if _alive(p)]}"
        time.sleep(0.05)


def test_lambda_environment_region_and_context_in_a_worker(server: Serve, code: Path) -> None:
    with connect(server.url()) as ws:
        answer = json.loads(_ask(ws, "env"))
    env = answer["env"]
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == answer["name"] == "env"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" and answer["memory"] == 256
    assert env["TZ"] == ":UTC" and env["GREETING"] == "hello"
    assert env["_HANDLER"] == "functions_app:env"
    assert env["LAMBDA_TASK_ROOT"] == str(code)
    assert env["AWS_EXECUTION_ENV"].startswith("AWS_Lambda_python3.")
    assert answer["arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:env"
    assert 0 < answer["remaining"] <= 3000
    assert answer["pid"] != server.proc.pid
    assert answer["domainName"].endswith(".execute-api.us-east-1.amazonaws.com")


def test_env_vars_file_overrides_a_functions_variable(code: Path) -> None:
    (code / "env.json").write_text(json.dumps({"env": {"GREETING": "from the file"}}))
    running = _serve(code, "--env-vars", "env.json")
    try:
        with connect(running.url()) as ws:
            assert json.loads(_ask(ws, "env"))["env"]["GREETING"] == "from the file"
    finally:
        running.stop()


def test_bad_env_vars_file_is_a_one_line_error(code: Path) -> None:
    (code / "env.json").write_text("[1]")
    result = subprocess.run(
        [sys.executable, "-m", "framer", "serve", "functions_api:router", "--port", "0",
         "--env-vars", "env.json"], cwd=code, capture_output=True, text=True, timeout=WAIT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 2
    assert result.stderr.startswith("framer: error: env-vars file 'env.json'")


def test_raising_handler_logs_traceback_and_a_failed_route_line(server: Serve) -> None:
    with connect(server.url()) as ws:
        failed = json.loads(_ask(ws, "boom"))
        assert failed["message"] == "Internal server error"
        assert _say(ws, "still open") == "still open"  # the connection stays open
    server.wait_for(r"route=boom .*status=failed .*KeyError: 'no such thing'")
    start = server.lines.index(next(l for l in server.lines if "boom: START RequestId:" in l))
    after = server.lines[start:]
    kinds = [kind for line in after for kind in ("START", "[ERROR] KeyError", "Traceback",
                                                  "raise KeyError", "END", "REPORT") if kind in line]
    assert kinds[:6] == ["START", "[ERROR] KeyError", "Traceback", "raise KeyError", "END", "REPORT"]
    assert not any("route=boom" in line and "status=ok" in line for line in server.lines)


def test_stdout_comes_between_start_and_end(server: Serve) -> None:
    with connect(server.url()) as ws:
        assert _say(ws, "hello") == "hello"
    server.wait_for(r"echo: REPORT RequestId")
    lines = [l for l in server.lines if "framer.functions.echo:" in l]
    kinds = [next(k for k in ("START", "echo stdout", "END", "REPORT") if k in l) for l in lines]
    assert kinds == ["START", "echo stdout", "END", "REPORT"]
    assert re.search(r"REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
                     r"Memory Size: 128 MB\tMax Memory Used: \d+ MB", lines[-1])


def test_sleepers_past_their_timeout_hold_up_nothing_and_leave_no_process(server: Serve,
                                                                          code: Path) -> None:
    sleepers = [connect(server.url()) for _ in range(8)]
    try:
        for ws in sleepers:
            ws.send(json.dumps({"action": "sleep"}))
        deadline = time.monotonic() + WAIT
        while len(list((code / "pids").iterdir())) < 8:  # all eight are sleeping
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with connect(server.url()) as ninth:  # a new handshake ($connect runs)
            assert _ask(ninth, "echo") == '{"action": "echo"}'
            # The sleepers (2 s timeout) have not answered yet: we were first.
            assert not any("Task timed out" in line for line in server.lines)
        for ws in sleepers:
            answer = json.loads(ws.recv(WAIT))
            assert answer["message"] == "Internal server error"  # Lambda's timeout, not API Gateway's
        server.wait_for(r"Task timed out after 2.00 seconds")
        _wait_gone([int(p.name) for p in (code / "pids").iterdir()])
    finally:
        for ws in sleepers:
            ws.close()


def test_api_gateway_integration_timeout_cancels_the_invocation(server: Serve, code: Path) -> None:
    with connect(server.url()) as ws:
        answer = json.loads(_ask(ws, "gatewaytimeout"))
        assert answer["message"] == "Endpoint request timed out"
        assert _say(ws, "after") == "after"
    _wait_gone([int(p.name) for p in (code / "pids").iterdir()])


def test_integration_timeouts_started_one_after_another_each_come(server: Serve, code: Path) -> None:
    # The integration timeouts of one value share a timer, set again for the
    # next invocation after each one: the second must time out too.
    with connect(server.url()) as first, connect(server.url()) as second:
        first.send(json.dumps({"action": "gatewaytimeout"}))
        assert _say(second, "between") == "between"
        second.send(json.dumps({"action": "gatewaytimeout"}))
        for ws in (first, second):
            answer = ws.recv(WAIT)
            assert isinstance(answer, str)
            assert json.loads(answer)["message"] == "Endpoint request timed out"
        assert _say(first, "after") == "after"
        assert _say(second, "after") == "after"
    _wait_gone([int(p.name) for p in (code / "pids").iterdir()])


@pytest.mark.parametrize("how", ["segfault", "exit"])
def test_a_crashing_function_fails_only_its_invocation(server: Serve, how: str) -> None:
    with connect(server.url()) as other, connect(server.url()) as ws:
        assert _say(other, "before") == "before"
        assert json.loads(_ask(ws, "crash", how=how))["message"] == "Internal server error"
        assert _say(other, "after") == "after"
        assert _say(ws, "same connection") == "same connection"
    reason = "signal: segmentation fault" if how == "segfault" else "exit status 1"
    server.wait_for(f"Runtime exited with error: {reason}")


@pytest.mark.parametrize("action", ["big", "abig"])
def test_a_reply_over_128_kib_is_an_integration_failure(mode: str, code: Path, action: str) -> None:
    running = _serve(code, *(["--in-process"] if mode == "in-process" else []))
    try:
        with connect(running.url()) as ws:
            assert json.loads(_ask(ws, action))["message"] == "Internal server error"
            assert _say(ws, "still open") == "still open"
        running.wait_for(rf"route={action} .*reply of 200000 bytes exceeds API Gateway's "
                         r"message limit of 131072 bytes")
    finally:
        running.stop()


def test_a_post_over_128_kib_is_refused_with_413_and_logged(server: Serve) -> None:
    with connect(server.url()) as ws:
        assert _ask(ws, "bigpost") == "413 PayloadTooLargeException"
        assert _say(ws, "still open") == "still open"
    server.wait_for(r"bigpost: @connections PostToConnection failed: 413 PayloadTooLargeException")


def test_reload_replaces_workers_and_keeps_connections_open(code: Path) -> None:
    running = _serve(code, "--reload")
    try:
        with connect(running.url()) as ws:
            assert _ask(ws, "version") == "v1"
            source = code / "functions_app.py"
            source.write_text(source.read_text().replace('"body": "v1"', '"body": "v2"'))
            running.wait_for(r"Reloading function 'version': .*functions_app.py changed")
            assert _ask(ws, "version") == "v2"
    finally:
        running.stop()


def test_in_process_mode_runs_handlers_in_the_server(code: Path) -> None:
    running = _serve(code, "--in-process", "--reload")
    try:
        with connect(running.url()) as ws:
            answer = json.loads(_ask(ws, "env"))
            assert answer["pid"] == running.proc.pid
            assert answer["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:env"
            assert _ask(ws, "aecho") == '{"action": "aecho"}'
            assert _ask(ws, "version") == "v1"
            source = code / "functions_app.py"
            source.write_text(source.read_text().replace('"body": "v1"', '"body": "v2"'))
            running.wait_for(r"Reloading function 'version'")
            assert _ask(ws, "version") == "v2", "\n".join(running.lines)
    finally:
        running.stop()


@pytest.mark.parametrize("query, reason", [
    ("slow=1", "Task timed out after 1.00 seconds"),
    ("boom=1", "ValueError: refused by the handler"),
])
def test_a_failing_connect_function_refuses_the_handshake_with_502(server: Serve, query: str,
                                                                    reason: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url("dev") + "?" + query, open_timeout=WAIT)
    assert refused.value.response.status_code == 502
    assert json.loads(refused.value.response.body) == {"message": "Internal server error"}
    server.wait_for(rf"route=\$connect id=- status=502 .*{re.escape(reason)}")
    with connect(server.url()) as ws:  # the next handshake is accepted
        assert _say(ws, "open") == "open"
