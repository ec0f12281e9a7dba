"""The fixed rules of ``framer conform``: API Gateway's quotas, UTF-8, ping and close.

Each rule runs on its own :class:`~framer.conform._client.Probe`.  A message is
*accepted* when the server neither closes nor stops answering: after it, a
ping with a fresh payload gets its pong.  A refusal must be a close frame
with the expected code.  Whatever the server sent that breaks RFC 6455 (an
echo of invalid UTF-8, say) fails the rule, whatever else happened.

========================  ==============================================
frame-32768               a 32768-byte text frame is accepted
frame-32769               a 32769-byte text frame is closed with 1009
message-131072            131072 bytes in 4 frames are accepted
message-131073            131073 bytes in 5 frames are closed with 1009
binary                    a binary frame is closed with 1003 (``--api-gateway``)
invalid-utf8              invalid UTF-8 in a text frame is closed with 1007
ping                      a ping is answered with a pong, same payload
close                     a close (1000) is answered with a close, then EOF
========================  ==============================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Awaitable, Callable

from framer._limits import API_GATEWAY_MAX_FRAME_SIZE, API_GATEWAY_MAX_MESSAGE_SIZE
from framer._wire import OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_TEXT, encode_frame

from ._client import Probe
from ._target import ConformError, parse_url

__all__ = ["RuleResult", "run"]

FRAME = API_GATEWAY_MAX_FRAME_SIZE
MESSAGE = API_GATEWAY_MAX_MESSAGE_SIZE
_BAD_UTF8 = b"conform \xff\xfe"


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One row of the report: the rule, what it expects, pass/fail, what was seen."""

    rule: str
    expected: str
    passed: bool
    seen: str


_Check = Callable[[Probe, float], Awaitable[tuple[bool, str]]]


def _frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    return encode_frame(opcode, payload, fin=fin, mask=os.urandom(4))


def _text(sizes: list[int]) -> bytes:
    """A text message of ``sum(sizes)`` ASCII bytes, one frame per size."""
    return b"".join(
        _frame(OP_TEXT if i == 0 else OP_CONTINUATION, b"a" * size, i == len(sizes) - 1) for i, size in enumerate(sizes)
    )


def _accepts(sizes: list[int]) -> _Check:
    async def check(probe: Probe, timeout: float) -> tuple[bool, str]:
        await probe.send(_text(sizes))
        seen = await probe.ping(timeout)
        return seen.kind == "match", seen.describe()

    return check


def _closes(code: int, data: Callable[[], bytes]) -> _Check:
    async def check(probe: Probe, timeout: float) -> tuple[bool, str]:
        await probe.send(data())
        seen = await probe.refused(timeout)
        if seen.kind == "match":
            return False, f"accepted: {seen.describe()}"
        return seen.kind == "close" and seen.code == code, seen.describe()

    return check


async def _ping(probe: Probe, timeout: float) -> tuple[bool, str]:
    seen = await probe.ping(timeout)
    if seen.kind == "match":
        return True, f"pong with the same payload after {seen.ms:.0f} ms"
    if probe.inbox.pongs:
        return False, f"pong with another payload {probe.inbox.pongs[0]!r}, then {seen.describe()}"
    return False, seen.describe()


async def _close(probe: Probe, timeout: float) -> tuple[bool, str]:
    await probe.send_frame(OP_CLOSE, (1000).to_bytes(2, "big") + b"conform")
    seen = await probe.wait_close(timeout)
    if seen.kind != "close":
        return False, seen.describe()
    # The server answered our close; it must now end the TCP connection.
    if not await probe.wait_eof(timeout):
        return False, f"{seen.describe()}, but the TCP connection stayed open {timeout:g} s"
    return seen.code in (1000, None), f"{seen.describe()}, then EOF"


def _rules(api_gateway: bool) -> list[tuple[str, str, _Check]]:
    rules: list[tuple[str, str, _Check]] = [
        ("frame-32768", f"{FRAME}-byte frame accepted", _accepts([FRAME])),
        ("frame-32769", f"{FRAME + 1}-byte frame -> 1009", _closes(1009, lambda: _text([FRAME + 1]))),
        ("message-131072", f"{MESSAGE} bytes in 4 frames accepted", _accepts([FRAME] * 4)),
        ("message-131073", f"{MESSAGE + 1} bytes in 5 frames -> 1009",
         _closes(1009, lambda: _text([FRAME] * 4 + [1]))),
    ]
    if api_gateway:
        rules.append(("binary", "binary frame -> 1003",
                      _closes(1003, lambda: _frame(OP_BINARY, b"\x00\x01binary"))))
    rules += [
        ("invalid-utf8", "invalid UTF-8 text -> 1007", _closes(1007, lambda: _frame(OP_TEXT, _BAD_UTF8))),
        ("ping", "ping answered with pong", _ping),
        ("close", "close answered, then EOF", _close),
    ]
    return rules


def _server_defect(probe: Probe) -> str:
    """The first way the server's own frames broke RFC 6455, or ''."""
    for message in probe.inbox.messages:
        if message.text and message.payload == _BAD_UTF8:
            return f"echoed invalid UTF-8 ({message.describe()})"
    return probe.defects[0] if probe.defects else ""


async def run(url: str, *, api_gateway: bool = False, timeout: float = 5.0) -> list[RuleResult]:
    """Probe ``url`` rule by rule, one connection each.

    Raises :class:`ConformError` if the URL is bad or the first connection
    cannot be opened (later failures to connect become failed rows).
    """
    target = parse_url(url)
    if not timeout > 0:
        raise ConformError(f"--timeout must be > 0 seconds, got {timeout!r}")
    results = []
    for index, (name, expected, check) in enumerate(_rules(api_gateway)):
        try:
            probe = await Probe.open(target, timeout)
        except ConformError as exc:
            if index == 0:
                raise
            results.append(RuleResult(name, expected, False, f"could not connect: {exc}"))
            continue
        try:
            passed, seen = await check(probe, timeout)
            defect = _server_defect(probe)
            if defect:
                passed, seen = False, f"{defect}; then {seen}"
            results.append(RuleResult(name, expected, passed, seen))
        except OSError as exc:
            results.append(RuleResult(name, expected, False, f"connection failed: {exc}"))
        finally:
            await probe.finish()
    return results

