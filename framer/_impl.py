"""Pick the compiled hot path or its pure-Python twin, once, at import.

``FRAMER_NO_EXTENSIONS`` set to 1, true or yes (any case) forces the pure
twin; anything else (including "0") leaves the choice to what is installed.
"""

from __future__ import annotations

import os

__all__ = ["FrameReader", "drain", "implementation", "mask", "serialize_frames"]

_TRUE = {"1", "true", "yes"}


def _forced_pure() -> bool:
    return os.environ.get("FRAMER_NO_EXTENSIONS", "").strip().lower() in _TRUE


implementation: str
if _forced_pure():
    from ._fast_py import FrameReader, drain, mask, serialize_frames

    implementation = "pure"
else:
    try:
        from ._fast import FrameReader, drain, mask, serialize_frames  # type: ignore[no-redef]
    except ImportError:
        from ._fast_py import FrameReader, drain, mask, serialize_frames

        implementation = "pure"
    else:
        implementation = "compiled"
