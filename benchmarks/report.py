"""Run the engine benchmarks and print framer's standing against its peers, in markdown.

    python benchmarks/report.py                 # run everything (a few minutes), print the tables
    python benchmarks/report.py --json out.json # also keep pytest-benchmark's JSON
    python benchmarks/report.py --from out.json # only print the tables of an earlier run
    python benchmarks/report.py --pin-malloc    # glibc's heap trimming pinned off, for every peer

Each figure is the median round (a round is one batch: 1000 or 100 messages,
or one unmask call), as messages per second, or GB/s (1e9 bytes) for
unmasking.  Ratios are framer-compiled's throughput over the peer's (>1 means
framer is faster), and framer-pure's over wsproto's.  The targets are issue 3's.

Rows that create a fresh 128 KiB object per message depend on the state of
glibc's heap; ``conftest.py`` puts every peer on the same warm heap (see its
docstring).  ``--pin-malloc`` runs the suites with ``MALLOC_TRIM_THRESHOLD_``
and ``MALLOC_MMAP_THRESHOLD_`` pinned instead (the same settings for every
peer, as the anchor report's pinned runs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SUITES = ["test_bench_mask.py", "test_bench_receive.py", "test_bench_send.py"]
PEERS = ("framer-compiled", "framer-pure", "wsproto", "websockets", "aiohttp", "picows")
OTHERS = PEERS[1:]
SECTIONS = {"mask": "Unmask, GB/s", "receive": "Server receive, messages/s", "send": "Server send, messages/s"}
FEED_LABEL = {"frames": "one frame per call", "64k": "64 KiB reads", "": ""}

Results = dict[tuple[str, str, str], dict[str, float]]  # (section, row, feed) -> peer -> value


PINNED_MALLOC = {"MALLOC_TRIM_THRESHOLD_": "1073741824", "MALLOC_MMAP_THRESHOLD_": "67108864"}


def run_suite(json_path: Path, max_time: float, extra: list[str], pin_malloc: bool = False) -> None:
    """Run the three suites in one pytest process (one run: all peers side by side)."""
    command = [
        sys.executable, "-m", "pytest", *(str(HERE / s) for s in SUITES),
        "-q", "-p", "no:cacheprovider", "--benchmark-only",
        f"--benchmark-json={json_path}", "--benchmark-disable-gc",
        f"--benchmark-max-time={max_time}", "--benchmark-min-rounds=5",
        "--benchmark-columns=median,rounds", "--benchmark-sort=name", *extra,
    ]
    print(f"running: {' '.join(command)}", file=sys.stderr, flush=True)
    env = dict(os.environ)
    env.pop("FRAMER_BENCH_QUICK", None)
    if pin_malloc:
        env.update(PINNED_MALLOC)
    done = subprocess.run(command, cwd=ROOT, env=env, stdout=sys.stderr)
    if done.returncode != 0:
        sys.exit(f"benchmarks failed (pytest exit {done.returncode}); see the output above")


def load(json_path: Path) -> tuple[Results, dict[tuple[str, str, str], str], dict[str, Any]]:
    data = json.loads(json_path.read_text())
    results: Results = {}
    labels: dict[tuple[str, str, str], str] = {}
    for bench in data["benchmarks"]:
        info = bench.get("extra_info") or {}
        if info.get("section") not in SECTIONS:
            continue  # e.g. the server benchmarks, if they were run too
        key = (info["section"], info["row"], info.get("feed", ""))
        median = bench["stats"]["median"]
        value = info["bytes"] / median / 1e9 if info["section"] == "mask" else info["messages"] / median
        results.setdefault(key, {})[info["peer"]] = value
        labels[key] = info["label"]
    return results, labels, data.get("machine_info", {})


def fmt(value: float | None, section: str) -> str:
    if value is None:
        return "n/a"
    if section == "mask":
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    return f"{value / 1e3:.1f} k" if value >= 1e4 else f"{value:,.0f}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def fmt_ratio(r: float | None) -> str:
    return "n/a" if r is None else f"{r:.2f}x"


ORDER = {
    "mask": ["125B", "4KiB", "32KiB", "128KiB", "1MiB"],
    "receive": ["text64", "bin1k", "bin128k", "text128k"],
    "send": ["text64", "bin1k", "bin128k"],
}


def sorted_keys(results: Results, section: str) -> list[tuple[str, str, str]]:
    """The section's cases in the issue's order, one-frame feeds before 64 KiB reads."""
    order = ORDER[section]
    keys = [k for k in results if k[0] == section]
    return sorted(keys, key=lambda k: (order.index(k[1]) if k[1] in order else 99, k[2] != "frames"))


def tables(results: Results, labels: dict[tuple[str, str, str], str]) -> list[str]:
    lines: list[str] = []
    for section, title in SECTIONS.items():
        keys = sorted_keys(results, section)
        if not keys:
            continue
        lines += [f"### {title}", ""]
        head = ["case", *PEERS, *(f"compiled / {p}" for p in OTHERS), "pure / wsproto"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for key in keys:
            row = results[key]
            case = labels[key] + (f", {FEED_LABEL[key[2]]}" if key[2] else "")
            cells = [case, *(fmt(row.get(p), section) for p in PEERS)]
            cells += [fmt_ratio(ratio(row.get("framer-compiled"), row.get(p))) for p in OTHERS]
            cells.append(fmt_ratio(ratio(row.get("framer-pure"), row.get("wsproto"))))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def targets(results: Results, labels: dict[tuple[str, str, str], str]) -> list[str]:
    """Issue 3's targets, each with the measured ratio."""
    checks: list[tuple[str, tuple[str, str, str], str, str, float]] = []
    for size in ("32KiB", "128KiB"):
        checks.append(("unmask: 1.2x aiohttp's Cython mask", ("mask", size, ""), "framer-compiled", "aiohttp", 1.2))
    for key in sorted_keys(results, "receive"):
        checks.append(("receive: 1.0x aiohttp's reader", key, "framer-compiled", "aiohttp", 1.0))
        if key[1] == "text64":
            checks.append(("receive 64 B text: 15x wsproto", key, "framer-compiled", "wsproto", 15.0))
    text64 = ("send", "text64", "")
    if results.get(text64, {}).get("picows"):
        checks.append(("send 64 B text: 0.8x picows", text64, "framer-compiled", "picows", 0.8))
    else:
        checks.append(("send 64 B text: 2x aiohttp's writer (no picows)", text64, "framer-compiled", "aiohttp", 2.0))
    checks.append(("send 128 KiB fragmented: 1.0x picows", ("send", "bin128k", ""), "framer-compiled", "picows", 1.0))
    for key in [*sorted_keys(results, "receive"), *sorted_keys(results, "send")]:
        checks.append(("pure mode: 1.5x wsproto", key, "framer-pure", "wsproto", 1.5))
    lines = ["### Issue 3 targets", "", "| target | case | measured | met |", "|---|---|---|---|"]
    met = 0
    for name, key, ours, theirs, need in checks:
        r = ratio(results.get(key, {}).get(ours), results.get(key, {}).get(theirs))
        ok = r is not None and r >= need
        met += ok
        case = labels.get(key, key[1]) + (f", {FEED_LABEL[key[2]]}" if key[2] else "")
        verdict = "n/a (peer missing)" if r is None else ("met" if ok else "**not met**")
        lines.append(f"| {name} | {case} | {fmt_ratio(r)} | {verdict} |")
    lines += ["", f"{met} of {len(checks)} targets met.", ""]
    return lines


