"""Run uvicorn's own WebSocket tests against framer's protocol class.

uvicorn's tests are not ours to commit: this script downloads the source
distribution of the pinned release, installs ``suite_conftest.py`` as its
``tests/protocols/conftest.py`` (which adds ``framer.uvicorn:FramerWSProtocol``
to the ``ws_protocol_cls`` fixture next to uvicorn's wsproto and
websockets-sansio classes) and runs ``tests/protocols/test_websocket.py`` with
every HTTP protocol class it is parametrized with.

It prints the pass count per WebSocket class and exits non-zero when a test
fails against framer's class other than the ones listed in ``KNOWN`` with the
reason they cannot pass, or when one of those starts passing.

    python tests/uvicorn/run_uvicorn_suite.py [--workdir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

#: The uvicorn release whose tests are run; the same pin as framer[uvicorn].
UVICORN_VERSION = "0.54.0"

HERE = Path(__file__).resolve().parent

#: Tests of uvicorn's suite that cannot pass against FramerWSProtocol, and why
#: (the names without their HTTP-class parameter).
KNOWN = {
    "test_server_keepalive_ping_pong[framer": (
        "asserts isinstance(protocol, (WSProtocol, WebSocketsSansIOProtocol)), "
        "uvicorn's own two classes"
    ),
    "test_server_keepalive_disabled[framer": (
        "asserts isinstance(protocol, (WSProtocol, WebSocketsSansIOProtocol)), "
        "uvicorn's own two classes"
    ),
    "test_close_resumes_reads_paused_on_an_unconsumed_message[framer": (
        "expects reading paused after one unread message; FramerWSProtocol honours "
        "Config.ws_max_queue (32 by default) and pauses when that many wait "
        "(test_uvicorn_protocol.py checks that closing resumes reads paused at ws_max_queue)"
    ),
}


def _download(workdir: Path) -> Path:
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:",
            "--no-deps", "--dest", str(workdir), f"uvicorn=={UVICORN_VERSION}",
        ],
        check=True,
    )
    sdist = workdir / f"uvicorn-{UVICORN_VERSION}.tar.gz"
    with tarfile.open(sdist) as archive:
        archive.extractall(workdir, filter="data")
    return workdir / f"uvicorn-{UVICORN_VERSION}"


def _ws_class(name: str) -> str:
    params = name.partition("[")[2].rstrip("]").split("-")
    for candidate in ("framer", "wsproto", "websockets"):
        if candidate in params:
            return "websockets-sansio" if candidate == "websockets" else candidate
    return "(not parametrized by ws class)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where to unpack (default: a temporary dir)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="uvicorn-suite-"))
    workdir.mkdir(parents=True, exist_ok=True)
    source = _download(workdir)
    shutil.copy(HERE / "suite_conftest.py", source / "tests" / "protocols" / "conftest.py")
    report = workdir / "report.xml"
    subprocess.run(
        [
            sys.executable, "-m", "pytest", "tests/protocols/test_websocket.py",
            "-p", "no:cacheprovider", "-o", "addopts=", "-q", f"--junitxml={report}",
        ],
        cwd=source,
        check=False,
    )
    counts: dict[str, Counter[str]] = {}
    unexpected: list[str] = []
    still_known = dict.fromkeys(KNOWN, 0)
    for case in ET.parse(report).iter("testcase"):
        name = case.get("name", "")
        if case.find("skipped") is not None:
            outcome = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        else:
            outcome = "passed"
        counts.setdefault(_ws_class(name), Counter())[outcome] += 1
        known = next((key for key in KNOWN if name.startswith(key)), None)
        if known is not None:
            if outcome == "passed":
                unexpected.append(f"{name}: listed as failing but passed")
            still_known[known] += 1
        elif outcome == "failed" and _ws_class(name) == "framer":
            unexpected.append(f"{name}: failed")
    print(f"\nuvicorn {UVICORN_VERSION} tests/protocols/test_websocket.py")
    for ws_class, counter in sorted(counts.items()):
        total = sum(counter.values())
        print(
            f"  {ws_class:32} {counter['passed']:3} passed, {counter['failed']:3} failed, "
            f"{counter['skipped']:3} skipped of {total}"
        )
    print("  cannot pass against framer:")
    for key, reason in KNOWN.items():
        print(f"    {key}-*]: {reason}")
    for line in unexpected:
        print(f"UNEXPECTED {line}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    raise SystemExit(main())
