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
import uuid
from typing import Iterator

_ALNUM = string.ascii_lowercase + string.digits
_CONNECTION_ID = re.compile(r"[A-Za-z0-9_-]{15}=")
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
        self._draws: Iterator[tuple[str, str, str]] = iter(())

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
        """A message's request id and message id (two ``wire_id()``), plus its
        Lambda request id (a UUID-formatted string) when they come from the
        same draw.

        With the default generator all three come ready-made from a batch
        (``_refill``): this runs on every message.  With an injected generator
        the third is ``None`` and the caller draws ``hex(32)`` when it needs it,
        so seeded sequences stay what they were.
        """
        if self._urandom is None:
            return self.wire_id(), self.wire_id(), None
        ids = next(self._draws, None)
        if ids is None:
            ids = self._refill()
        return ids

    def _refill(self) -> tuple[str, str, str]:
        """Make the ids of ``_DRAWS`` messages at once, each from its own fresh
        random bytes, with a few whole-batch operations instead of several
        calls per id.  Each message takes its triple with one ``next()`` on a
        list iterator (atomic under the GIL, so threads never share an id)."""
        assert self._urandom is not None
        n = 2 * _DRAWS
        # 11 random bytes and a zero byte per wire id: 12 bytes encode to 16
        # characters with no padding, the first 15 exactly those of the 11
        # bytes alone, the 16th the zero's "A", which becomes the "=" of the
        # 11-byte form (its 15th character's two low bits are the zero's too).
        raw = bytearray(self._urandom(12 * n))
        raw[11::12] = bytes(n)
        encoded = binascii.b2a_base64(raw, newline=False).translate(_URLSAFE)
        wires = _split(encoded, _WIRE_SHAPE, n)
        uuids = _split(self._urandom(16 * _DRAWS).hex().encode("ascii"), _UUID_SHAPE, _DRAWS)
        draws = iter(list(zip(wires[0::2], wires[1::2], uuids)))
        self._draws = draws
        return next(draws)

    def lambda_request_id(self) -> str:
        """A Lambda request id: 32 random hex digits laid out ``8-4-4-4-12``."""
        return str(uuid.UUID(hex=self.hex(32)))

    def hex(self, length: int) -> str:
        """``length`` lowercase hex digits (trace ids)."""
        if self._urandom is not None:
            return self._urandom((length + 1) // 2).hex()[:length]
        return f"{self._rng.getrandbits(4 * length):0{length}x}"


_WIRE_SHAPE = b"_" * 15 + b"="
"""A wire id: 15 characters from the random bytes, then ``=``."""
_UUID_SHAPE = b"________-____-____-____-____________"
"""A Lambda request id: 32 hex digits laid out ``8-4-4-4-12``."""


def _split(chars: bytes, shape: bytes, count: int) -> list[str]:
    """``count`` strings shaped like ``shape`` from ``chars`` (ASCII): the
    ``_`` places of string ``k`` take the ``k``-th run of ``len(chars) //
    count`` characters in order (the run's extra characters are dropped),
    the other places keep ``shape``'s character.

    One strided copy per ``_`` place, then one ``split``: no Python work per
    string (this makes every message's ids).
    """
    stride = len(shape) + 1
    run = len(chars) // count
    out = bytearray((shape + b" ") * count)
    places = [i for i, c in enumerate(shape) if c == ord("_")]
    for index, place in enumerate(places):
        out[place::stride] = chars[index::run]
    return out.decode("ascii").split(" ")[:count]


def is_valid_connection_id(text: str) -> bool:
    """Whether ``text`` has the shape of a connection id (the @connections 400 check)."""
    return _CONNECTION_ID.fullmatch(text) is not None
