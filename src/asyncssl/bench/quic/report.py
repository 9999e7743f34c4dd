"""The QUIC suite's report: the JSON document, the tables, the PASS/MISS lines, the plot.

Throughput ratios are paired (same repetition, then the median: ``timing.paired_ratio``),
which cancels most of the drift a shared machine adds; the absolute numbers are not.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import sys
from typing import TYPE_CHECKING, Any

from .. import isolate, report, timing
from .common import LABELS, NAMES

if TYPE_CHECKING:
    import argparse

    from .setup import Measured, Run, Setup

# (asyncssl contender, baseline, minimum ratio of bulk MB/s): the targets.
TARGETS = [("sync", "c", 0.9), ("aio", "c", 0.9), ("sync", "aioquic", 10.0), ("aio", "aioquic", 10.0)]
COLORS = {"C (same OpenSSL)": "tab:gray", "asyncssl sync": "tab:blue", "asyncssl asyncio": "tab:cyan",
          "aioquic": "tab:orange"}


def _summary(values: list[float]) -> dict[str, Any]:
    return {"median": timing.median(values), "min": min(values), "max": max(values),
            "spread": timing.spread(values), "values": values} if values else {}


def _contender_info(name: str, runs: list[Run | None], setup: Setup) -> dict[str, Any]:

    if name in setup.unavailable:
        return {"label": LABELS[name], "available": False, "reason": setup.unavailable[name]}
    done = [r for r in runs if r]
    info: dict[str, Any] = {"label": LABELS[name], "available": bool(done)}
    if done:
        client = done[0]["client"]
        info.update({"openssl": client.get("openssl"), "cipher": client.get("cipher"), "mode": client.get("mode")})
        if name == "c":
            info["binaries"] = setup.binaries
            info["openssl_source"] = f"compiled and linked against {setup.prefix or 'the system library'}"
        elif name == "aioquic":
            info["openssl_source"] = "none: aioquic's own QUIC and TLS, crypto from cryptography's wheel"
        else:
            info["openssl_source"] = "asyncssl's linked OpenSSL"
    return info


def _many_summary(args: argparse.Namespace, many: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [m for m in many if "failed" not in m]
    errors = [e for m in ok for e in m["server"]["errors"] + m["client"]["errors"]]
    errors += [f"step failed: {m['failed']}" for m in many if "failed" in m]
    complete = [m["server"]["streams_answered"] == args.connections * args.streams for m in ok]
    per_conn = [(m["server"]["rss_all_open"] - m["server"]["rss_before"]) / args.connections for m in ok]
    peak_per_conn = [(m["server"]["rss_peak"] - m["server"]["rss_before"]) / args.connections for m in ok]
    return {
        "connections": args.connections, "streams_per_connection": args.streams,
        "bytes_per_stream": args.many_bytes, "runs": len(many),
        "completion_seconds": _summary([m["client"]["seconds"] for m in ok]),
        "client_cpu_seconds": _summary([m["client"]["cpu"] for m in ok]),
        "errors": len(errors), "error_messages": errors[:20],
        "all_complete": bool(many) and len(ok) == len(many) and all(complete),
        "rss_per_connection_bytes": _summary(per_conn),
        "rss_peak_per_connection_bytes": _summary(peak_per_conn),
        "server_rss_before_bytes": [m["server"]["rss_before"] for m in ok],
        "raw": ok,
    }


def document(args: argparse.Namespace, setup: Setup, measured: Measured) -> dict[str, Any]:
    from .common import ALPN, CIPHERSUITE

    bulk = measured["bulk"]
    # Per repetition, None where the step failed, so that ratios pair repetitions.
    per_rep = {n: [r["client"]["bytes"] / r["client"]["seconds"] / 1e6 if r else None for r in runs]
               for n, runs in bulk.items()}
    mbps = {n: [v for v in values if v is not None] for n, values in per_rep.items()}
    cpu = {side: {n: [r[side]["cpu"] for r in runs if r] for n, runs in bulk.items()} for side in ("client", "server")}

    def paired(mine: str, baseline: str) -> float | None:
        pairs = [(a, b) for a, b in zip(per_rep.get(mine, []), per_rep.get(baseline, []), strict=False)
                 if a is not None and b is not None]
        return timing.paired_ratio(*zip(*pairs, strict=True)) if pairs else None

    targets = []
    for mine, baseline, target in TARGETS:
        entry: dict[str, Any] = {"test": "bulk", "contender": mine, "baseline": baseline, "target": target}
        ratio = paired(mine, baseline)
        if ratio is not None:
            entry["ratio"] = ratio
            entry["status"] = "PASS" if entry["ratio"] >= target else "MISS"
        else:
            entry["ratio"], entry["status"] = None, f"n/a ({mine if not mbps.get(mine) else baseline} not measured)"
        targets.append(entry)
    many = None if args.no_many else _many_summary(args, measured["many"])
    if many is not None:
        targets.append({"test": "many", "contender": "aio", "baseline": None, "target": "complete, 0 errors",
                        "ratio": None, "status": "PASS" if many["all_complete"] and many["errors"] == 0 else "MISS"})
    return {
        "suite": "quic",
        "format": 1,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
                    "python": sys.version.split()[0]},
        "settings": {"repeat": args.repeat, "quick": args.quick, "bulk_bytes": args.bytes,
                     "write_bytes": args.write_size, "read_bytes": 65536, "ciphersuite": CIPHERSUITE,
                     "alpn": ALPN.decode(), "transport": "UDP over 127.0.0.1, client and server in separate processes",
                     "timed_window": "first write to the server's 8-byte answer (client); stream accepted to FIN "
                                     "(server); handshake and process start-up excluded",
                     "cpu": "time.process_time() / CLOCK_PROCESS_CPUTIME_ID over each side's window",
                     "mb": "10**6 bytes of stream payload", "isolated_workers": True,
                     "worker_marker": isolate.CHILD_MARK},
        "contenders": {n: _contender_info(n, bulk.get(n, []), setup) for n in NAMES
                       if n in bulk or n in setup.unavailable},
        "tests": {
            "bulk": {"unit": "MB/s", "results": {n: _summary(v) for n, v in mbps.items() if v}},
            "client_cpu": {"unit": "CPU seconds", "results": {n: _summary(v) for n, v in cpu["client"].items() if v}},
            "server_cpu": {"unit": "CPU seconds", "results": {n: _summary(v) for n, v in cpu["server"].items() if v}},
        },
        "bulk_runs": bulk,  # every side's own report, per repetition (None: the step failed)
        "many": many,
        "ratios_vs_c": {n: paired(n, "c") for n in mbps if paired(n, "c") is not None},
        "failed": measured["failed"],
        "targets": targets,
    }


def emit(args: argparse.Namespace, data: dict[str, Any], progress: report.Progress) -> None:

    s, info = data["settings"], data["contenders"]
    names = [n for n in NAMES if n in data["tests"]["bulk"]["results"]]
    print(f"\nQUIC over 127.0.0.1 — one stream, {s['bulk_bytes'] / 2**20:g} MiB client → server in "
          f"{s['write_bytes'] // 1024} KiB writes, {s['ciphersuite']}; {s['repeat']} repetition(s), round-robin; "
          "medians, spread = (max-min)/median\n")
    load, cpus = data["machine"]["load_average_1min"], data["machine"]["cpus"] or 1
    if any(v is not None and v > cpus / 2 for v in (load["before"], load["after"])):
        print(f"WARNING: the machine was busy (1-min load average {load['before']} before, {load['after']} after, "
              f"{cpus} CPUs): absolute numbers are low and noisy; the paired ratios are the figures to read\n")
    rows = []
    for n in names:
        bulk = data["tests"]["bulk"]["results"][n]
        ratio = data["ratios_vs_c"].get(n)
        rows.append([LABELS[n], report.format_number(bulk["median"]), f"{bulk['spread']:.0%}",
                     f"{ratio:.2f}" if ratio is not None else "",
                     f"{data['tests']['client_cpu']['results'][n]['median']:.3f}",
                     f"{data['tests']['server_cpu']['results'][n]['median']:.3f}",
                     info[n].get("openssl") or ""])
    print(report.format_table(["contender", "MB/s", "spread", "xC", "client CPU s", "server CPU s", "runs on"],
                              rows, [False, True, True, True, True, True, False]))
    for n, entry in info.items():
        if not entry.get("available"):
            print(f"{entry['label']}: not measured — {entry.get('reason') or data['failed'].get(n, 'failed')}")

    many = data["many"]
    if many is not None:
        print(f"\nmany connections — {many['connections']} concurrent connections x {many['streams_per_connection']} "
              f"streams x {many['bytes_per_stream']} B, asyncssl asyncio client process → one aio.quic_serve "
              "process:\n")
        done, rss, peak = many["completion_seconds"], many["rss_per_connection_bytes"], \
            many["rss_peak_per_connection_bytes"]
        rows = [["completion time (s)", f"{done['median']:.2f}" if done else "—"],
                ["errors", str(many["errors"])],
                ["all streams answered", "yes" if many["all_complete"] else "NO"],
                ["server RSS / connection, all open (KiB)", f"{rss['median'] / 1024:.0f}" if rss else "—"],
                ["server RSS / connection, peak (KiB)", f"{peak['median'] / 1024:.0f}" if peak else "—"]]
        print(report.format_table(["measure", "median"], rows, [False, True]))
        for message in many["error_messages"][:5]:
            print(f"  error: {message}")

    print("\nasyncssl targets (paired ratios, median over repetitions; a report, not a test):\n")
    rows = []
    for t in data["targets"]:
        if t["test"] == "many":
            rows.append([f"{many['connections']}x{many['streams_per_connection']} streams", LABELS["aio"], "",
                         "", t["target"], t["status"]])
            continue
        ratio = t["ratio"]
        rows.append(["bulk MB/s", LABELS[t["contender"]], f"vs {LABELS[t['baseline']]}",
                     f"{ratio:.2f}x" if ratio is not None else "—", f">= {t['target']:g}x", t["status"]])
    print(report.format_table(["test", "contender", "baseline", "ratio", "target", "result"], rows,
                              [False, False, False, True, True, False]))
    for name, why in data["failed"].items():
        print(f"\n{name} FAILED during {why}")

    out = args.out or report.default_out_dir()
    version = next((info[n]["openssl"] for n in ("c", "sync", "aio") if info.get(n, {}).get("openssl")), "")
    match = re.search(r"OpenSSL (\S+)", version)
    stem = f"quic-openssl-{match.group(1)}" if match else "quic"
    png = out / f"{stem}.png"
    data["files"] = {"json": str(out / f"{stem}.json"), "png": str(png)}
    # CPU in milliseconds: report.plot_bars labels its axis with whole numbers.
    panels = [(title, {LABELS[n]: [v * scale for v in data["tests"][test]["results"][n]["values"]] for n in names})
              for test, title, scale in (("bulk", "bulk MB/s (1 stream, 64 KiB writes)", 1),
                                         ("client_cpu", "client CPU ms (whole transfer)", 1000),
                                         ("server_cpu", "server CPU ms (whole transfer)", 1000))]
    why_not = report.plot_bars(png, f"QUIC over 127.0.0.1, {s['ciphersuite']} (medians, min-max whiskers)",
                               panels, COLORS) if names else "nothing measured"
    if why_not:
        data["files"]["png"] = None
        progress.note(f"no plot: {why_not}")
    report.write_json(out / f"{stem}.json", data)
    print(f"\nwrote {out / f'{stem}.json'}" + ("" if why_not else f" and {png}"))
