# cython: language_level=3
"""Compiled twin of ``framer._fast_py``: the same names, compiled.

No rule is written here.  ``FrameReader``, the serializers and
``OpenConnection`` are ``_reader_py.py``, ``_writer_py.py`` and
``_open_py.py`` themselves, compiled as ``framer._reader_c``,
``framer._writer_c`` and ``framer._open_c`` over the C kernels of
``_kernels_c`` (see those modules); ``mask``/``mask_inplace`` are
``_kernels_c``'s.  This module gathers them under the twin's interface
(``_fast.pyi``), and its import is how framer knows the extensions are built.
"""

from ._kernels_c import _use_avx2, mask, mask_inplace
from ._open_c import OpenConnection
from ._reader_c import FrameReader
from ._writer_c import serialize_frames, serialize_parts

__all__ = ["FrameReader", "OpenConnection", "_use_avx2", "mask", "mask_inplace",
           "serialize_frames", "serialize_parts"]
