"""``framer conform --fuzz``: real servers over 127.0.0.1, failures shrunk and replayed.

The servers: ``framer serve --demo`` in its own process, websockets and
aiohttp echo servers, and tests/conform/broken.py with one defect each.  Every
replay command a report prints is run as a real ``framer`` process.

Shrinking is a local search: where one defect has several smallest forms
(invalid UTF-8 in one frame, or split over two), the form a run ends in
depends on the example hypothesis met first, which is random.  The tests
that check a shrunk example run derandomized (``derandomized``): the same
examples and the same shrink on every run, however loaded the machine.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import settings

from framer._wire import split_frames
from framer.cli import main

from .broken import BrokenServer
from .peers import AiohttpEcho, WebsocketsEcho

ROOT = Path(__file__).resolve().parents[2]
FRAMER = [sys.executable, "-m", "framer.cli"]


def fuzz(capsys: Any, url: str, *options: str) -> tuple[int, dict[str, Any]]:
    """Run ``framer conform URL --fuzz ... --json`` in-process: exit status and report by property."""
    status = main(["conform", url, "--json", *options])
    report = json.loads(capsys.readouterr().out)
    return status, {p["property"]: p for p in report["properties"]}


def replay(command: str) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[:2] == ["framer", "conform"]
    return subprocess.run(FRAMER + argv[1:], capture_output=True, text=True, timeout=60, cwd=ROOT)


@pytest.fixture
def derandomized() -> Iterator[None]:
    """Hypothesis seeded from the property's test function (``derandomize``) while the test runs.

    ``framer conform --fuzz`` gives each property's ``@settings`` no
    ``derandomize``, so it comes from the loaded profile; the example database
    is still used (it is given explicitly).
    """
    previous = settings.get_current_profile_name()
    settings.register_profile("conform-derandomized", settings.get_profile(previous), derandomize=True)
    settings.load_profile("conform-derandomized")
    try:
        yield
    finally:
        settings.load_profile(previous)


def frames_of(failure: dict[str, Any]) -> list[tuple[bool, int, int]]:
    """(FIN, opcode, length) of each frame of a failure's minimal example."""
    frames, rest = split_frames(bytes.fromhex(failure["hex"].replace(".", "")))
    assert rest == b""
    return [(f.fin, f.opcode, f.length) for f in frames]


