"""Fixtures for the function runner tests: real code directories, real processes."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

import pytest

from framer.functions import Function

WriteCode = Callable[..., Function]


@pytest.fixture
def make_function(tmp_path: Path) -> WriteCode:
    """``make_function(name, source, handler="app.handler", **fields)``: writes
    ``source`` as ``{name}/app.py`` (or the handler's module) and returns its Function."""

    def make(name: str, source: str, handler: str = "app.handler", **fields: object) -> Function:
        root = tmp_path / name
        module = handler.partition(":")[0] if ":" in handler else handler.rpartition(".")[0]
        path = root / (module.replace(".", "/").replace("/", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        return Function(name=name, handler=handler, code_dir=root, **fields)  # type: ignore[arg-type]

    return make
