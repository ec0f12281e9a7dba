"""The pure-Python twin of the hot path: its interface, gathered.

No rule is written here either.  The frame reader (``_reader_py``), the
serializers (``_writer_py``) and the open connection (``_open_py``) are
each written once, as Python; ``framer/_fast.pyx`` gathers the same names
compiled from the same sources (setup.py), over the C byte kernels.  Only
``mask`` and ``mask_inplace`` (and the kernels behind the rules) have two
implementations: this twin's are ``_kernels_py``'s.
"""

from __future__ import annotations

from ._kernels_py import mask, mask_inplace
from ._open_py import OpenConnection
from ._reader_py import FrameReader
from ._writer_py import serialize_frames, serialize_parts

__all__ = [
    "FrameReader",
    "OpenConnection",
    "mask",
    "mask_inplace",
    "serialize_frames",
    "serialize_parts",
]