# -- framer's own demo, in its own process ------------------------------------------


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    server = subprocess.Popen(FRAMER + ["serve", "--demo", "--port", "0", "--log-level", "info"],
                              stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert server.stderr is not None
        port = None
        while port is None:
            line = server.stderr.readline()
            assert line, "framer serve --demo did not start"
            found = re.search(r"serving on ws://127\.0\.0\.1:(\d+)/", line)
            port = int(found.group(1)) if found else None
        # Keep reading its log, or the pipe fills and the server blocks on its next line.
        threading.Thread(target=server.stderr.read, daemon=True).start()
        yield f"ws://127.0.0.1:{port}/dev"
    finally:
        server.terminate()
        server.wait(15)


def test_demo_holds_every_property(demo_url: str, tmp_path: Path) -> None:
    """What CI runs (with N = 2000): every property, JSON and JUnit, progress on stderr."""
    junit = tmp_path / "conform.xml"
    result = subprocess.run(
        FRAMER + ["conform", demo_url, "--api-gateway", "--fuzz", "40", "--json", "--junit", str(junit),
                  "--db", str(tmp_path / "db")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert [(p["property"], p["examples"], p["passed"]) for p in report["properties"]] == [
        (name, 40, True) for name in ("frames", "messages", "at_limits", "invalid_frames", "over_limits")
    ]
    assert re.search(r"^fuzz: 200 examples, 0 failures, [\d.]+ s \(done\)$", result.stderr, re.M), result.stderr
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "5" and suite.get("failures") == "0"
    assert [case.get("name") for case in suite] == ["frames", "messages", "at_limits", "invalid_frames", "over_limits"]


# -- deliberately broken servers: found, shrunk, replayed ------------------------------


@pytest.mark.usefixtures("derandomized")
def test_drop_on_a_ping_between_fragments_is_shrunk_to_three_empty_frames(capsys: Any, tmp_path: Path) -> None:
    with BrokenServer("drops-on-ping-in-message") as server:
        status, props = fuzz(capsys, server.url, "--api-gateway", "--echo", "--fuzz", "500",
                             "--property", "messages", "--db", str(tmp_path), "--timeout", "2")
        assert status == 1
        failure = props["messages"]["failure"]
        assert failure["seen"].startswith("connection dropped without a close frame")
        # The smallest message with a ping inside: empty first fragment, empty ping, empty last fragment.
        assert frames_of(failure) == [(False, 0x1, 0), (True, 0x9, 0), (True, 0x0, 0)]
        again = replay(failure["replay"])
    assert again.returncode == 1, again.stdout + again.stderr
    assert again.stdout.startswith("replay: FAIL: connection dropped without a close frame")


@pytest.mark.usefixtures("derandomized")
def test_accepting_a_32769_byte_frame_is_shrunk_to_that_frame(capsys: Any, tmp_path: Path) -> None:
    with BrokenServer("accepts-big-frames") as server:
        status, props = fuzz(capsys, server.url, "--api-gateway", "--fuzz", "500",
                             "--property", "over_limits", "--db", str(tmp_path), "--timeout", "2")
        assert status == 1
        failure = props["over_limits"]["failure"]
        assert failure["label"] == "text frame of 32769 bytes, one over max_frame_size", failure
        assert frames_of(failure) == [(True, 0x1, 32769)]
        assert failure["expect"] == "close:1009"
        # 65 KiB of hex is too long for one argument: the replay reads it from the database directory.
        assert re.search(r"--replay @\S+\.hex --expect close:1009", failure["replay"])
        again = replay(failure["replay"])
    assert again.returncode == 1, again.stdout + again.stderr
    assert again.stdout.startswith("replay: FAIL: replied to the invalid frame: sent it back (text message of 32769")


@pytest.mark.usefixtures("derandomized")
def test_echoing_invalid_utf8_is_shrunk_to_one_bad_byte(capsys: Any, tmp_path: Path) -> None:
    """Three kinds of example carry invalid UTF-8 (one bad text frame; a message in two
    fragments with a bad or a truncated sequence), so a random run may end in either
    smallest form: one frame of one bad byte, or an empty first fragment and a
    one-byte last one.  Derandomized, the run is the same every time; the checks
    hold for both forms."""
    with BrokenServer("echoes-invalid-utf8") as server:
        status, props = fuzz(capsys, server.url, "--api-gateway", "--fuzz", "500",
                             "--property", "invalid_frames", "--db", str(tmp_path), "--timeout", "10")
        assert status == 1
        failure = props["invalid_frames"]["failure"]
        assert failure["seen"].startswith("echoed invalid UTF-8 (text message of 1 bytes")
        assert frames_of(failure) in ([(True, 0x1, 1)], [(False, 0x1, 0), (True, 0x0, 1)])
        assert failure["expect"] == "close:1007"
        again = replay(failure["replay"])
        assert again.returncode == 1, again.stdout + again.stderr
        assert again.stdout.startswith("replay: FAIL: echoed invalid UTF-8")
        # The database keeps the minimal example: the next run tries it first and stops at once.
        _, props = fuzz(capsys, server.url, "--api-gateway", "--fuzz", "500",
                        "--property", "invalid_frames", "--db", str(tmp_path), "--timeout", "10")
    assert props["invalid_frames"]["failure"]["hex"] == failure["hex"]
    assert props["invalid_frames"]["examples"] <= 5


def test_replay_of_an_example_the_server_handles_exits_0(tmp_path: Path) -> None:
    with BrokenServer(None) as server:
        result = subprocess.run(FRAMER + ["conform", server.url, "--replay", "81810000000080", "--expect", "close:1007"],
                                capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("replay: the server did as expected")


# -- real peers: websockets and aiohttp ------------------------------------------------


@pytest.mark.parametrize("peer", [WebsocketsEcho, AiohttpEcho], ids=["websockets", "aiohttp"])
def test_api_gateway_limits_find_the_missing_32_kib_frame_limit(peer: Any, capsys: Any, tmp_path: Path) -> None:
    with peer() as server:
        status, props = fuzz(capsys, server.url, "--api-gateway", "--fuzz",
                             "--property", "over_limits", "--db", str(tmp_path))
    assert status == 1
    failure = props["over_limits"]["failure"]
    assert frames_of(failure) == [(True, 0x1, 32769)]
    assert failure["seen"].startswith("replied to the invalid frame: sent it back (text message of 32769 bytes")


@pytest.mark.parametrize("peer", [WebsocketsEcho, AiohttpEcho], ids=["websockets", "aiohttp"])
def test_general_limits_valid_traffic_is_echoed(peer: Any, capsys: Any, tmp_path: Path) -> None:
    with peer() as server:
        status, props = fuzz(capsys, server.url, "--echo", "--fuzz", "60", "--max-frame", "65536",
                             "--max-message", "262144", "--property", "frames", "--property", "messages",
                             "--property", "at_limits", "--db", str(tmp_path))
    assert status == 0, props
    assert [(name, p["examples"]) for name, p in props.items()] == [("frames", 60), ("messages", 60), ("at_limits", 60)]


def test_websockets_refuses_every_invalid_frame_as_rfc_6455_says(capsys: Any, tmp_path: Path) -> None:
    with WebsocketsEcho() as server:
        status, props = fuzz(capsys, server.url, "--echo", "--fuzz", "150", "--property", "invalid_frames",
                             "--db", str(tmp_path))
    assert status == 0, props["invalid_frames"]["failure"]


@pytest.mark.usefixtures("derandomized")
def test_aiohttp_takes_unmasked_client_frames(capsys: Any, tmp_path: Path) -> None:
    """aiohttp's deviations from RFC 6455 found here: it echoes an unmasked
    frame (section 5.1), and answers a close frame with code 5000 (no code
    of section 7.4) or 1006 (which section 7.4.1 says must not be sent; it
    is in aiohttp's WSCloseCode) with 1000 instead of failing the connection.
    A random run may meet any of them first; each is shrunk to its smallest
    example."""
    with AiohttpEcho() as server:
        status, props = fuzz(capsys, server.url, "--echo", "--fuzz", "300", "--property", "invalid_frames",
                             "--db", str(tmp_path))
    assert status == 1
    failure = props["invalid_frames"]["failure"]
    known = {
        "unmasked frame from a client":
            ("8100", "replied to the invalid frame: sent it back (text message of 0 bytes '')"),
        "close frame with invalid code 5000": (None, "closed with 1000"),
        "close frame with invalid code 1006": (None, "closed with 1000"),
    }
    assert failure["label"] in known
    hex_, seen = known[failure["label"]]
    if hex_ is not None:
        assert failure["hex"] == hex_
    assert failure["seen"].startswith(seen)
