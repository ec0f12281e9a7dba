"""Reports: the human table, ``--json`` and ``--junit`` for rules and fuzzed properties."""

from __future__ import annotations

import json
import shlex
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from framer._wire import describe_frames

from ._fuzz import Failure, PropertyResult
from ._rules import RuleResult

__all__ = ["FuzzReport", "format_table", "to_json", "write_junit"]

_HEX_PREVIEW = 96
_MAX_FRAME_LINES = 12


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Fixed-width columns; the last column is not padded."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in [header, *rows]]


def format_table(results: list[RuleResult]) -> str:
    """The rules' report as a fixed-width table, one row per rule."""
    rows = [(r.rule, r.expected, "pass" if r.passed else "FAIL", r.seen) for r in results]
    lines = _table(("RULE", "EXPECTED", "RESULT", "SEEN"), rows)
    lines.append(f"{sum(r.passed for r in results)}/{len(results)} rules pass")
    return "\n".join(lines)


def to_json(url: str, results: list[RuleResult]) -> str:
    """The rules' report for machines: the URL, overall ``ok`` and one object per rule."""
    return json.dumps(
        {"url": url, "ok": all(r.passed for r in results), "rules": [asdict(r) for r in results]},
        indent=2,
    )


@dataclass(frozen=True, slots=True)
class FuzzReport:
    """A fuzzing run's results, with what a failure's replay command needs."""

    url: str
    results: list[PropertyResult]
    echo: bool
    timeout: float
    database: Path

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results)

    def replay_command(self, failure: Failure) -> str:
        argv = ["framer", "conform", self.url, "--replay", failure.example.replay_arg(self.database),
                "--expect", failure.example.expect.to_arg(), "--timeout", f"{self.timeout:g}"]
        if self.echo:
            argv.append("--echo")
        return shlex.join(argv)

    def _failure_lines(self, name: str, failure: Failure) -> list[str]:
        example = failure.example
        hexed = example.data.hex()
        frames = describe_frames(example.data)
        if len(frames) > _MAX_FRAME_LINES:
            frames = frames[:_MAX_FRAME_LINES] + [f"... {len(frames) - _MAX_FRAME_LINES} more frames"]
        pieces = len(example.cuts) + 1
        lines = [
            f"FAIL {name}" + (f": {example.label}" if example.label else ""),
            f"  sent:     {len(example.data)} bytes in {pieces} piece{'s' * (pieces > 1)}: "
            + (hexed if len(hexed) <= _HEX_PREVIEW else f"{hexed[:_HEX_PREVIEW]}..."),
            "  frames:",
            *(f"    {line}" for line in frames),
            f"  expected: {example.expect.describe(self.echo)}",
            f"  server:   {failure.seen}",
            f"  replay:   {self.replay_command(failure)}",
        ]
        if failure.flaky:
            lines.append("  (this failure did not repeat on every run, so it may not be minimal)")
        return lines

    def table(self) -> str:
        rows = []
        for r in self.results:
            result = "pass" if r.passed else "FAIL"
            note = "stopped by --max-time" if r.stopped else ""
            if r.failure is not None:
                note = f"{len(r.failure.example.data)}-byte example: {r.failure.seen}"
            rows.append((r.name, str(r.examples), f"{r.seconds:.1f}", result, note))
        lines = _table(("PROPERTY", "EXAMPLES", "SECONDS", "RESULT", "SEEN"), rows)
        lines.append(f"{sum(r.passed for r in self.results)}/{len(self.results)} properties hold")
        for r in self.results:
            if r.failure is not None:
                lines += ["", *self._failure_lines(r.name, r.failure)]
        return "\n".join(lines)

    def _failure_json(self, failure: Optional[Failure]) -> Optional[dict[str, Any]]:
        if failure is None:
            return None
        example = failure.example
        return {
            "label": example.label,
            "hex": example.replay_hex(),
            "frames": describe_frames(example.data),
            "expected": example.expect.describe(self.echo),
            "expect": example.expect.to_arg(),
            "seen": failure.seen,
            "flaky": failure.flaky,
            "replay": self.replay_command(failure),
        }

    def to_json(self) -> str:
        return json.dumps({
            "url": self.url,
            "ok": self.ok,
            "properties": [
                {"property": r.name, "examples": r.examples, "seconds": round(r.seconds, 3), "passed": r.passed,
                 "stopped": r.stopped, "failure": self._failure_json(r.failure)}
                for r in self.results
            ],
        }, indent=2)

    def write_junit(self, path: Path) -> None:
        cases = [(r.name, r.seconds, None if r.failure is None else (
            r.failure.seen, "\n".join(self._failure_lines(r.name, r.failure)))) for r in self.results]
        write_junit(path, f"framer conform --fuzz {self.url}", cases)


def write_junit(path: Path, suite: str, cases: Sequence[tuple[str, float, Optional[tuple[str, str]]]]) -> None:
    """A JUnit XML file: one test case per (name, seconds, failure message and text or None)."""
    failures = sum(case[2] is not None for case in cases)
    root = ET.Element("testsuite", name=suite, tests=str(len(cases)), failures=str(failures),
                      time=f"{sum(case[1] for case in cases):.3f}")
    for name, seconds, failed in cases:
        case = ET.SubElement(root, "testcase", classname="framer.conform", name=name, time=f"{seconds:.3f}")
        if failed is not None:
            message, text = failed
            ET.SubElement(case, "failure", message=message).text = text
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
