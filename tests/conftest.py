"""Fixtures shared by the engine's tests.

``impl`` runs a frame-level test once per importable implementation of the
hot path: the pure-Python twin always, the compiled ``framer._fast`` when it
imports.  With ``FRAMER_REQUIRE_COMPILED=1`` (1/true/yes) a missing compiled
module is an error, not a skip, so CI cannot pass by silently testing only
the pure twin.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

_TRUE = {"1", "true", "yes"}


def _compiled() -> ModuleType | None:
    try:
        return importlib.import_module("framer._fast")
    except ImportError:
        return None


def _require_compiled() -> bool:
    return os.environ.get("FRAMER_REQUIRE_COMPILED", "").strip().lower() in _TRUE


@pytest.fixture(scope="session", params=["pure", "compiled"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """The hot-path module under test: ``framer._fast_py`` or ``framer._fast``."""
    if request.param == "pure":
        return importlib.import_module("framer._fast_py")
    module = _compiled()
    if module is None:
        if _require_compiled():
            pytest.fail(
                "FRAMER_REQUIRE_COMPILED is set but framer._fast does not import", pytrace=False
            )
        pytest.skip("framer._fast is not built")
    return module


@pytest.fixture(scope="session")
def impl_pair() -> tuple[ModuleType, ModuleType]:
    """(pure, compiled) for parity tests; skipped (or failed, see above) without both."""
    pure = importlib.import_module("framer._fast_py")
    compiled = _compiled()
    if compiled is None:
        if _require_compiled():
            pytest.fail(
                "FRAMER_REQUIRE_COMPILED is set but framer._fast does not import", pytrace=False
            )
        pytest.skip("framer._fast is not built")
    return pure, compiled
