"""Pick the compiled hot path or its pure-Python twin, once, at import.

``FRAMER_NO_EXTENSIONS`` set to 1, true or yes (any case) forces the pure
twin; anything else (including "0") leaves the choice to what is installed.
:func:`load` gives either twin by name, for code that wants both in one
process (parity tests, benchmarks).
"""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["implementation", "load", "twin"]

_TRUE = {"1", "true", "yes"}


def _forced_pure() -> bool:
    return os.environ.get("FRAMER_NO_EXTENSIONS", "").strip().lower() in _TRUE


def load(name: str) -> ModuleType:
    """Return the hot-path module called ``name``: "compiled" or "pure"."""
    if name == "pure":
        from . import _fast_py

        return _fast_py
    if name == "compiled":
        try:
            from . import _fast
        except ImportError as exc:
            raise ImportError(
                "framer's compiled extension framer._fast is not built; "
                "reinstall with a C compiler and Cython available "
                "(FRAMER_BUILD_EXTENSION=yes makes a failed build an error)"
            ) from exc
        return _fast
    raise ValueError(f"implementation must be 'compiled' or 'pure', got {name!r}")


def _select() -> tuple[ModuleType, str]:
    if _forced_pure():
        return load("pure"), "pure"
    try:
        return load("compiled"), "compiled"
    except ImportError:
        return load("pure"), "pure"


_module, implementation = _select()

twin: ModuleType = _module
"""The active twin's module: ``FrameReader``, ``OpenConnection``, ``mask``..."""
