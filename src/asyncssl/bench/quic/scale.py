"""``bench quic``'s "QUIC at scale" workloads: asyncssl.aio against aioquic and qh3.

(c) connections/s: one client process opens connections one after another, each with one
    64-byte stream echo, and keeps them all open (``scale_peer.py``); the rate is
    connections over the time from the first connect to the last echo.
(d) server RSS per idle connection: the server's RSS with all of them open minus its RSS
    after one warm-up connection, over the number of connections.
(e) idle CPU: the server's CPU time while it holds all of them idle for ``--idle-seconds``
    (the client idles too), as a share of one core; it must sleep. The default window
    (16 s) covers one keep-alive round of every connection (OpenSSL PINGs an idle
    connection every 15 s); ``bench quic --hold N`` (``hold.py``) measures longer.
(f) connect latency: client and server in one process on one loop, sequential connects
    (each followed by one echo, then closed); p50 and p99 of the connect, p50 of the echo.
(g) connections/s against N server processes sharing a port (``reuse_port=True``), the
    clients being C programs in parallel (``procs.py``; ``--scale-processes``).

Each implementation is client and server of its own runs, in the same order every
repetition rotated (``timing.round_robin``). asyncssl runs ``aio.quic_serve`` with its
defaults — address validation on, so one Retry round trip per connection — and, for the
record, also with ``validate_address=False`` (``aio-noretry``; aioquic and qh3 serve without
Retry by default). Ratios are paired per repetition; the PASS/MISS lines are a report,
never an assertion.
"""

from __future__ import annotations

import argparse
import functools
import statistics
from pathlib import Path
from typing import Any

from .. import isolate, report, timing
from . import procs
from .run import Side, StepFailed, python_worker

SCALE_NAMES = ("aio", "aio-tuned", "aioquic", "qh3", *procs.C_CONFIGS)
SCALE_LABELS = {"aio": "asyncssl asyncio", "aio-tuned": "asyncssl asyncio, tuned", "aioquic": "aioquic",
                "qh3": "qh3", "c": "OpenSSL's C server", "c-tuned": "OpenSSL's C server, no Retry"}
DEFAULT_CONNECTIONS, QUICK_CONNECTIONS = 500, 20
DEFAULT_ROUNDS, QUICK_ROUNDS = 200, 10
# 16 s: a window shorter than OpenSSL's keep-alive period (a PING every 15 s, half of its
# 30 s idle timeout) can miss every keep-alive and measure a server that never wakes.
DEFAULT_IDLE, QUICK_IDLE = 16.0, 0.3
STEP_TIMEOUT = 300.0
# aio-tuned: quic_serve(validate_address=False, shards=16). OpenSSL visits every connection
# of a listener on each tick, so with hundreds of connections more sockets sharing the port
# keep making each datagram cheaper (a C client against it: 601 conn/s with 4, 665 with 16).
TUNED_SHARDS = 16

