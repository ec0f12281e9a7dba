"""One fuzzing example: the bytes, how they are cut and paced, and what the server must do.

An :class:`Example` is what hypothesis draws and shrinks, and what
``--replay`` rebuilds from the command line: its bytes as hex (pieces joined
by ``.``) and its :class:`Expectation` as ``--expect open`` or
``--expect close:CODE[,CODE]``.  Needs no hypothesis.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ._target import ConformError

__all__ = ["Expectation", "Example", "accepted_codes", "parse_replay"]

# Replay arguments longer than this go to a file (Linux caps one argument at 128 KiB).
_INLINE_HEX = 8192


def accepted_codes(code: int, why: str) -> tuple[int, ...]:
    """The close codes RFC 6455 lets a server answer a defect labelled ``code`` with.

    Section 7.4.1 gives each defect one code: 1002 for a protocol error, 1003
    for a data type the endpoint does not accept, 1007 for data not consistent
    with the message type (invalid UTF-8), 1009 for a message too big to
    process.  Two cases have two readings, and both codes are accepted:

    * a close frame whose reason is not UTF-8 is invalid UTF-8 (section 8.1:
      1007) and a malformed close frame (section 5.5.1: 1002);
    * a 64-bit length with its most significant bit set breaks section 5.2
      (1002) and announces over 2**63 bytes, more than any endpoint takes
      (1009).
    """
    if code == 1007 and "close reason" in why:
        return (1007, 1002)
    if code == 1002 and "most significant bit" in why:
        return (1002, 1009)
    return (code,)


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the server must do: stay open (``codes`` empty), or close with one of ``codes``."""

    codes: tuple[int, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.codes

    def describe(self, echo: bool) -> str:
        if self.codes:
            codes = " or ".join(str(c) for c in self.codes)
            return f"a close frame with {codes}, then EOF; no reply to the invalid frame"
        if echo:
            return "every message echoed whole, in order, same type; a close answered; else still answering a ping"
        return "a close answered with a close, then EOF; else still open and answering a ping"

    def to_arg(self) -> str:
        return "close:" + ",".join(str(c) for c in self.codes) if self.codes else "open"

    @classmethod
    def parse(cls, text: str) -> Expectation:
        """``open`` or ``close:1002[,1007...]``; :class:`ConformError` otherwise."""
        if text == "open":
            return cls()
        kind, _, codes = text.partition(":")
        try:
            parsed = tuple(int(c) for c in codes.split(","))
        except ValueError:
            parsed = ()
        if kind != "close" or not parsed or not all(1000 <= c <= 4999 for c in parsed):
            raise ConformError(f"--expect must be 'open' or 'close:CODE[,CODE...]' (codes 1000-4999), got {text!r}")
        return cls(parsed)


@dataclass(frozen=True, slots=True)
class Example:
    """Bytes to send after the handshake, cut at ``cuts``, with ``pauses[i]`` s after piece ``i``."""

    data: bytes
    expect: Expectation
    cuts: tuple[int, ...] = ()
    pauses: tuple[float, ...] = ()
    label: str = ""

    def __repr__(self) -> str:  # hypothesis prints examples; the bytes can be 128 KiB
        return f"Example({len(self.data)} bytes in {len(self.cuts) + 1} pieces, {self.expect.to_arg()})"

    @property
    def pieces(self) -> list[bytes]:
        bounds = [0, *self.cuts, len(self.data)]
        return [self.data[a:b] for a, b in zip(bounds, bounds[1:])]

    @property
    def pause_list(self) -> list[float]:
        pieces = len(self.cuts) + 1
        return [*self.pauses[:pieces], *[0.0] * (pieces - len(self.pauses))]

    def replay_hex(self) -> str:
        """The bytes as hex, the pieces joined by ``.`` (pauses are not replayed)."""
        return ".".join(piece.hex() for piece in self.pieces)

    def replay_arg(self, directory: Path) -> str:
        """``HEX``, or ``@FILE`` (written into ``directory``) when the hex is too long for one argument."""
        text = self.replay_hex()
        if len(text) <= _INLINE_HEX:
            return text
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"replay-{hashlib.sha1(text.encode()).hexdigest()[:12]}.hex"
        path.write_text(text + "\n")
        return f"@{path}"


def parse_replay(arg: str, expect: Expectation) -> Example:
    """Rebuild an :class:`Example` from ``--replay HEX`` or ``--replay @FILE``."""
    text = arg
    if arg.startswith("@"):
        try:
            text = Path(arg[1:]).read_text().strip()
        except OSError as exc:
            raise ConformError(f"--replay {arg}: cannot read {arg[1:]}: {exc.strerror or exc}") from None
    try:
        pieces = [bytes.fromhex(piece) for piece in text.split(".")]
    except ValueError as exc:
        raise ConformError(f"--replay must be hex bytes (pieces joined by '.'), or @FILE: {exc}") from None
    cuts: list[int] = []
    for piece in pieces[:-1]:
        cuts.append((cuts[-1] if cuts else 0) + len(piece))
    data = b"".join(pieces)
    if not data:
        raise ConformError("--replay: no bytes to send")
    return Example(data, expect, tuple(cuts))
