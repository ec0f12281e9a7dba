"""Each package's ``__init__`` docstring says what each of its modules is for.

A module or subpackage counts as described when its name stands in the
docstring as ``name`` (in double backquotes), as every package here writes
its list.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import framer

ROOT = Path(framer.__file__).resolve().parent
PACKAGES = sorted(
    ".".join(("framer",) + p.parent.relative_to(ROOT).parts) if p.parent != ROOT else "framer"
    for p in ROOT.rglob("__init__.py")
)


def _members(package_dir: Path) -> list[str]:
    names = []
    for entry in package_dir.iterdir():
        if entry.name in ("__init__.py", "__pycache__") or entry.name.startswith("."):
            continue
        if entry.suffix in (".py", ".pyx"):
            names.append(entry.stem)
        elif entry.is_dir() and (entry / "__init__.py").exists():
            names.append(entry.name)
    return sorted(set(names))


def test_every_package_is_checked() -> None:
    assert {"framer", "framer.router", "framer.asyncio", "framer.functions"} <= set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_docstring_names_every_module(name: str) -> None:
    package = importlib.import_module(name)
    doc = package.__doc__ or ""
    package_dir = Path(package.__file__).parent
    missing = [m for m in _members(package_dir) if f"``{m}``" not in doc and f"``{m}." not in doc]
    assert not missing, f"{name}'s docstring does not say what these are for: {missing}"
