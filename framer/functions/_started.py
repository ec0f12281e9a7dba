"""What a worker has begun: ``StartRecord``, the number of the last invocation
it began, in a page of memory the server and the worker share.

The worker stores an invocation's number before its handler runs; the server
reads the record once the worker is dead and reaped, when nothing can change
it any more.  So when the server kills a worker it knows, exactly, which of
the invocations written to it had begun (they fail, and never run again)
and which had not (they run on another worker), even if the worker went on
to the next one in the instant between the server's decision and its kill.
A message on the worker's socket could say as much only if the server read
that socket to its end after the kill; the record costs no message per
invocation.
"""

from __future__ import annotations

import mmap
import os
import struct
import tempfile

__all__ = ["StartRecord"]

_NUMBER = struct.Struct("=Q")  # invocation numbers count from 1; 0: none begun


class StartRecord:
    """The shared number: ``create`` (the server) makes one, ``fileno`` is
    passed to the worker, which maps it with ``attach``."""

    __slots__ = ("_map",)

    def __init__(self, fd: int) -> None:
        self._map = mmap.mmap(fd, _NUMBER.size)

    @classmethod
    def create(cls) -> tuple[StartRecord, int]:
        """A new record and the descriptor to pass to the worker (the caller
        closes it once the worker is started: the mapping stays)."""
        with tempfile.TemporaryFile() as file:  # unlinked: nothing is left behind
            fd = os.dup(file.fileno())
        os.ftruncate(fd, _NUMBER.size)
        return cls(fd), fd

    @classmethod
    def attach(cls, fd: int) -> StartRecord:
        """The worker's side: map the record passed as ``fd`` and close ``fd``."""
        try:
            return cls(fd)
        finally:
            os.close(fd)

    def store(self, number: int) -> None:
        """Invocation ``number`` begins (the worker, before its handler runs)."""
        _NUMBER.pack_into(self._map, 0, number)

    def load(self) -> int:
        """The number of the last invocation begun, 0 for none; final once the worker is reaped."""
        return int(_NUMBER.unpack_from(self._map, 0)[0])
