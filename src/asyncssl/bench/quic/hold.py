"""``bench quic --hold N``: one server process holding N idle QUIC connections.

`--hold-clients` client processes open N connections between them (one after another in
each, one 64-byte echo each) and keep them open; the server then measures
`--hold-windows` windows of `--hold-window-seconds` while nothing but the stacks' own
keep-alive traffic moves (``hold_peer.py``). Reported per contender: the time to open
them all, the server's RSS per connection, its CPU per window as a share of one core, how
many connections were still open at the end, and for asyncssl and the C server the loop's wakeups per
second, what one ``SSL_handle_events`` on a listener costs with that many connections and
what one ``SSL_poll`` over them costs (how a pass finds which idle connection has news);
``c`` is OpenSSL's own server on the same build (``csrc/quic_scale_server.c``: the same
loop without Python), held by asyncssl clients.

Why the windows are long: with OpenSSL's default idle timeout (30 s, which a QUIC server
on 3.5 cannot change, see README "QUIC at scale") each side of an idle connection sends a
PING every 15 s, so a window shorter than that can miss the keep-alive traffic entirely.
The default (4 windows of 10 s) covers at least two keep-alive rounds of every connection.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .. import isolate, report
from .run import StepFailed, _await_ready, _result, _tail, python_worker

HOLD_NAMES = ("aio", "aio-tuned", "c", "aioquic", "qh3")
HOLD_LABELS = {"aio": "asyncssl asyncio", "aio-tuned": "asyncssl asyncio, tuned", "c": "OpenSSL's C server",
               "aioquic": "aioquic", "qh3": "qh3"}
DEFAULT_CONTENDERS = ("aio", "aio-tuned", "c", "qh3")
DEFAULT_CLIENTS, DEFAULT_WINDOWS, DEFAULT_WINDOW_SECONDS = 4, 4, 10.0
IDLE_TARGET = 1.0  # the target: % of one core while idle
OPEN_TIMEOUT = 1800.0   # opening thousands of connections can take minutes on a loaded machine


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("QUIC holding many idle connections (runs alone)")
    group.add_argument("--hold", type=int, default=0, metavar="N",
                       help="instead of the other workloads: one server holding N idle connections")
    group.add_argument("--hold-clients", type=int, default=DEFAULT_CLIENTS, metavar="K",
                       help=f"client processes opening them (default {DEFAULT_CLIENTS})")
    group.add_argument("--hold-windows", type=int, default=DEFAULT_WINDOWS, metavar="W",
                       help=f"idle windows measured (default {DEFAULT_WINDOWS})")
    group.add_argument("--hold-window-seconds", type=float, default=DEFAULT_WINDOW_SECONDS, metavar="S",
                       help=f"length of each window (default {DEFAULT_WINDOW_SECONDS:g})")
    group.add_argument("--hold-contenders", type=lambda t: report.parse_names(t, HOLD_NAMES, "hold contender"),
                       metavar="LIST", help=f"among {','.join(HOLD_NAMES)} (default {','.join(DEFAULT_CONTENDERS)}); c is "
                            "OpenSSL's own server on the same build (csrc/quic_scale_server.c, the same loop "
                            "without Python), held by asyncssl clients")


def finish_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.hold < 0 or args.hold_clients < 1 or args.hold_windows < 1 or args.hold_window_seconds <= 0:
        parser.error("--hold must be >= 0, --hold-clients and --hold-windows >= 1, --hold-window-seconds > 0")
    if args.hold and args.hold < args.hold_clients:
        parser.error("--hold must be at least --hold-clients (each client opens one or more)")


def measure_one(name: str, args: argparse.Namespace, certs: Any, env: dict[str, str],
                c_server: str | None = None) -> dict[str, Any]:
    """One server and its clients; the server's result with the clients' added."""
    contender, validate, shards = ("aio", False, args.tuned_shards) if name == "aio-tuned" else (name, True, 1)
    client_contender = "aio" if name == "c" else contender   # OpenSSL's C server is held by asyncssl clients
    shares = [args.hold // args.hold_clients + (1 if i < args.hold % args.hold_clients else 0)
              for i in range(args.hold_clients)]
    if name == "c":
        assert c_server is not None   # compiled by run_alone
        argv = [c_server, str(certs.certfile), str(certs.keyfile), "--hold", str(args.hold),
                str(args.hold_windows), str(args.hold_window_seconds)]
    else:
        argv = python_worker({"contender": contender, "role": "hold-server", "certfile": str(certs.certfile),
                              "keyfile": str(certs.keyfile), "expect": args.hold, "windows": args.hold_windows,
                              "window_seconds": args.hold_window_seconds, "validate": validate, "shards": shards})
    server = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    clients: list[subprocess.Popen[str]] = []
    try:
        port = _await_ready(server)
        for share in shares:
            client_job = {"contender": client_contender, "role": "hold-client", "port": port, "cafile": str(certs.cafile),
                          "connections": share}
            clients.append(subprocess.Popen(python_worker(client_job), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True, env=env))
        deadline = time.monotonic() + OPEN_TIMEOUT + args.hold_windows * args.hold_window_seconds
        _wait_until_measured(server, clients, deadline)
        # Clients first (they count their connections still open while the server serves),
        # then the server; communicate() closes each one's stdin: the signal to end.
        reports = [_finish(proc, "a client") for proc in clients]
        result = _finish(server, "the server")
        result["clients"] = reports
        return result
    finally:
        for proc in [server, *clients]:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()


def _wait_until_measured(server: subprocess.Popen[str], clients: list[subprocess.Popen[str]],
                         deadline: float) -> None:
    """Until the server says MEASURED; a side that ends first, or the deadline, fails the step."""
    assert server.stdout is not None  # started with stdout=PIPE
    while True:
        for proc, who in [(server, "the server"), *((c, "a client") for c in clients)]:
            if proc.poll() is not None:
                _, err = proc.communicate()
                raise StepFailed(f"{who} ended early ({proc.returncode}):\n{_tail(err)}")
        if time.monotonic() > deadline:
            raise StepFailed("the server did not finish in time (opening the connections took too long?)")
        ready, _, _ = select.select([server.stdout], [], [], 0.5)
        if ready and server.stdout.readline().strip() == "MEASURED":
            return


def _finish(proc: subprocess.Popen[str], who: str) -> dict[str, Any]:
    try:
        out, err = proc.communicate(timeout=60.0)
    except subprocess.TimeoutExpired:
        raise StepFailed(f"{who} did not end when told to") from None
    if proc.returncode != 0:
        raise StepFailed(f"{who} failed ({proc.returncode}):\n{_tail(err)}")
    return _result(out, who)


def summarize(args: argparse.Namespace, runs: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    for name, r in runs.items():
        if r is None:
            continue
        windows = r["windows"]
        cpu = [100.0 * w["cpu"] / w["wall"] for w in windows]
        entry: dict[str, Any] = {
            "label": HOLD_LABELS[name], "version": r["version"], "connections": r["connections"],
            "open_seconds": r["open_seconds"], "connections_per_second": r["connections"] / r["open_seconds"],
            "rss_per_connection_bytes": (r["rss_all_open"] - r["rss_before"]) / r["connections"],
            "idle_cpu_percent_per_window": cpu, "idle_cpu_percent": sum(w["cpu"] for w in windows) * 100.0
            / sum(w["wall"] for w in windows),
            "still_open": sum(c["still_open"] for c in r["clients"]),
        }
        if "tick_us" in windows[0]:
            entry["wakeups_per_second"] = sum(w["wakeups"] for w in windows) / sum(w["wall"] for w in windows)
            entry["tick_us"] = [w["tick_us"] for w in windows]
            entry["tick_us_per_connection_per_listener"] = (
                sorted(entry["tick_us"])[len(windows) // 2] / (r["connections"] / r["shards"]))
            entry["shards"] = r["shards"]
        if "poll_us" in windows[0]:
            entry["poll_us"] = [w["poll_us"] for w in windows]
        entry["status"] = "PASS" if entry["idle_cpu_percent"] <= IDLE_TARGET else "MISS"
        rows[name] = entry
    return {"settings": {"connections": args.hold, "clients": args.hold_clients, "windows": args.hold_windows,
                         "tuned": f"quic_serve(validate_address=False, shards={args.tuned_shards})",
                         "window_seconds": args.hold_window_seconds,
                         "transport": "UDP over 127.0.0.1; one server process, client processes beside it"},
            "results": rows, "raw": runs}


def emit(data: dict[str, Any]) -> None:
    s = data["settings"]
    print(f"\nQUIC holding {s['connections']} idle connections — one server process, {s['clients']} client "
          f"processes; idle CPU over {s['windows']} windows of {s['window_seconds']:g} s\n")
    rows = []
    for entry in data["results"].values():
        windows = " ".join(f"{v:.1f}" for v in entry["idle_cpu_percent_per_window"])
        tick = (f"{sorted(entry['tick_us'])[len(entry['tick_us']) // 2]:.0f} µs "
                f"({entry['tick_us_per_connection_per_listener'] * 1000:.0f} ns/conn)") if "tick_us" in entry else "—"
        wake = f"{entry['wakeups_per_second']:.0f}" if "wakeups_per_second" in entry else "—"
        poll = f"{sorted(entry['poll_us'])[len(entry['poll_us']) // 2]:.0f} µs" if "poll_us" in entry else "—"
        rows.append([entry["label"], f"{entry['open_seconds']:.1f}", f"{entry['connections_per_second']:.0f}",
                     f"{entry['rss_per_connection_bytes'] / 1024:.1f}", f"{entry['idle_cpu_percent']:.2f}", windows,
                     f"{entry['still_open']}/{entry['connections']}", wake, tick, poll, entry["version"]])
    print(report.format_table(["contender", "open s", "conn/s", "KiB/conn", "idle CPU %", "per window %",
                               "still open", "wakeups/s", "one listener tick", "one SSL_poll over them",
                               "runs on"], rows,
                              [False, True, True, True, True, False, True, True, False, True, False]))
    if "aio-tuned" in data["results"]:
        print(f"tuned: {s['tuned']}")
    print(f"\nidle server CPU <= {IDLE_TARGET:g}% of a core (a report, not a test): "
          + ", ".join(f"{e['label']} {e['status']}" for e in data["results"].values()))
    for name, why in data.get("failed", {}).items():
        print(f"\n{name} FAILED: {why}")


def run_alone(args: argparse.Namespace, directory: Path, progress: report.Progress) -> int:
    from ..certs import write_certificates
    from .common import openssl_version
    from .scale import _unavailable

    certs = write_certificates(directory)
    names = list(args.hold_contenders or DEFAULT_CONTENDERS)
    unavailable = _unavailable(names)
    c_server = None
    if "c" in names:
        from ..ccompile import compile_linked

        progress.note("compiling asyncssl/bench/csrc/quic_scale_server.c against the linked OpenSSL")
        c_server, why = compile_linked("quic_scale_server.c")
        if c_server is None:
            unavailable["c"] = why or "the C server could not be built"
    for name, why in unavailable.items():
        progress.note(f"{HOLD_LABELS[name]}: not measured — {why}")
    names = [n for n in names if n not in unavailable]
    env = isolate.child_environment(None)
    runs: dict[str, dict[str, Any] | None] = {}
    failed: dict[str, str] = {}
    progress.total += len(names)
    load_before = report.load_average()
    for name in names:
        label = f"hold {args.hold} {HOLD_LABELS[name]:<24}"
        try:
            runs[name] = measure_one(name, args, certs, env, c_server)
        except StepFailed as exc:
            runs[name] = None
            failed[name] = str(exc)
            progress.step(f"{label} FAILED: {exc}")
            continue
        r = runs[name]
        assert r is not None
        cpu = [100.0 * w["cpu"] / w["wall"] for w in r["windows"]]
        progress.step(f"{label} opened in {r['open_seconds']:.1f} s; idle CPU per window "
                      + " ".join(f"{v:.1f}%" for v in cpu) + f" (load {report.load_average()})")
    data = summarize(args, runs)
    data["failed"] = failed
    emit(data)
    doc = {"suite": "quic-hold", "format": 1,
           "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0],
                       "load_average_1min": {"before": load_before, "after": report.load_average()}},
           "hold": data}
    out = args.out or report.default_out_dir()
    match = re.search(r"OpenSSL (\S+)", openssl_version())
    path = out / (f"quic-hold-{args.hold}-openssl-{match.group(1)}.json" if match else f"quic-hold-{args.hold}.json")
    report.write_json(path, doc)
    print(f"\nwrote {path}")
    return 0 if not failed else 1
