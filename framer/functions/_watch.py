"""``--reload``: notice a change under a function's code directory, by polling mtimes.

No new dependency: every ``interval_s`` the watcher walks each watched code
directory (in a thread, so the event loop keeps serving) and compares each
file's modification time and size with the last walk.  Directories no
handler imports from are skipped (``__pycache__``, ``.git``, virtualenvs,
``node_modules``, hidden ones), as are compiled ``.pyc`` files.  A change
calls ``on_change(function_name, path)`` once per walk and function, after
removing the changed files' cached bytecode.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from pathlib import Path
from typing import Callable, Optional

__all__ = ["CodeWatcher", "snapshot"]

_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "venv", "site-packages"})

Snapshot = dict[str, tuple[int, int]]


def snapshot(root: Path) -> Snapshot:
    """``{path: (mtime_ns, size)}`` of the files under ``root``."""
    files: Snapshot = {}
    stack = [str(root)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:  # removed while walking, or unreadable: seen on the next walk
            continue
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not name.startswith(".") and name not in _SKIP_DIRS:
                        stack.append(entry.path)
                elif not name.endswith(".pyc"):
                    stat = entry.stat()
                    files[entry.path] = (stat.st_mtime_ns, stat.st_size)
            except OSError:
                continue
    return files


def _first_difference(old: Snapshot, new: Snapshot) -> Optional[str]:
    for path, stamp in new.items():
        if old.get(path) != stamp:
            return path
    for path in old:
        if path not in new:
            return path
    return None


def _forget_bytecode(old: Snapshot, new: Snapshot) -> None:
    """Remove the cached bytecode of each changed ``.py`` file: Python checks a
    ``.pyc`` against its source's mtime in whole seconds and its size, so an
    edit within the second that keeps the size would import the old code."""
    for path, stamp in new.items():
        if path.endswith(".py") and old.get(path) != stamp:
            try:
                os.unlink(importlib.util.cache_from_source(path))
            except (OSError, NotImplementedError, ValueError):
                pass


class CodeWatcher:
    """Polls the code directories of the functions it is told to watch."""

    def __init__(self, on_change: Callable[[str, str], None], *, interval_s: float = 1.0) -> None:
        self._on_change = on_change
        self._interval_s = interval_s
        self._watched: dict[str, tuple[Path, Snapshot]] = {}
        self._task: Optional[asyncio.Task[None]] = None

    def watch(self, function_name: str, code_dir: Path) -> None:
        """Start watching (a no-op for a function already watched at ``code_dir``);
        the first walk happens now, so an edit right after is seen."""
        known = self._watched.get(function_name)
        if known is not None and known[0] == code_dir:
            return
        self._watched[function_name] = (code_dir, snapshot(code_dir))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            for name, (root, old) in list(self._watched.items()):
                new = await asyncio.to_thread(snapshot, root)
                if self._watched.get(name, (None,))[0] != root:
                    continue  # unwatched or moved meanwhile
                self._watched[name] = (root, new)
                changed = _first_difference(old, new)
                if changed is not None:
                    _forget_bytecode(old, new)
                    self._on_change(name, changed)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
