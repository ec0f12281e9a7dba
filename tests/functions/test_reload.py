"""--reload: an edit under a function's code directory replaces its workers
(or re-imports an in-process handler) at the next invocation."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import pytest

from framer.functions import InProcessRunner, Returned, RunnerOptions, WorkerRunner
from framer.functions._watch import CodeWatcher, snapshot

from .conftest import WriteCode

VERSION_1 = "import os\ndef handler(event, context):\n    return ['v1', os.getpid()]\n"
VERSION_2 = "import os\ndef handler(event, context):\n    return ['v2-edited', os.getpid()]\n"


@pytest.mark.parametrize("runner_class", [WorkerRunner, InProcessRunner])
def test_edit_takes_effect_at_next_invocation(make_function: WriteCode, runner_class: Any,
                                              caplog: pytest.LogCaptureFixture) -> None:
    fn = make_function("reloaded", VERSION_1)
    untouched = make_function("untouched", "import os\ndef handler(e, c):\n    return os.getpid()\n")
    caplog.set_level(logging.INFO, logger="framer.functions")

    async def main() -> tuple[Any, ...]:
        async with runner_class(RunnerOptions(reload=True, reload_interval_s=0.05)) as runner:
            first = await runner.invoke(fn, {}, request_id="a")
            other = await runner.invoke(untouched, {}, request_id="o1")
            (fn.code_dir / "app.py").write_text(VERSION_2)
            while not any("Reloading" in r.getMessage() for r in caplog.records):
                await asyncio.sleep(0.05)
            second = await runner.invoke(fn, {}, request_id="b")
            other_again = await runner.invoke(untouched, {}, request_id="o2")
            return first, second, other, other_again

    first, second, other, other_again = asyncio.run(main())
    assert first.value[0] == "v1" and second.value[0] == "v2-edited"
    if runner_class is WorkerRunner:
        assert first.value[1] != second.value[1]  # a new worker
    assert other == other_again  # the other function was not reloaded
    reloads = [r.getMessage() for r in caplog.records if "Reloading" in r.getMessage()]
    assert reloads == [f"Reloading function 'reloaded': {fn.code_dir.resolve() / 'app.py'} changed"]


def test_watcher_sees_new_removed_and_edited_files_but_not_caches(tmp_path: Any) -> None:
    (tmp_path / "app.py").write_text("a")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / ".git").mkdir()
    before = snapshot(tmp_path)
    assert set(before) == {str(tmp_path / "app.py")}
    (tmp_path / "__pycache__" / "app.cpython.pyc").write_text("x")
    (tmp_path / ".git" / "index").write_text("x")
    assert snapshot(tmp_path) == before
    changes: list[tuple[str, str]] = []

    async def main() -> None:
        watcher = CodeWatcher(lambda name, path: changes.append((name, path)), interval_s=0.02)
        watcher.watch("f", tmp_path)
        (tmp_path / "lib").mkdir()
        (tmp_path / "lib" / "new.py").write_text("n")
        while not changes:
            await asyncio.sleep(0.02)
        os.remove(tmp_path / "app.py")
        while len(changes) < 2:
            await asyncio.sleep(0.02)
        await watcher.aclose()

    asyncio.run(main())
    assert changes == [("f", str(tmp_path / "lib" / "new.py")), ("f", str(tmp_path / "app.py"))]
    with pytest.raises(ValueError, match="reload_interval_s must be positive, not 0"):
        RunnerOptions(reload=True, reload_interval_s=0)
