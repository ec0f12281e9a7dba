"""Types of the compiled twin; it has the same interface as ``framer._fast_py``."""

from collections import deque
from typing import Callable, Iterator, Union

from wsproto.events import Event

from ._deflate import Inflater

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
def serialize_text(
    text: str, max_frame_size: int, max_message_size: int, client: bool
) -> bytes | None: ...
def drain(queue: deque[Event]) -> Iterator[Event]: ...

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

class Shortcut:
    open: bool
    drain_only: bool
    def __init__(
        self,
        reader: FrameReader,
        queue: deque[Event],
        max_frame_size: int,
        max_message_size: int,
        client: bool,
        slow_receive: Callable[[Buffer | None], None],
        slow_send_text: Callable[[str], bytes],
        slow_send_bytes: Callable[[Buffer], bytes],
        on_done: Callable[[list[Event]], None],
        slow_events: Callable[[], Iterator[Event]],
    ) -> None: ...
    def receive_data(self, data: Buffer | None) -> None: ...
    def events(self) -> Iterator[Event]: ...
    def send_text(self, text: str) -> bytes: ...
    def send_bytes(self, data: Buffer) -> bytes: ...
