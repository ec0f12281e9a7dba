"""The two kinds of error: the caller's mistakes and the peer's."""

from __future__ import annotations

from dataclasses import dataclass

from wsproto.utilities import LocalProtocolError as _WsprotoLocalProtocolError
from wsproto.utilities import RemoteProtocolError

__all__ = [
    "LocalProtocolError",
    "MessageTooBigError",
    "ProtocolViolation",
    "RemoteProtocolError",
]


class LocalProtocolError(_WsprotoLocalProtocolError):
    """The caller asked for something the protocol or the limits forbid.

    A subclass of wsproto's ``LocalProtocolError``, so code written for
    wsproto catches it unchanged.
    """


class MessageTooBigError(LocalProtocolError):
    """An outgoing message is longer than ``Limits.max_message_size``.

    Nothing was sent: the connection is still usable.
    """

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"message of {size} bytes exceeds max_message_size={limit} bytes; nothing was sent"
        )
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class ProtocolViolation:
    """Why framer closed the connection on the peer: the close code and reason.

    Available as :attr:`framer.WSConnection.violation` once the peer broke the
    protocol or a limit; the same code and reason come out of ``events()`` as a
    ``CloseConnection``.
    """

    code: int
    reason: str