def machine(info: dict[str, Any]) -> list[str]:
    model = cpus = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "Model name":
                model = value.strip()
            elif name.strip() == "CPU(s)":
                cpus = value.strip()
    except OSError:
        pass
    versions = []
    for module in ("framer", "wsproto", "websockets", "aiohttp", "picows"):
        try:
            from importlib.metadata import version

            versions.append(f"{module} {version(module)}")
        except Exception:
            versions.append(f"{module} (not installed)")
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return [
        f"Machine: {model}, {cpus} CPUs; {platform.system()} {platform.release()}; "
        f"{platform.python_implementation()} {info.get('python_version', platform.python_version())}; "
        f"load average at the end {', '.join(f'{x:.2f}' for x in load)}.",
        "Versions: " + ", ".join(versions) + ".",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", type=Path, help="print the tables of this JSON, run nothing")
    parser.add_argument("--json", type=Path, help="keep pytest-benchmark's JSON here")
    parser.add_argument("--max-time", type=float, default=0.5, help="seconds per case (default 0.5)")
    parser.add_argument("--pin-malloc", action="store_true",
                        help="pin glibc's trim and mmap thresholds (all peers alike); see above")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments, after --, e.g. -- -k receive")
    args = parser.parse_args(argv)
    if args.source:
        path = args.source
    else:
        path = args.json or Path(tempfile.mkstemp(prefix="framer-bench-", suffix=".json")[1])
        run_suite(path, args.max_time, args.pytest_args, args.pin_malloc)
    results, labels, info = load(path)
    heap = [f"glibc malloc pinned: {' '.join(f'{k}={v}' for k, v in PINNED_MALLOC.items())}.", ""] if args.pin_malloc else []
    print("\n".join(["## framer engine benchmarks", "", *machine(info), *heap, *tables(results, labels), *targets(results, labels)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
