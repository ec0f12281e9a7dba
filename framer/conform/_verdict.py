"""Send one :class:`Example` on a fresh connection and judge what the server did.

:func:`judge` returns ``None`` when the server did what the example's
:class:`Expectation` requires, or one line saying what it did instead.  Only
the server's own frames count, read by :class:`~framer.conform._client.Probe`.

Valid traffic: the server answers a close we sent with a close and EOF; else
it stays open and answers a ping sent afterwards; with ``echo``, every
message comes back whole, in order, with its type.  Invalid traffic: a close
frame with an accepted code, then EOF once we answer it; never a reply to the
invalid frame (an echo of it, a pong to an invalid ping); never silence past
the timeout.  In both cases the server's frames must themselves be valid.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Optional

from framer._wire import OP_CLOSE, OP_PING, FrameReader, WireFrame, split_frames

from ._client import Assembler, Probe, messages_in, valid_utf8
from ._example import Example
from ._target import ConformError, Target

__all__ = ["Judge", "judge"]


@dataclass(frozen=True, slots=True)
class Judge:
    """How to judge: the server, the wait for each answer, and whether it echoes."""

    target: Target
    timeout: float
    echo: bool = False


async def judge(how: Judge, example: Example) -> Optional[str]:
    """What the server did wrong with ``example``, or None."""
    try:
        probe = await Probe.open(how.target, how.timeout)
    except ConformError as exc:
        return f"could not connect: {exc}"
    try:
        await probe.send_pieces(example.pieces, example.pause_list)
        if example.expect.valid:
            wrong = await _valid(probe, how, example.data)
        else:
            wrong = await _invalid(probe, how, example)
        return wrong or (probe.defects[0] if probe.defects else None)
    except OSError as exc:
        return f"connection failed: {exc}"
    finally:
        await probe.finish(min(how.timeout, 1.0))


async def _valid(probe: Probe, how: Judge, data: bytes) -> Optional[str]:
    frames = FrameReader().feed(data)
    closing = any(frame.opcode == OP_CLOSE for frame in frames)
    if how.echo:
        sent = messages_in(data)
        seen = await probe.wait(lambda inbox: len(inbox.messages) >= len(sent), how.timeout)
        got = probe.inbox.messages
        for index, (want, back) in enumerate(zip(sent, got)):
            if want != back:
                return f"message {index + 1} came back as a {back.describe()}; sent a {want.describe()}"
        if len(got) < len(sent):
            return f"{seen.describe()} after echoing {len(got)} of {len(sent)} messages"
    if closing:
        seen = await probe.wait_close(how.timeout)
        if seen.kind != "close":
            return f"did not answer the close: {seen.describe()}"
        if not await probe.wait_eof(how.timeout):
            return f"answered the close ({seen.describe()}) but kept the TCP connection open {how.timeout:g} s"
        return None
    seen = await probe.ping(how.timeout)
    if seen.kind != "match":
        return seen.describe()
    if how.echo and len(probe.inbox.messages) > len(messages_in(data)):
        return f"sent {len(probe.inbox.messages)} messages back for {len(messages_in(data))} sent"
    return None


async def _invalid(probe: Probe, how: Judge, example: Example) -> Optional[str]:
    codes = example.expect.codes
    frames, _ = split_frames(example.data)
    last = frames[-1] if frames else None
    header_only = last is None or len(last.payload) < last.length
    # A ping after the defect: its pong means the defect was let through.
    # (After a header alone the ping would be read as payload: wait instead.)
    seen = await (probe.wait_close(how.timeout) if header_only else probe.refused(how.timeout))
    reply = _reply(probe, frames)
    if reply:
        return reply
    if seen.kind == "match":
        return f"accepted it: answered a ping sent after it ({seen.ms:.0f} ms)"
    if seen.kind != "close":
        return seen.describe()
    if seen.code not in codes:
        return f"{seen.describe()}; accepted: {' or '.join(str(c) for c in codes)}"
    await probe.answer_close()
    if not await probe.wait_eof(how.timeout):
        return f"{seen.describe()} but kept the TCP connection open {how.timeout:g} s after the closing handshake"
    return None


def _reply(probe: Probe, frames: list[WireFrame]) -> Optional[str]:
    """A frame the server sent in answer to the invalid one, described; or None."""
    if not frames:
        return None
    last = frames[-1]
    if last.opcode == OP_PING:
        asked = sum(1 for f in frames if f.opcode == OP_PING and f.payload == last.payload)
        if probe.inbox.pongs.count(last.payload) >= asked:
            return f"answered the invalid ping with a pong ({last.describe()})"
        return None
    assembler = Assembler()
    completed = [assembler.add(frame) for frame in frames]
    sent = [message for message in completed if message is not None]
    for back in probe.inbox.messages:
        if back.text and not valid_utf8(back.payload) and back in sent:
            return f"echoed invalid UTF-8 ({back.describe()})"
    # The message the invalid frame completes, if any: echoing it is replying to it.
    invalid = completed[-1]
    if invalid is not None and probe.inbox.messages.count(invalid) >= sent.count(invalid):
        return f"replied to the invalid frame: sent it back ({invalid.describe()})"
    return None


def run_one(how: Judge, example: Example) -> Optional[str]:
    """:func:`judge` on a fresh event loop (for ``--replay``)."""
    return asyncio.run(judge(how, example))
