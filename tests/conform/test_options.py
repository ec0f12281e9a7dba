"""``framer conform``'s options: what is refused (one line, exit 2), the host policy,
--max-time, --junit in rules mode, and the example/expectation forms."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from framer.cli import main
from framer.conform._example import Example, Expectation, accepted_codes, parse_replay
from framer.conform._target import ConformError

from .broken import BrokenServer


def one_line_error(capsys: Any) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("framer: error: "), err
    return err[0]


@pytest.mark.parametrize("extra, fragment", [
    (["--fuzz", "0"], "--fuzz needs at least 1 example, got 0"),
    (["--fuzz", "--replay", "81"], "either --fuzz or --replay"),
    (["--fuzz", "--property", "nope"], "unknown --property 'nope'"),
    (["--fuzz", "--property", "at_limits"], "at_limits and over_limits need --api-gateway"),
    (["--fuzz", "--api-gateway", "--max-frame", "10"], "--api-gateway sets the limits"),
    (["--fuzz", "--max-frame", "0"], "--max-frame must be >= 1 byte, got 0"),
    (["--fuzz", "--max-time", "0"], "--max-time must be > 0 seconds"),
    (["--fuzz", "--concurrency", "0"], "--concurrency must be >= 1"),
    (["--fuzz", "--max-pause", "-1"], "--max-pause must be >= 0"),
    (["--max-frame", "10"], "go with --fuzz"),
    (["--echo"], "--echo goes with --fuzz or --replay"),
    (["--replay", "8x"], "--replay must be hex bytes"),
    (["--replay", "@/nonexistent/replay.hex"], "cannot read /nonexistent/replay.hex"),
    (["--replay", "81", "--expect", "close:99"], "--expect must be 'open' or 'close:CODE"),
    (["--replay", "81", "--expect", "shut"], "--expect must be 'open' or 'close:CODE"),
])
def test_refused_options_are_one_line_and_exit_2(capsys: Any, extra: list[str], fragment: str) -> None:
    assert main(["conform", "ws://127.0.0.1:9/dev", *extra]) == 2
    assert fragment in one_line_error(capsys)


def test_fuzzing_a_host_that_is_not_loopback_needs_allow_remote(capsys: Any) -> None:
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): refused before any connection is tried.
    assert main(["conform", "ws://192.0.2.7:9/", "--fuzz"]) == 2
    assert "192.0.2.7 is not a loopback address" in one_line_error(capsys)
    assert main(["conform", "ws://192.0.2.7:9/", "--replay", "8100", "--allow-remote", "192.0.2.8"]) == 2
    assert "--allow-remote 192.0.2.8 does not name the URL's host 192.0.2.7" in one_line_error(capsys)


def test_loopback_names_are_allowed_without_the_flag(capsys: Any) -> None:
    with BrokenServer(None) as server:
        url = server.url.replace("127.0.0.1", "localhost")
        assert main(["conform", url, "--replay", "8100", "--expect", "close:1002"]) == 0
    assert capsys.readouterr().out.startswith("replay: the server did as expected")


def test_max_time_stops_fuzzing_and_says_so(capsys: Any, tmp_path: Path) -> None:
    with BrokenServer(None) as server:
        status = main(["conform", server.url, "--api-gateway", "--fuzz", "1000000", "--max-time", "1", "--property", "frames",
                       "--db", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0, out
    row = re.search(r"^frames\s+(\d+)\s+[\d.]+\s+pass\s+stopped by --max-time$", out, re.M)
    assert row and 0 < int(row.group(1)) < 1000000, out


def test_rules_mode_writes_junit(capsys: Any, tmp_path: Path) -> None:
    junit = tmp_path / "rules.xml"
    with BrokenServer("accepts-binary") as server:
        assert main(["conform", server.url, "--api-gateway", "--junit", str(junit), "--timeout", "2"]) == 1
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "8" and suite.get("failures") == "1"
    failed = [case for case in suite if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["binary"]
    assert "binary frame -> 1003" in (failed[0].find("failure").text or "")  # type: ignore[union-attr]


def test_replay_forms_round_trip(tmp_path: Path) -> None:
    example = Example(bytes(range(20)), Expectation((1007, 1002)), cuts=(3, 9))
    assert example.replay_hex() == "000102.030405060708.090a0b0c0d0e0f10111213"
    back = parse_replay(example.replay_arg(tmp_path), Expectation.parse(example.expect.to_arg()))
    assert (back.data, back.cuts, back.expect) == (example.data, example.cuts, example.expect)
    big = Example(b"\x81" * 5000, Expectation())
    arg = big.replay_arg(tmp_path)
    assert arg.startswith("@") and Path(arg[1:]).parent == tmp_path
    assert parse_replay(arg, Expectation()).data == big.data
    with pytest.raises(ConformError, match="no bytes"):
        parse_replay("", Expectation())


def test_accepted_codes_per_case() -> None:
    assert accepted_codes(1002, "RSV bits 0x4 set with no extension negotiated") == (1002,)
    assert accepted_codes(1002, "64-bit length with the most significant bit set (header only)") == (1002, 1009)
    assert accepted_codes(1007, "close reason that is not valid UTF-8") == (1007, 1002)
    assert accepted_codes(1007, "text frame with invalid UTF-8 b'\\x80'") == (1007,)
    assert accepted_codes(1009, "text frame of 32769 bytes, one over max_frame_size") == (1009,)
    assert accepted_codes(1003, "binary frame where only text is accepted") == (1003,)
