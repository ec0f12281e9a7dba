"""Running ``framer serve --template`` in a subprocess, as a user does."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from framer.template import TemplateGateway

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemplateServer:
    """``python -m framer.cli serve --template ...``; ``banner`` is its start-up
    lines, ``port`` where it listens. ``stop()`` ends it with SIGTERM."""

    def __init__(self, *args: str, cwd: Optional[Path] = None,
                 env: Optional[dict[str, str]] = None) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "framer.cli", "serve", "--port", str(self.port),
                   "--log-level", "warning", *args]
        environment = dict(os.environ, **(env or {}))
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
        for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                           ("AWS_DEFAULT_REGION", "us-east-1")):
            environment.setdefault(key, value)
        self.proc = subprocess.Popen(command, cwd=cwd or ROOT, env=environment,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.banner: list[str] = []
        self.exit_status: Optional[int] = None
        self._wait_banner()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("\0")

    def _wait_banner(self) -> None:
        while True:
            line = self.next_line()
            if line == "\0":
                self.exit_status = self.proc.wait(TIMEOUT)
                return
            self.banner.append(line)
            if re.search(r"^framer: control plane http://", line):
                return

    def next_line(self, timeout: float = TIMEOUT) -> str:
        """The next stderr line ("\\0" at the end of the output)."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise AssertionError("framer serve printed nothing in time") from None

    def wait_for(self, pattern: str) -> str:
        """The next stderr line matching ``pattern``."""
        while True:
            line = self.next_line()
            assert line != "\0", "framer serve exited"
            if re.search(pattern, line):
                return line

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(TIMEOUT)


def run_cli(*args: str, cwd: Optional[Path] = None) -> subprocess.CompletedProcess[str]:
    """``framer serve --template ...`` expected to fail at once."""
    return subprocess.run([sys.executable, "-m", "framer.cli", "serve", "--port", "0", *args],
                          cwd=cwd or ROOT, capture_output=True, text=True, timeout=TIMEOUT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


def write(directory: Path, text: str, name: str = "template.yaml") -> Path:
    """``text`` (dedented) written to ``directory/name``."""
    import textwrap

    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def open_template(directory: Path, text: str, name: str = "template.yaml",
                  **options: object) -> "TemplateGateway":
    """Load a template written from ``text`` (``LoadOptions`` from ``options``)."""
    from framer.template import LoadOptions, TemplateGateway

    return TemplateGateway.open(write(directory, text, name), LoadOptions(**options))  # type: ignore[arg-type]


HANDLERS = '''
import json, os

def echo(event, context):
    return {"statusCode": 200, "body": event.get("body") or ""}

def env(event, context):
    return {"statusCode": 200, "body": json.dumps({k: os.environ.get(k) for k in ("A", "B")})}
'''


def code_dir(directory: Path, name: str = "src") -> Path:
    """A code directory with ``app.echo`` and ``app.env`` handlers."""
    (directory / name).mkdir(exist_ok=True)
    (directory / name / "app.py").write_text(HANDLERS, encoding="utf-8")
    return directory / name
