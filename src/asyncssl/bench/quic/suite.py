"""``python -m asyncssl bench quic``: native QUIC over 127.0.0.1, asyncssl against its peers.

(a) Bulk: one connection, one stream, 64 MiB client → server in 64 KiB writes; MB/s and
    each side's CPU seconds, for four client/server pairs, each side in its own process:
    ``c`` (asyncssl/bench/csrc/quic_bench_{client,server}.c on the OpenSSL asyncssl is linked
    with), ``sync`` (asyncssl's SSL objects, non-blocking, select() on the poll
    descriptors), ``aio`` (aio.quic_connect / aio.quic_serve) and ``aioquic`` (aioquic
    client ↔ aioquic server, pure Python).
(b) Many: 100 concurrent connections × 4 streams from one asyncssl asyncio client process
    against one aio.quic_serve process: completion time, errors, and the server's RSS
    growth per connection.
(c-f) QUIC at scale (``scale.py``), asyncssl.aio against aioquic and qh3: connections/s
    (sequential connects + one 64-byte echo each, all kept open), connect latency p50/p99
    in one process, server RSS per idle connection, idle CPU of a server holding them;
    and connections/s against N server processes sharing a port (``procs.py``).
(g) ``--hold N`` (``hold.py``, runs alone): one server holding N idle connections opened by
    several client processes; its CPU over windows long enough to include the keep-alives.

The steps are interleaved round-robin over the repetitions (``timing.py``); the report
gives medians and paired ratios, with asyncssl's targets as PASS/MISS lines — a report,
never an assertion. ``--profile sync|aio`` runs one bulk step with both asyncssl sides
under cProfile and prints where their time goes.
"""

from __future__ import annotations

import argparse
import pstats
import sys
import tempfile
from pathlib import Path
from typing import Any

from .. import report, timing
from . import hold, scale
from .common import LABELS, NAMES
from .run import StepFailed, run_pair
from .setup import Measured, Run, Setup

DESCRIPTION = ("native QUIC on 127.0.0.1: 1-stream bulk MB/s + CPU vs C and aioquic; 100 conns x 4 streams; "
               "at scale: conn/s, connect latency, idle RSS and CPU vs aioquic and qh3")


DEFAULT_REPEAT, QUICK_REPEAT = 3, 1
DEFAULT_BYTES, QUICK_BYTES = 64 << 20, 4 << 20
DEFAULT_MANY_BYTES, QUICK_MANY_BYTES = 64 << 10, 4 << 10
STEP_TIMEOUT = 300.0  # seconds: aioquic moves 64 MiB in ~3 s on an idle machine


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m asyncssl bench quic", description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_REPEAT} repetition, {QUICK_BYTES >> 20} MiB bulk, "
                             f"{QUICK_MANY_BYTES >> 10} KiB per stream in the many-connection test")
    parser.add_argument("--repeat", type=int, metavar="N", help=f"repetitions (default {DEFAULT_REPEAT})")
    parser.add_argument("--bytes", type=int, metavar="B", help=f"bulk payload (default {DEFAULT_BYTES})")
    parser.add_argument("--write-size", type=int, default=64 << 10, metavar="B", help="bulk write size (65536)")
    parser.add_argument("--only", type=lambda t: report.parse_names(t, NAMES, "contender"), metavar="LIST",
                        help=f"bulk contenders among {','.join(NAMES)} (default: all)")
    parser.add_argument("--connections", type=int, default=100, metavar="N", help="many test: connections (100)")
    parser.add_argument("--streams", type=int, default=4, metavar="N", help="many test: streams per connection (4)")
    parser.add_argument("--many-bytes", type=int, metavar="B",
                        help=f"many test: bytes per stream (default {DEFAULT_MANY_BYTES})")
    parser.add_argument("--no-many", action="store_true", help="skip the many-connection test")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where the JSON and PNG go (benchmarks/results)")
    parser.add_argument("--profile", choices=("sync", "aio"),
                        help="instead of the benchmark, run one bulk step of this asyncssl contender with both "
                             "sides under cProfile and print the top entries of each")
    parser.add_argument("--profile-top", type=int, default=20, metavar="N", help="entries --profile prints")
    scale.add_arguments(parser)
    hold.add_arguments(parser)
    args = parser.parse_args(argv)
    scale.finish_arguments(args, parser)
    hold.finish_arguments(args, parser)
    if args.repeat is None:
        args.repeat = QUICK_REPEAT if args.quick else DEFAULT_REPEAT
    if args.bytes is None:
        args.bytes = QUICK_BYTES if args.quick else DEFAULT_BYTES
    if args.many_bytes is None:
        args.many_bytes = QUICK_MANY_BYTES if args.quick else DEFAULT_MANY_BYTES
    if min(args.repeat, args.bytes, args.write_size, args.connections, args.streams, args.many_bytes) < 1:
        parser.error("--repeat, --bytes, --write-size, --connections, --streams and --many-bytes must be >= 1")
    return args


