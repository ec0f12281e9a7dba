"""``--fuzz``: framer.testing's strategies sent to a live server, failures shrunk by hypothesis.

Each property draws an :class:`~framer.conform._example.Example` from one
strategy (``frames``, ``messages``, ``at_limits``, ``invalid_frames``,
``over_limits``), cuts its bytes into up to 5 pieces with pauses up to
``max_pause`` seconds, and runs it on a fresh connection through
:func:`~framer.conform._verdict.judge`.  Hypothesis runs each property as a
``@given`` test; a failing example is shrunk and stored in
``DB/PROPERTY/`` (so it is tried first next time), then reported as a
:class:`Failure`.  Needs hypothesis (``pip install 'framer[testing]'``).
"""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from framer._limits import Limits

from ._example import Example, Expectation, accepted_codes
from ._target import ConformError
from ._verdict import Judge, judge

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["Failure", "FuzzPlan", "Progress", "PropertyResult", "property_names", "run_properties"]

PROPERTIES = ("frames", "messages", "at_limits", "invalid_frames", "over_limits")
_LIMITED = ("at_limits", "over_limits")
_PAUSE_STEPS = 4


@dataclass(frozen=True, slots=True)
class Failure:
    """The minimal failing example and what the server did with it."""

    example: Example
    seen: str
    flaky: bool = False


@dataclass(frozen=True, slots=True)
class PropertyResult:
    """One property's run: examples tried, seconds, and its failure if any."""

    name: str
    examples: int
    seconds: float
    failure: Optional[Failure] = None
    stopped: bool = False  # --max-time ran out before every example ran

    @property
    def passed(self) -> bool:
        return self.failure is None


@dataclass(frozen=True, slots=True)
class FuzzPlan:
    """What to run: examples per property, limits (None: RFC 6455 only), pacing and bounds."""

    examples: int
    limits: Optional[Limits]
    database: Path
    max_pause: float = 0.005
    max_time: Optional[float] = None
    concurrency: int = 1
    only: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.examples < 1:
            raise ConformError(f"--fuzz needs at least 1 example, got {self.examples}")
        if self.max_pause < 0:
            raise ConformError(f"--max-pause must be >= 0 seconds, got {self.max_pause}")
        if self.max_time is not None and not self.max_time > 0:
            raise ConformError(f"--max-time must be > 0 seconds, got {self.max_time}")
        if self.concurrency < 1:
            raise ConformError(f"--concurrency must be >= 1, got {self.concurrency}")
        unknown = [name for name in self.only if name not in PROPERTIES]
        if unknown:
            raise ConformError(f"unknown --property {unknown[0]!r}; choose from {', '.join(PROPERTIES)}")
        if self.limits is None and any(name in _LIMITED for name in self.only):
            raise ConformError("at_limits and over_limits need --api-gateway or --max-frame/--max-message")


def property_names(plan: FuzzPlan) -> list[str]:
    """The properties ``plan`` runs, in order: limit properties only with limits."""
    names = [n for n in PROPERTIES if plan.limits is not None or n not in _LIMITED]
    return [n for n in names if not plan.only or n in plan.only]


class Progress:
    """Examples done and failures so far, shared by the running properties."""

    def __init__(self, report: Callable[[int, int, float], None]) -> None:
        self._report = report
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self.examples = 0
        self.failures = 0

    def example(self, failed: bool) -> None:
        with self._lock:
            self.examples += 1
            self.failures += failed
            self._report(self.examples, self.failures, time.monotonic() - self._started)


class _Counterexample(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.seen)
        self.failure = failure


class _OutOfTime(BaseException):
    """Raised inside a hypothesis test to stop it when --max-time runs out."""


def _strategy(name: str, plan: FuzzPlan) -> SearchStrategy[Example]:
    from hypothesis import strategies as st

    from framer import testing

    limits = plan.limits
    if name == "frames":
        valid = testing.frames(limits=limits)
    elif name == "messages":
        valid = testing.messages(limits=limits)
    elif name == "at_limits":
        assert limits is not None
        valid = testing.at_limits(limits)
    elif name == "invalid_frames":
        invalid = testing.invalid_frames(limits=limits, non_minimal_lengths=False)
    else:
        assert limits is not None
        invalid = testing.over_limits(limits)
    if name in ("frames", "messages", "at_limits"):
        drawn = valid.map(lambda t: (t.data, Expectation(), ""))
    else:
        drawn = invalid.map(lambda bad: (bad.data, Expectation(accepted_codes(bad.code, bad.why)), bad.why))

    @st.composite
    def examples(draw: st.DrawFn) -> Example:
        data, expect, label = draw(drawn)
        cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(data) - 1)), max_size=4))) - {len(data)})
        steps = draw(st.lists(st.integers(0, _PAUSE_STEPS), min_size=len(cuts), max_size=len(cuts)))
        pauses = tuple(plan.max_pause * step / _PAUSE_STEPS for step in steps)
        return Example(data, expect, tuple(cuts), pauses, label)

    return examples()


def _run_property(name: str, plan: FuzzPlan, how: Judge, progress: Progress, deadline: Optional[float]) -> PropertyResult:
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis.database import DirectoryBasedExampleDatabase
    from hypothesis.errors import Flaky

    loop = asyncio.new_event_loop()
    failures: list[Failure] = []
    count = 0
    started = time.monotonic()

    @settings(
        max_examples=plan.examples,
        database=DirectoryBasedExampleDatabase(plan.database / name),
        deadline=None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(_strategy(name, plan))
    def holds(example: Example) -> None:
        nonlocal count
        if deadline is not None and time.monotonic() > deadline:
            raise _OutOfTime
        count += 1
        seen = loop.run_until_complete(judge(how, example))
        progress.example(seen is not None)
        if seen is not None:
            failure = Failure(example, seen)
            failures.append(failure)
            raise _Counterexample(failure)

    result = PropertyResult(name, 0, 0.0)
    try:
        with warnings.catch_warnings():
            # Hypothesis pretty-prints a failing example's dataclass field by field.
            warnings.filterwarnings("ignore", "Generating overly large repr")
            holds()
    except _Counterexample as exc:
        result = PropertyResult(name, count, 0.0, exc.failure)
    except (_OutOfTime, Flaky) as exc:
        # Out of time (maybe while shrinking), or a failure that did not repeat
        # on every run (the network, or the server's state): the smallest seen.
        flaky = isinstance(exc, Flaky)
        smallest = min(failures, key=lambda f: len(f.example.data), default=None)
        failure = None if smallest is None else Failure(smallest.example, smallest.seen, flaky)
        result = PropertyResult(name, count, 0.0, failure, stopped=not flaky)
    else:
        result = PropertyResult(name, count, 0.0)
    finally:
        loop.close()
    return PropertyResult(result.name, count, time.monotonic() - started, result.failure, result.stopped)


def run_properties(plan: FuzzPlan, how: Judge, progress: Progress) -> list[PropertyResult]:
    """Run every property of ``plan``, ``plan.concurrency`` at a time, in order."""
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise ConformError("--fuzz needs hypothesis: pip install 'framer[testing]'") from None
    deadline = None if plan.max_time is None else time.monotonic() + plan.max_time
    names = property_names(plan)
    if plan.concurrency == 1:
        return [_run_property(name, plan, how, progress, deadline) for name in names]
    with ThreadPoolExecutor(plan.concurrency) as pool:
        return list(pool.map(lambda name: _run_property(name, plan, how, progress, deadline), names))
