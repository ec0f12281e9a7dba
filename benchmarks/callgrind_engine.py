"""Instructions per operation of the engine, counted by callgrind (not timed).

    python benchmarks/callgrind_engine.py                 # both twins, every op
    python benchmarks/callgrind_engine.py --impl compiled --op recv_text64

A shared machine makes timings noisy; instruction counts are not.  Each op
runs in its own process under ``valgrind --tool=callgrind``, twice: with
``N`` and with ``2 N`` repetitions after the same warm-up.  The difference of
the two totals, divided by ``N``, is the cost of one repetition with start-up,
imports and warm-up cancelled out (with ``PYTHONHASHSEED=0``, so that dict
probing is the same in every run, and with what was imported frozen out of
the garbage collector's way: a full collection then costs what the run made).

glibc's malloc thresholds are pinned in every child (``GLIBC_TUNABLES``, see
``MALLOC_TUNABLES``; any value set in the caller's environment is replaced).
Left alone, glibc raises its mmap threshold to the size of a freed mmapped
block larger than it (and its trim threshold to twice that), so what the
interpreter's start-up and the warm-up happened to free decides whether a
block of a given size is mmapped or on the heap, and whether a free trims
the heap: counts then move with that layout (a change that frees one large
block elsewhere shifts them), not only with the code.  Setting the
thresholds turns the dynamic adjustment off (mallopt(3)): every block under
32 MiB is on the heap, and the heap is never trimmed during a run.

An op is what a server does with the engine through ``WSConnection`` (in the
OPEN state, after a real in-memory handshake): ``receive_data`` of a read and
draining ``events()``, or one ``send_text``/``send_bytes``.

Ops (server side; the client frames are masked, as a browser's are):

* ``recv_text64``: one 64-byte text frame per read;
* ``recv_bin32k``: one 32 KiB binary frame per read;
* ``recv_frag_text``: one read of a 4 KiB text message in 16 frames of 256 B;
* ``send_text64``: ``send_text`` of a 64-character ASCII str;
* ``send_bin32k``: ``send_bytes`` of 32 KiB.

Needs valgrind on PATH.  Prints one line per (implementation, op).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPS = ("recv_text64", "recv_bin32k", "recv_frag_text", "send_text64", "send_bin32k")
IMPLS = ("compiled", "pure")
WARMUP = 200
#: glibc's malloc thresholds in every child: mmap at 32 MiB (the ceiling of
#: glibc's dynamic threshold on 64-bit), trim at 1 GiB (never, in a run), the
#: default top pad (128 KiB) pinned too.
MALLOC_TUNABLES = ":".join((
    "glibc.malloc.mmap_threshold=33554432",
    "glibc.malloc.trim_threshold=1073741824",
    "glibc.malloc.top_pad=131072",
))


def _frame(opcode: int, fin: bool, payload: bytes, key: bytes) -> bytes:
    """One client frame, from RFC 6455 section 5.2 (independent of framer)."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 0x10000:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    stream = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")
    return head + key + masked


def _workload(op: str) -> tuple[bool, object]:
    """(binary allowed?, the argument of each repetition)."""
    key = b"\x11\x22\x33\x44"
    if op == "recv_text64":
        return False, _frame(0x1, True, b"a" * 64, key)
    if op == "recv_bin32k":
        return True, _frame(0x2, True, bytes(range(256)) * 128, key)
    if op == "recv_frag_text":
        piece = ("h\u00e9llo w\u00f6rld " * 20).encode()[:256]
        piece = piece.decode("utf-8", "ignore").encode()
        piece += b"x" * (256 - len(piece))
        frames = [_frame(0x1 if i == 0 else 0x0, i == 15, piece, key) for i in range(16)]
        return False, b"".join(frames)
    if op == "send_text64":
        return False, "a" * 64
    if op == "send_bin32k":
        return True, bytes(range(256)) * 128
    raise ValueError(f"unknown op {op!r}")


def child(impl: str, op: str, count: int) -> None:
    """Run ``op`` ``count`` times (after the warm-up) on a server connection of ``impl``."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _harness import open_framer

    binary, arg = _workload(op)
    conn = open_framer(impl, text=not binary)
    if op.startswith("recv"):
        receive, events = conn.receive_data, conn.events

        def once() -> None:
            receive(arg)
            for _ in events():
                pass

    elif op == "send_text64":
        send = conn.send_text

        def once() -> None:
            send(arg)

    else:
        send = conn.send_bytes

        def once() -> None:
            send(arg)

    for _ in range(WARMUP):
        once()
    # Objects made so far (modules, the workload) go to the permanent
    # generation, so that a full collection during the run costs what the
    # run made, not the size of what was imported.
    gc.collect()
    gc.freeze()
    for _ in range(count):
        once()


def _instructions(impl: str, op: str, count: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             sys.executable, __file__, "--child", impl, op, str(count)],
            capture_output=True, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": "0", "GLIBC_TUNABLES": MALLOC_TUNABLES},
        )
        found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
        if done.returncode or not found:
            raise SystemExit(f"callgrind failed for {impl} {op}:\n{done.stderr[-2000:]}")
        return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", choices=IMPLS, action="append")
    parser.add_argument("--op", choices=OPS, action="append")
    parser.add_argument("-n", type=int, default=2000, help="repetitions of the shorter run (default 2000)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        impl, op, count = args.child
        child(impl, op, int(count))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not on PATH")
    print(f"{'implementation':<15}{'op':<16}{'instructions/op':>16}")
    for impl in args.impl or IMPLS:
        for op in args.op or OPS:
            low = _instructions(impl, op, args.n)
            high = _instructions(impl, op, 2 * args.n)
            print(f"{impl:<15}{op:<16}{(high - low) / args.n:>16.0f}", flush=True)


if __name__ == "__main__":
    main()