def _quic_server_problem() -> str | None:
    """Why this build cannot serve QUIC (None when it can)."""
    try:
        import asyncssl
    except Exception as exc:  # the extension is not built, or cannot load here
        return f"asyncssl cannot be imported ({type(exc).__name__}: {exc})"
    if not asyncssl.capabilities().get("quic_server"):
        return (f"the linked {asyncssl.openssl_version()} has no QUIC server (OpenSSL 3.5 brought "
                "SSL_new_listener): nothing to measure")
    return None


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    problem = _quic_server_problem()
    if problem:
        print(f"bench quic: {problem}")
        return 0
    return run(args)


# --- the run ----------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from . import report as quic_report

    progress = report.Progress()
    with tempfile.TemporaryDirectory(prefix="asyncssl-bench-quic-") as tmp:
        if args.hold:
            return hold.run_alone(args, Path(tmp), progress)
        if args.scale_only and not args.profile:
            return scale.run_alone(args, Path(tmp), progress)
        setup = Setup(args, Path(tmp), progress)
        if args.profile:
            return _profile(args, setup, progress, Path(tmp))
        if not setup.contenders and args.no_many:
            progress.note("no contender could run; nothing to measure")
            return 1
        load_before = report.load_average()
        measured = _measure(args, setup, progress)
        scale_data = None if args.no_scale else scale.summarize(args, scale.measure(args, setup.certs, progress))
    data = quic_report.document(args, setup, measured)
    data["machine"]["load_average_1min"] = {"before": load_before, "after": report.load_average()}
    data["scale"] = scale_data
    if scale_data is not None:
        scale.emit(scale_data)
    quic_report.emit(args, data, progress)
    return 0


def _measure(args: argparse.Namespace, setup: Setup, progress: report.Progress) -> Measured:
    bulk: dict[str, list[Run | None]] = {name: [] for name in setup.contenders}
    many: list[dict[str, Any]] = []
    failed: dict[str, str] = {}
    progress.total = args.repeat * (len(setup.contenders) + (0 if args.no_many else 1))
    for rep in range(args.repeat):
        for name in timing.round_robin(setup.contenders, rep):
            label = f"rep {rep + 1}/{args.repeat}  bulk  {LABELS[name]:<17}"
            try:
                server, client = run_pair(*setup.bulk_pair(name), setup.env, STEP_TIMEOUT)
            except StepFailed as exc:
                # Recorded, and the next repetition tries again: on a tree others are
                # editing, one failure is often passing. Ratios pair only repetitions
                # where both sides ran.
                failed[f"{name} (rep {rep + 1})"] = f"bulk: {exc}"
                bulk[name].append(None)
                progress.step(f"{label} FAILED: {exc}")
                continue
            bulk[name].append({"server": server, "client": client})
            mbps = client["bytes"] / client["seconds"] / 1e6
            progress.step(f"{label} {report.format_number(mbps):>8} MB/s   CPU client "
                          f"{client['cpu']:.2f} s, server {server['cpu']:.2f} s")
        if args.no_many:
            continue
        label = f"rep {rep + 1}/{args.repeat}  many  {args.connections} conns x {args.streams} streams"
        try:
            server, client = run_pair(*setup.many_pair(), setup.env, STEP_TIMEOUT)
        except StepFailed as exc:
            failed[f"many (rep {rep + 1})"] = f"many: {exc}"
            many.append({"failed": str(exc)})
            progress.step(f"{label} FAILED: {exc}")
            continue
        many.append({"server": server, "client": client})
        errors = len(server["errors"]) + len(client["errors"])
        per_conn = (server["rss_all_open"] - server["rss_before"]) / args.connections
        progress.step(f"{label} {client['seconds']:.2f} s, {errors} errors, "
                      f"{per_conn / 1024:.0f} KiB RSS per connection")
    return {"bulk": bulk, "many": many, "failed": failed}


def _profile(args: argparse.Namespace, setup: Setup, progress: report.Progress, tmp: Path) -> int:
    name = args.profile
    files = {side: str(tmp / f"{name}-{side}.pstats") for side in ("client", "server")}
    progress.note(f"profiling {LABELS[name]}: {args.bytes} bytes, both sides under cProfile")
    try:
        server, client = run_pair(*setup.bulk_pair(name, files), setup.env, STEP_TIMEOUT)
    except StepFailed as exc:
        progress.note(f"the profiled step failed: {exc}")
        return 1
    print(f"{LABELS[name]} bulk under cProfile: {client['bytes'] / client['seconds'] / 1e6:,.1f} MB/s, "
          f"CPU client {client['cpu']:.2f} s, server {server['cpu']:.2f} s "
          "(the profiler slows Python calls; compare shares, not the rate)")
    for side in ("client", "server"):
        print(f"\n=== {side} side, top {args.profile_top} by own time ===")
        stats = pstats.Stats(files[side], stream=sys.stdout)
        stats.strip_dirs().sort_stats("tottime").print_stats(args.profile_top)
    return 0


if __name__ == "__main__":  # pragma: no cover - normally run through python -m asyncssl bench quic
    sys.exit(main(sys.argv[1:]))
