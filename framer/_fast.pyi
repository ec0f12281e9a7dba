"""Types of the compiled twin; it has the same interface as ``framer._fast_py``."""

from collections.abc import Iterable, Iterator
from typing import Union

from wsproto.connection import ConnectionState
from wsproto.events import Event

from ._deflate import Deflater, Inflater
from ._errors import ProtocolViolation
from ._limits import Limits

Buffer = Union[bytes, bytearray, memoryview]

def _use_avx2(on: bool) -> bool: ...
def mask(data: Buffer, key: Buffer, offset: int = 0) -> bytes: ...
def mask_inplace(buffer: bytearray | memoryview, key: Buffer, offset: int = 0) -> None: ...
def serialize_frames(
    opcode: int, payload: Buffer, fin: bool, max_frame_size: int, client: bool
) -> bytes: ...
def serialize_parts(
    opcode: int, payload: Buffer, fin: bool, max_frame_size: int, client: bool
) -> list[Buffer]: ...

class FrameReader:
    closed: bool
    done: bool
    violation_code: int
    violation_reason: str
    def __init__(
        self,
        client: bool,
        max_frame_size: int,
        max_message_size: int,
        allow_binary: bool,
        inflater: Inflater | None = None,
    ) -> None: ...
    @property
    def buffered(self) -> int: ...
    def feed(self, data: Buffer) -> list[Event]: ...

class OpenConnection:
    violation: ProtocolViolation | None
    def __init__(
        self,
        reader: FrameReader,
        client: bool,
        limits: Limits,
        deflater: Deflater | None,
        events: Iterable[Event],
    ) -> None: ...
    @property
    def state(self) -> ConnectionState: ...
    @property
    def buffered(self) -> int: ...
    def receive_data(self, data: Buffer | None) -> None: ...
    def events(self) -> Iterator[Event]: ...
    def send(self, event: Event) -> bytes: ...
    def send_text(self, text: str) -> bytes: ...
    def send_bytes(self, data: Buffer) -> bytes: ...
    def send_bytes_parts(self, data: Buffer) -> list[Buffer]: ...
