"""Identifier formats, as observed in API Gateway captures.

- API ids: 10 lowercase alphanumerics (``c5jwxq709g``).
- Resource ids (routes, integrations, deployments...): 6-7 lowercase
  alphanumerics (the CLI examples show ``fedcba``, ``53lz9l``, ``0abcdef``).
- Connection, request and message ids: 16 characters of URL-safe base64 of
  11 bytes, so they end in ``=`` (``HXT_RfBnPHcCIIg=``).

Randomness comes from a ``random.Random`` the caller may inject, so tests can be
deterministic; the default is ``random.SystemRandom``.
"""

from __future__ import annotations

import binascii
import os
import random
import re
import string
from typing import Iterator

_ALNUM = string.ascii_lowercase + string.digits
_CONNECTION_ID = re.compile(r"^[A-Za-z0-9_-]{15}=$")
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_DRAWS = 128


def _b64url(raw: bytes) -> str:
    """``base64.urlsafe_b64encode(raw).decode()`` without its two Python layers."""
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).decode("ascii")


class IdSource:
    """Makes every kind of identifier from one random generator."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng if rng is not None else random.SystemRandom()
        # With the default generator, bytes come straight from os.urandom:
        # one system call per id instead of one per byte (ids are made on
        # every message, so this is on the hot path).
        self._urandom = os.urandom if rng is None else None
        self._draws: Iterator[bytes] = iter(())

    def alnum(self, length: int) -> str:
        """``length`` lowercase alphanumerics."""
        return "".join(self._rng.choice(_ALNUM) for _ in range(length))

    def api_id(self) -> str:
        """A 10-character API id."""
        return self.alnum(10)

    def resource_id(self) -> str:
        """A 7-character id for routes, integrations, authorizers, route responses."""
        return self.alnum(7)

    def deployment_id(self) -> str:
        """A 6-character deployment id."""
        return self.alnum(6)

    def wire_id(self) -> str:
        """A 16-character URL-safe id ending in ``=`` (connection/request/message)."""
        if self._urandom is not None:
            raw = self._urandom(11)
        else:
            raw = self._rng.getrandbits(88).to_bytes(11, "big")
        return _b64url(raw)

    def message_ids(self) -> tuple[str, str, str | None]:
        """A message's request id and message id (two ``wire_id()``), plus 32 hex
        digits for its Lambda request id when they come from the same draw.

        With the default generator all three come from one ``os.urandom`` call
        (this runs on every message); with an injected generator the third is
        ``None`` and the caller draws ``hex(32)`` when it needs it, so seeded
        sequences stay what they were.
        """
        if self._urandom is None:
            return self.wire_id(), self.wire_id(), None
        raw = next(self._draws, None)
        if raw is None:
            raw = self._refill()
        return _b64url(raw[:11]), _b64url(raw[11:22]), raw[22:].hex()

    def _refill(self) -> bytes:
        """Draw the bytes of 128 messages' ids in one ``os.urandom`` call; each
        message takes its 38 bytes with one ``next()`` on a list iterator (atomic
        under the GIL, so threads never get the same bytes)."""
        assert self._urandom is not None
        pool = self._urandom(38 * _DRAWS)
        draws = iter([pool[i:i + 38] for i in range(0, 38 * _DRAWS, 38)])
        self._draws = draws
        return next(draws)

    def hex(self, length: int) -> str:
        """``length`` lowercase hex digits (trace ids)."""
        if self._urandom is not None:
            return self._urandom((length + 1) // 2).hex()[:length]
        return f"{self._rng.getrandbits(4 * length):0{length}x}"


def is_valid_connection_id(text: str) -> bool:
    """Whether ``text`` has the shape of a connection id (the @connections 400 check)."""
    return _CONNECTION_ID.match(text) is not None
