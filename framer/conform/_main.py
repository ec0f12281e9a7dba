"""``framer conform``'s three modes behind one entry: rules, ``--fuzz`` and ``--replay``.

:class:`Options` is the validated contract the command line fills in;
:func:`main` runs the mode it selects and prints the report.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, TextIO

from framer._limits import Limits

from ._client import Probe
from ._example import Expectation, parse_replay
from ._fuzz import FuzzPlan, Progress, run_properties
from ._report import FuzzReport, format_table, to_json, write_junit
from ._rules import run
from ._target import ConformError, Target, check_host, parse_url
from ._verdict import Judge, run_one

__all__ = ["DEFAULT_DATABASE", "Options", "main"]

DEFAULT_DATABASE = Path(".framer-conform")
_PROGRESS_EVERY = 2.0  # seconds between progress lines when stderr is not a terminal


@dataclass(frozen=True, slots=True)
class Options:
    """Everything ``framer conform`` was asked to do.

    ``fuzz`` (examples per property) selects fuzzing, ``replay`` (hex or
    ``@FILE``, with ``expect``) a single example; neither runs the fixed rules.
    ``max_frame``/``max_message`` give limits for fuzzing instead of
    ``api_gateway``'s (32 KiB / 128 KiB, text only); with neither, the limit
    properties are left out.  ``allow_remote`` names the one non-loopback host
    fuzzing or replay may target.
    """

    url: str
    api_gateway: bool = False
    as_json: bool = False
    timeout: float = 5.0
    fuzz: Optional[int] = None
    echo: bool = False
    max_frame: Optional[int] = None
    max_message: Optional[int] = None
    database: Path = DEFAULT_DATABASE
    junit: Optional[Path] = None
    replay: Optional[str] = None
    expect: str = "open"
    max_time: Optional[float] = None
    max_pause: float = 0.005
    concurrency: int = 1
    properties: tuple[str, ...] = ()
    allow_remote: Optional[str] = None

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ConformError(f"--timeout must be > 0 seconds, got {self.timeout!r}")
        if self.fuzz is not None and self.replay is not None:
            raise ConformError("give either --fuzz or --replay, not both")
        if self.api_gateway and (self.max_frame is not None or self.max_message is not None):
            raise ConformError("--api-gateway sets the limits: leave out --max-frame/--max-message")
        for name in ("max_frame", "max_message"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConformError(f"--{name.replace('_', '-')} must be >= 1 byte, got {value}")
        if self.fuzz is None:
            if self.properties or self.max_frame is not None or self.max_message is not None:
                raise ConformError("--property, --max-frame and --max-message go with --fuzz")
            if self.echo and self.replay is None:
                raise ConformError("--echo goes with --fuzz or --replay")

    def limits(self) -> Optional[Limits]:
        if self.api_gateway:
            return Limits.api_gateway()
        if self.max_frame is None and self.max_message is None:
            return None
        frame = self.max_frame or self.max_message
        message = self.max_message or self.max_frame
        assert frame is not None and message is not None
        return Limits.general(frame, message)


class _ProgressLine:
    """``fuzz: N examples, F failures, S s`` on stderr: rewritten in place on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._last = 0.0
        self._shown = ""

    def __call__(self, examples: int, failures: int, elapsed: float) -> None:
        if elapsed - self._last < (0.2 if self._tty else _PROGRESS_EVERY):
            return
        self._last = elapsed
        self._shown = f"fuzz: {examples} examples, {failures} failures, {elapsed:.1f} s"
        self._stream.write(f"\r{self._shown}" if self._tty else f"{self._shown}\n")
        self._stream.flush()

    def done(self, examples: int, failures: int, elapsed: float) -> None:
        end = "\r" if self._tty else ""
        self._stream.write(f"{end}fuzz: {examples} examples, {failures} failures, {elapsed:.1f} s (done)\n")


async def _reachable(target: Target, timeout: float) -> None:
    """One handshake before fuzzing: :class:`ConformError` (exit 2) if the server is not there."""
    probe = await Probe.open(target, timeout)
    await probe.finish(min(timeout, 1.0))


def _fuzz(options: Options, target: Target) -> int:
    assert options.fuzz is not None
    plan = FuzzPlan(
        examples=options.fuzz,
        limits=options.limits(),
        database=options.database,
        max_pause=options.max_pause,
        max_time=options.max_time,
        concurrency=options.concurrency,
        only=options.properties,
    )
    asyncio.run(_reachable(target, options.timeout))
    line = _ProgressLine(sys.stderr)
    progress = Progress(line)
    started = time.monotonic()
    results = run_properties(plan, Judge(target, options.timeout, options.echo), progress)
    line.done(progress.examples, progress.failures, time.monotonic() - started)
    report = FuzzReport(options.url, results, options.echo, options.timeout, options.database)
    if options.junit is not None:
        report.write_junit(options.junit)
    if options.as_json:
        print(report.to_json())
    else:
        print(f"framer conform --fuzz {plan.examples} {options.url} ({time.monotonic() - started:.1f} s)")
        print(report.table())
    return 0 if report.ok else 1


def _replay(options: Options, target: Target) -> int:
    assert options.replay is not None
    example = parse_replay(options.replay, Expectation.parse(options.expect))
    seen = run_one(Judge(target, options.timeout, options.echo), example)
    if seen is None:
        print(f"replay: the server did as expected ({example.expect.describe(options.echo)})")
        return 0
    print(f"replay: FAIL: {seen}")
    print(f"expected: {example.expect.describe(options.echo)}")
    return 1


def _rules(options: Options) -> int:
    started = time.monotonic()
    results = asyncio.run(run(options.url, api_gateway=options.api_gateway, timeout=options.timeout))
    if options.junit is not None:
        write_junit(options.junit, f"framer conform {options.url}",
                    [(r.rule, 0.0, None if r.passed else (r.seen, f"expected {r.expected}; {r.seen}")) for r in results])
    if options.as_json:
        print(to_json(options.url, results))
    else:
        print(f"framer conform {options.url} ({time.monotonic() - started:.1f} s)")
        print(format_table(results))
    return 0 if all(r.passed for r in results) else 1


def main(options: Options) -> int:
    """Run what ``options`` asks and print the report; 0 only if everything held, 1 if not.

    :class:`ConformError` propagates (the CLI prints it as one line, exit 2).
    """
    target = parse_url(options.url)
    if options.fuzz is None and options.replay is None:
        return _rules(options)
    check_host(target, options.allow_remote)
    return _fuzz(options, target) if options.fuzz is not None else _replay(options, target)