# The targets: (what, contender, baseline or None, target, higher is better)
TARGETS: list[tuple[str, str, str | None, float, bool]] = [
    ("connections/s", "aio", "qh3", 2.0, True),
    ("connections/s", "aio", "aioquic", 3.0, True),
    ("connect p50 ms (one process)", "aio", None, 1.5, False),
    ("server RSS / idle connection", "aio", "qh3", 1.0, False),
    ("idle server CPU, % of a core", "aio", None, 1.0, False),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("QUIC at scale (connections/s, connect latency, idle memory and CPU)")
    group.add_argument("--scale-connections", type=int, metavar="N",
                       help=f"connections opened and kept (default {DEFAULT_CONNECTIONS}, --quick {QUICK_CONNECTIONS})")
    group.add_argument("--latency-rounds", type=int, metavar="N",
                       help=f"sequential connects timed in one process (default {DEFAULT_ROUNDS}, --quick {QUICK_ROUNDS})")
    group.add_argument("--idle-seconds", type=float, metavar="S",
                       help=f"how long the server's idle CPU is measured (default {DEFAULT_IDLE}, --quick {QUICK_IDLE})")
    group.add_argument("--scale-only", action="store_true", help="run only these workloads (no bulk, no many)")
    group.add_argument("--no-scale", action="store_true", help="skip these workloads")
    group.add_argument("--tuned-shards", type=int, default=TUNED_SHARDS, metavar="S",
                       help=f"the shards of the aio-tuned contender, here and in --hold (default {TUNED_SHARDS})")
    group.add_argument("--scale-contenders", type=lambda t: report.parse_names(t, SCALE_NAMES, "scale contender"),
                       metavar="LIST", help=f"among {','.join(SCALE_NAMES)} (default: all)")
    group.add_argument("--scale-processes", type=procs.parse_processes, metavar="LIST",
                       default=list(procs.DEFAULT_PROCESSES),
                       help="connections/s against N asyncssl server processes sharing a port (reuse_port=True), "
                            "C clients in parallel sharing --scale-connections, for each N in LIST (default "
                            f"{','.join(map(str, procs.DEFAULT_PROCESSES))}; 'none' skips it); for the aio, "
                            "aio-tuned, c and c-tuned (OpenSSL's C server) contenders selected")
    group.add_argument("--scale-process-clients", type=int, default=procs.CLIENT_PROCESSES, metavar="N",
                       help=f"C client processes of that workload, whatever N (default {procs.CLIENT_PROCESSES})")
    group.add_argument("--scale-processes-only", action="store_true",
                       help="run only the N-server-processes workload (implies --scale-only)")


def finish_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.scale_connections is None:
        args.scale_connections = QUICK_CONNECTIONS if args.quick else DEFAULT_CONNECTIONS
    if args.latency_rounds is None:
        args.latency_rounds = QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS
    if args.idle_seconds is None:
        args.idle_seconds = QUICK_IDLE if args.quick else DEFAULT_IDLE
    if min(args.scale_connections, args.latency_rounds) < 1 or args.idle_seconds <= 0:
        parser.error("--scale-connections and --latency-rounds must be >= 1, --idle-seconds > 0")
    if args.scale_process_clients < 1:
        parser.error("--scale-process-clients must be >= 1")
    if args.scale_processes_only:
        if args.no_scale:
            parser.error("--scale-processes-only and --no-scale exclude each other")
        if not args.scale_processes:
            parser.error("--scale-processes-only needs at least one process count")
        args.scale_only = True
    if args.tuned_shards < 1:
        parser.error("--tuned-shards must be >= 1")
    if args.scale_only and args.no_scale:
        parser.error("--scale-only and --no-scale exclude each other")


def _unavailable(names: list[str]) -> dict[str, str]:
    why: dict[str, str] = {}
    for name in names:
        if name in ("aioquic", "qh3"):
            try:
                __import__(name)
            except ImportError as exc:
                why[name] = f"{name} is not installed ({exc}); pip install {name}"
    return why


def measure(args: argparse.Namespace, certs: Any, progress: report.Progress) -> dict[str, Any]:
    """Every repetition: for each contender, the connections/s step (two processes) and
    the latency step (one process)."""
    names = list(args.scale_contenders or SCALE_NAMES)
    if args.scale_processes_only:
        names = procs.configs_of(names)
    unavailable = _unavailable(names)
    names = [n for n in names if n not in unavailable]
    for name, why in unavailable.items():
        progress.note(f"{SCALE_LABELS[name]}: not measured — {why}")
    env = isolate.child_environment(None)
    processes = procs.measure(args, certs, env, names, progress)
    # OpenSSL's C server is a reference of the N-processes workload only (it has no client
    # of the other workloads' STATS protocol).
    names = [] if args.scale_processes_only else [n for n in names if n not in procs.C_CONFIGS]
    runs: dict[str, list[dict[str, Any] | None]] = {n: [] for n in names}
    latency: dict[str, list[dict[str, Any] | None]] = {n: [] for n in names}
    failed: dict[str, str] = {}
    progress.total += args.repeat * len(names) * 2
    for rep in range(args.repeat):
        for name in timing.round_robin(names, rep):
            contender, validate, shards = ("aio", False, args.tuned_shards) if name == "aio-tuned" else (name, True, 1)
            base = {"contender": contender, "validate": validate, "shards": shards}
            server = {**base, "role": "scale-server", "certfile": str(certs.certfile), "keyfile": str(certs.keyfile)}
            client = {**base, "role": "scale-client", "cafile": str(certs.cafile),
                      "connections": args.scale_connections, "idle": args.idle_seconds}
            label = f"rep {rep + 1}/{args.repeat}  scale {SCALE_LABELS[name]:<27}"
            load = report.load_average()
            try:
                from .run import run_pair

                _, result = run_pair(Side(python_worker(server)), Side(functools.partial(_client_argv, client)),
                                     env, STEP_TIMEOUT)
            except StepFailed as exc:
                failed[f"{name} scale (rep {rep + 1})"] = str(exc)
                runs[name].append(None)
                progress.step(f"{label} FAILED: {exc}")
            else:
                result["load_average_1min"] = load
                runs[name].append(result)
                progress.step(f"{label} {_rate(result):7.0f} conn/s, {_rss(result) / 1024:5.1f} KiB RSS/conn, "
                              f"idle CPU {_idle(result):.2f}%  (load {load})")
            job = {**base, "role": "latency", "certfile": str(certs.certfile), "keyfile": str(certs.keyfile),
                   "cafile": str(certs.cafile), "rounds": args.latency_rounds}
            label = f"rep {rep + 1}/{args.repeat}  latency {SCALE_LABELS[name]:<25}"
            try:
                result = _run_one(python_worker(job), env)
            except StepFailed as exc:
                failed[f"{name} latency (rep {rep + 1})"] = str(exc)
                latency[name].append(None)
                progress.step(f"{label} FAILED: {exc}")
            else:
                latency[name].append(result)
                progress.step(f"{label} connect p50 {statistics.median(result['connect_ms']):.2f} ms, "
                              f"p99 {_p99(result['connect_ms']):.2f} ms; echo p50 "
                              f"{statistics.median(result['echo_ms']):.2f} ms")
    return {"names": names, "unavailable": unavailable, "runs": runs, "latency": latency, "failed": failed,
            "processes": processes}


def _client_argv(job: dict[str, Any], port: int) -> list[str]:
    return python_worker({**job, "port": port})


def _run_one(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    import json
    import subprocess

    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=STEP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise StepFailed(f"did not finish within {STEP_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        raise StepFailed(f"failed ({done.returncode}):\n" + "\n".join(done.stderr.strip().splitlines()[-10:]))
    for line in reversed(done.stdout.strip().splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return result
    raise StepFailed("printed no result")


def _rate(r: dict[str, Any]) -> float:
    return float(r["connections"] / r["seconds"])


def _rss(r: dict[str, Any]) -> float:
    return float((r["rss_all_open"] - r["rss_before"]) / r["connections"])


def _idle(r: dict[str, Any]) -> float:
    return float(100.0 * r["idle_cpu"] / r["idle_wall"])


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def summarize(args: argparse.Namespace, measured: dict[str, Any]) -> dict[str, Any]:
    names, runs, latency = measured["names"], measured["runs"], measured["latency"]
    per_rep: dict[str, dict[str, list[float | None]]] = {
        "connections_per_second": {n: [_rate(r) if r else None for r in runs[n]] for n in names},
        "rss_per_idle_connection_bytes": {n: [_rss(r) if r else None for r in runs[n]] for n in names},
        "idle_cpu_percent": {n: [_idle(r) if r else None for r in runs[n]] for n in names},
        "connect_p50_ms": {n: [statistics.median(r["connect_ms"]) if r else None for r in latency[n]] for n in names},
        "connect_p99_ms": {n: [_p99(r["connect_ms"]) if r else None for r in latency[n]] for n in names},
        "echo_p50_ms": {n: [statistics.median(r["echo_ms"]) if r else None for r in latency[n]] for n in names},
    }
    results = {test: {n: _summary([v for v in values if v is not None]) for n, values in by_name.items()}
               for test, by_name in per_rep.items()}

    def paired(test: str, mine: str, baseline: str) -> float | None:
        pairs = [(a, b) for a, b in zip(per_rep[test].get(mine, []), per_rep[test].get(baseline, []), strict=False)
                 if a is not None and b is not None and b > 0]
        return timing.paired_ratio(*zip(*pairs, strict=True)) if pairs else None

    test_of = {"connections/s": "connections_per_second", "connect p50 ms (one process)": "connect_p50_ms",
               "server RSS / idle connection": "rss_per_idle_connection_bytes",
               "idle server CPU, % of a core": "idle_cpu_percent"}
    targets = []
    for what, mine, baseline, target, higher in TARGETS + [(w, "aio-tuned", b, t, h) for w, _, b, t, h in TARGETS]:
        if mine not in names:
            continue
        test = test_of[what]
        entry: dict[str, Any] = {"test": what, "contender": mine, "baseline": baseline, "target": target,
                                 "higher_is_better": higher}
        value = paired(test, mine, baseline) if baseline else results[test].get(mine, {}).get("median")
        entry["value"] = value
        if value is None:
            entry["status"] = "n/a (not measured)"
        else:
            entry["status"] = "PASS" if (value >= target if higher else value <= target) else "MISS"
        targets.append(entry)
    return {
        "settings": {"connections": args.scale_connections, "latency_rounds": args.latency_rounds,
                     "tuned": f"quic_serve(validate_address=False, shards={args.tuned_shards})",
                     "idle_seconds": args.idle_seconds, "repeat": args.repeat, "echo_bytes": 64,
                     "transport": "UDP over 127.0.0.1; connections/s, RSS and idle CPU: client and server in "
                                  "two processes; latency: both in one process, one loop"},
        "contenders": {n: {"label": SCALE_LABELS[n], "available": n in names,
                           **({"reason": measured["unavailable"][n]} if n in measured["unavailable"] else {}),
                           **({"version": next((r["version"] for r in runs[n] if r), None)} if n in names else {})}
                       for n in list(names) + list(measured["unavailable"])},
        "results": results,
        "runs": runs,
        "latency_runs": latency,
        "load_average_1min": [r.get("load_average_1min") for n in names for r in runs[n] if r],
        "failed": measured["failed"],
        "targets": targets,
        "processes": procs.summarize(args, measured["processes"]),
    }


def _summary(values: list[float]) -> dict[str, Any]:
    return {"median": timing.median(values), "min": min(values), "max": max(values),
            "spread": timing.spread(values), "values": values} if values else {}


def emit(data: dict[str, Any]) -> None:
    s, results = data["settings"], data["results"]
    names = [n for n in SCALE_NAMES if data["contenders"].get(n, {}).get("available")]
    if not names and data.get("processes") is not None:   # --scale-processes-only
        procs.emit(data["processes"])
        return
    print(f"\nQUIC at scale — {s['connections']} connections opened one after another, one {s['echo_bytes']}-byte "
          f"stream echo each, all kept open (two processes); connect latency over {s['latency_rounds']} sequential "
          f"connects in one process; {s['repeat']} repetition(s); medians\n")

    def cell(test: str, n: str, fmt: str, scale: float = 1.0) -> str:
        entry = results[test].get(n)
        return fmt.format(entry["median"] * scale) if entry else "—"

    rows = [[SCALE_LABELS[n], cell("connections_per_second", n, "{:.0f}"),
             cell("connect_p50_ms", n, "{:.2f}"), cell("connect_p99_ms", n, "{:.2f}"), cell("echo_p50_ms", n, "{:.2f}"),
             cell("rss_per_idle_connection_bytes", n, "{:.1f}", 1 / 1024), cell("idle_cpu_percent", n, "{:.2f}"),
             data["contenders"][n].get("version") or ""] for n in names]
    print(report.format_table(["contender", "conn/s", "connect p50 ms", "p99 ms", "echo p50 ms",
                               "server KiB/idle conn", "idle CPU %", "runs on"], rows,
                              [False, True, True, True, True, True, True, False]))
    if "aio-tuned" in names:
        print(f"tuned: {s['tuned']}")
    loads = [v for v in data["load_average_1min"] if v is not None]
    if loads:
        print(f"1-min load average during the steps: {min(loads):.2f} to {max(loads):.2f}")
    for entry in data["contenders"].values():
        if not entry.get("available"):
            print(f"{entry['label']}: not measured — {entry.get('reason', 'failed')}")
    print("\nasyncssl QUIC-at-scale targets (paired ratios per repetition, medians; a report, not a test):\n")
    rows = []
    for t in data["targets"]:
        value = t["value"]
        if t["baseline"]:
            shown = "—" if value is None else f"{value:.2f}x"
            goal = f"{'>=' if t['higher_is_better'] else '<='} {t['target']:g}x {SCALE_LABELS[t['baseline']]}"
        else:
            shown = "—" if value is None else f"{value:.2f}"
            goal = f"{'>=' if t['higher_is_better'] else '<='} {t['target']:g}"
        rows.append([t["test"], SCALE_LABELS[t["contender"]], shown, goal, t["status"]])
    print(report.format_table(["test", "contender", "measured", "target", "result"], rows,
                              [False, False, True, False, False]))
    for name, why in data["failed"].items():
        print(f"\n{name} FAILED: {why}")
    procs.emit(data.get("processes"))


def run_alone(args: argparse.Namespace, directory: Path, progress: report.Progress) -> int:
    """``--scale-only``: these workloads, their table, their JSON (quic-scale-*.json)."""
    import datetime
    import os
    import platform
    import re
    import sys

    from ..certs import write_certificates
    from .common import openssl_version

    certs = write_certificates(directory)
    load_before = report.load_average()
    data = summarize(args, measure(args, certs, progress))
    doc = {"suite": "quic-scale", "format": 1,
           "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0],
                       "load_average_1min": {"before": load_before, "after": report.load_average()}},
           "scale": data}
    emit(data)
    out = args.out or report.default_out_dir()
    match = re.search(r"OpenSSL (\S+)", openssl_version())
    path = out / (f"quic-scale-openssl-{match.group(1)}.json" if match else "quic-scale.json")
    report.write_json(path, doc)
    print(f"\nwrote {path}")
    return 0
