"""The public surface is what we mean to export."""

from __future__ import annotations

import framer.router as router


def test_all_is_exactly_the_public_names() -> None:
    public = {n for n in dir(router) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(router, n)).__name__ == "module"}
    assert set(router.__all__) == public - modules - {"annotations"}
    assert len(router.__all__) == len(set(router.__all__))


def test_core_names_exported() -> None:
    for name in ("Gateway", "Router", "Invoke", "Accept", "Refuse", "Reply", "Closed",
                 "Returned", "Raised", "TimedOut", "BadRequestException",
                 "NotFoundException", "ConflictException", "TooManyRequestsException"):
        assert name in router.__all__


def test_router_does_not_import_the_engine_or_io() -> None:
    import pathlib
    import re
    root = pathlib.Path(router.__file__).parent
    for path in root.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+(framer\._|framer\.asyncio|\.\.)",
                             text, re.M), path
        for banned in ("import asyncio", "import socket", "import threading",
                       "import time", "datetime.now", "time.time"):
            assert banned not in text, (path, banned)
