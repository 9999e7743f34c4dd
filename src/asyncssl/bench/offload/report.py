"""The report of ``bench offload``: JSON document, table, PASS/MISS lines and the PNG.

Ratios are paired (``timing.paired_ratio``): both configurations of a ratio ran in the
same repetition, so a busy moment on the shared machine cancels out of the ratio.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from typing import TYPE_CHECKING, Any, TypedDict

from .. import isolate, report, timing

if TYPE_CHECKING:
    import argparse

    from .server import Config

class Measured(TypedDict):
    """What ``_measure`` collects for ``report.result_document``."""

    steps: dict[str, list[dict[str, Any]]]  # per configuration name, one ``measure_step`` result per repetition
    failed: dict[str, str]  # configuration name -> why it failed


# The targets: MODE_ASYNC at the highest latency keeps this share of its 0 ms rate, and beats
# the blocking server at that latency by this factor.
HIDING_TARGET, VS_BLOCKING_TARGET = 0.8, 5.0

COLORS = {True: "tab:blue", False: "tab:orange"}
# A client process this busy (share of one core) is probably what limits the rate.
CLIENT_BOUND = 0.9


def _finite(value: float | None) -> float | None:
    """NaN (a ratio or spread over zeros) becomes None: JSON has no NaN, and "—" reads better."""
    return None if value is None or value != value else value


def _summary(values: list[float]) -> dict[str, Any]:
    return {"median": timing.median(values), "min": min(values), "max": max(values),
            "spread": _finite(timing.spread(values)), "values": values} if values else {}


def _median_of(steps: list[dict[str, Any]], key: str) -> float | None:
    values = [s[key] for s in steps if s.get(key) is not None]
    return timing.median(values) if values else None


def _config_entry(config: Config, steps: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [s["handshakes_per_s"] for s in steps]
    entry: dict[str, Any] = {
        "label": config.label, "async_mode": config.async_mode, "latency_ms": config.latency_ms,
        "handshakes_per_s": _summary(rates),
        "client_handshakes_per_s": _summary([s["client_handshakes_per_s"] for s in steps]),
        "loop_cpu_busy": _median_of(steps, "loop_cpu_busy"),
        "process_cpu_busy": _median_of(steps, "process_cpu_busy"),
        "client_cpu_busy_max": _median_of(steps, "client_cpu_busy_max"),
        "connection_p50_ms": _median_of(steps, "connection_p50_ms"),
        "connection_p99_ms": _median_of(steps, "connection_p99_ms"),
        "client_errors": sum(s["client_errors"] for s in steps),
        "client_first_error": next((s["client_first_error"] for s in steps if s["client_first_error"]), ""),
        "server_echo_errors": sum(s["server_echo_errors"] for s in steps),
        "negotiated": next((s["negotiated"] for s in steps if s["negotiated"]), {}),
    }
    counters = [s["accelerator"] for s in steps if "accelerator" in s]
    if counters:
        total = {k: sum(c.get(k, 0) for c in counters) for k in counters[0]}
        handshakes = sum(s["handshakes_in_window"] for s in steps)
        entry["accelerator"] = total  # summed over the measured windows
        entry["pauses_per_handshake"] = total.get("pauses", 0) / handshakes if handshakes else None
        entry["operations_per_handshake"] = total.get("operations", 0) / handshakes if handshakes else None
    return entry


def _target(name: str, description: str, num: list[float], den: list[float], target: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "description": description, "target": target}
    if num and den and len(num) == len(den):
        entry["ratio"] = _finite(timing.paired_ratio(num, den))
        if entry["ratio"] is None:
            entry["status"] = "n/a (no handshakes completed in the baseline)"
        else:
            entry["status"] = "PASS" if entry["ratio"] >= target else "MISS"
    else:
        entry["ratio"], entry["status"] = None, "n/a (a configuration was not measured)"
    return entry


def result_document(args: argparse.Namespace, configs: list[Config], measured: Measured) -> dict[str, Any]:
    from ..tls.contenders import CIPHERSUITE, GROUP

    steps = measured["steps"]
    rates = {c.name: [s["handshakes_per_s"] for s in steps[c.name]] for c in configs}
    by_key = {(c.async_mode, c.latency_ms): c.name for c in configs}

    def rates_of(async_mode: bool, latency: float) -> list[float]:
        name = by_key.get((async_mode, latency))
        return rates.get(name, []) if name is not None else []

    low, high = min(args.latencies), max(args.latencies)
    targets = [
        _target("latency_hiding", f"MODE_ASYNC at {high:g} ms / MODE_ASYNC at {low:g} ms",
                rates_of(True, high), rates_of(True, low), HIDING_TARGET),
        _target("async_vs_blocking", f"MODE_ASYNC / blocking at {high:g} ms",
                rates_of(True, high), rates_of(False, high), VS_BLOCKING_TARGET),
    ]
    async_vs_blocking = {}
    for lat in args.latencies:
        mine, theirs = rates[by_key[(True, lat)]], rates[by_key[(False, lat)]]
        if mine and len(mine) == len(theirs):
            async_vs_blocking[f"{lat:g}"] = _finite(timing.paired_ratio(mine, theirs))
    return {
        "suite": "offload",
        "format": 1,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
                    "python": sys.version.split()[0]},
        "settings": {"repeat": args.repeat, "seconds_per_step": args.seconds, "warmup_per_step": args.warmup,
                     "quick": args.quick, "isolated": isolate.in_child(), "latencies_ms": args.latencies,
                     "connections": args.connections, "client_processes": args.client_processes,
                     "client_verifies_chain": args.verify, "protocol": "TLSv1.3", "group": GROUP,
                     "ciphersuite": CIPHERSUITE, "openssl": _openssl_version(),
                     "server": "asyncssl.aio.start_server on one asyncio thread; EC P-256 certificate from a P-256 CA; "
                               "signatures on the simulated accelerator (its own LibraryContext)",
                     "clients": "Python ssl + asyncio in separate process(es); full handshake (no resumption) + "
                                "one-line echo per connection, repeatedly",
                     "counted": "completed handshakes at the server, between two snapshots after the warm-up"},
        "configs": {c.name: _config_entry(c, steps[c.name]) for c in configs},
        "async_vs_blocking": async_vs_blocking,
        "targets": targets,
        "failed": measured["failed"],
    }


def _openssl_version() -> str:
    try:
        from ... import _binding

        return _binding.openssl_version()
    except Exception:  # the report still has every number without it
        return "?"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def emit(args: argparse.Namespace, data: dict[str, Any], progress: report.Progress) -> None:
    s = data["settings"]
    print(f"\nAsync offload — {s['openssl']}; one asyncio server thread, {s['connections']} concurrent TLS 1.3 "
          f"clients in {s['client_processes']} process(es); {s['group']}, {s['ciphersuite']}, EC P-256 certificate;\n"
          f"{s['repeat']} repetitions x ({s['warmup_per_step']} s warm-up + {s['seconds_per_step']} s), round-robin; "
          "medians, spread = (max-min)/median\n")
    load, cpus = data["machine"]["load_average_1min"], data["machine"]["cpus"] or 1
    busy = [v for v in (load["before"], load["after"]) if v is not None and v > cpus / 2]
    if busy:
        print(f"WARNING: the machine was busy (1-min load average {load['before']} before, {load['after']} after, "
              f"{cpus} CPUs): absolute numbers are low and noisy; the paired ratios are the figures to read\n")
    headers = ["configuration", "handshakes/s", "spread", "client hs/s", "loop busy", "process cpu", "clients busy",
               "p50 ms", "p99 ms", "pauses/hs", "errors"]
    rows = []
    for entry in data["configs"].values():
        hs = entry["handshakes_per_s"]
        rows.append([entry["label"], report.format_number(hs.get("median")), _pct(hs.get("spread")),
                     report.format_number(entry["client_handshakes_per_s"].get("median")),
                     _pct(entry["loop_cpu_busy"]), _pct(entry["process_cpu_busy"]), _pct(entry["client_cpu_busy_max"]),
                     report.format_number(entry["connection_p50_ms"]), report.format_number(entry["connection_p99_ms"]),
                     report.format_number(entry.get("pauses_per_handshake")),
                     str(entry["client_errors"] + entry["server_echo_errors"])])
    print(report.format_table(headers, rows, [False] + [True] * (len(headers) - 1)))
    print("\nloop busy: CPU time of the server's loop thread / wall time (100% = the loop never waits); "
          "clients busy: the busiest client process (near 100% = the clients may be the bottleneck)")
    if data["async_vs_blocking"]:
        pairs = [f"{lat} ms " + (f"{r:.2f}x" if r is not None else "—")
                 for lat, r in data["async_vs_blocking"].items()]
        print("MODE_ASYNC / blocking (paired): " + ", ".join(pairs))
    client_bound = [e["label"] for e in data["configs"].values()
                    if (e["client_cpu_busy_max"] or 0) >= CLIENT_BOUND and (e["loop_cpu_busy"] or 0) < CLIENT_BOUND]
    if client_bound:
        print(f"WARNING: the clients were busier than the server's loop (>= {CLIENT_BOUND:.0%} of a core) in: "
              f"{', '.join(client_bound)} — there the clients, not the server, may set the rate "
              "(try --client-processes 2 on a machine with more than 2 cores)")
    errors = [(e["label"], e["client_first_error"]) for e in data["configs"].values() if e["client_first_error"]]
    for label, first in errors:
        print(f"note: {label}: client errors, first: {first}")
    unused = [e["label"] for e in data["configs"].values() if e.get("operations_per_handshake") == 0]
    if unused:
        print(f"WARNING: the simulated accelerator signed nothing in: {', '.join(unused)} — not measuring offload")

    print("\noffload targets (paired ratios, median over repetitions; a report, not a test):\n")
    rows = [[t["name"], t["description"], f"{t['ratio']:.2f}x" if t["ratio"] is not None else "—",
             f">= {t['target']:g}x", t["status"]] for t in data["targets"]]
    print(report.format_table(["target", "ratio of", "ratio", "target", "result"], rows,
                              [False, False, True, True, False]))
    for t in data["targets"]:
        if t["ratio"] is not None:
            print(f"{t['status']}: {t['name']} = {t['ratio']:.2f} (target >= {t['target']:g})")
        else:
            print(f"n/a: {t['name']} ({t['status']})")
    if any(t["status"] == "MISS" for t in data["targets"]):
        print("a target was missed: `python -m asyncssl bench offload --profile async-5ms` shows where the loop's "
              "time goes")
    for name, why in data["failed"].items():
        print(f"\n{name} FAILED: {why}")

    out = args.out or report.default_out_dir()
    version = s["openssl"].split()[1] if s["openssl"].startswith("OpenSSL ") else ""
    stem = f"offload-openssl-{version}" if version else "offload"
    png = out / f"{stem}.png"
    data["files"] = {"json": str(out / f"{stem}.json"), "png": str(png)}
    panels = []
    for latency in s["latencies_ms"]:
        series = {e["label"].split()[0]: e["handshakes_per_s"].get("values", [])
                  for e in data["configs"].values() if e["latency_ms"] == latency}
        panels.append((f"handshakes/s, accelerator latency {latency:g} ms", series))
    why_not = report.plot_bars(png, f"TLS 1.3 handshakes/s, one asyncio thread, {s['connections']} clients "
                                    "(medians, min-max whiskers)", panels,
                               {"MODE_ASYNC": COLORS[True], "blocking": COLORS[False]})
    if why_not:
        data["files"]["png"] = None
        progress.note(f"no plot: {why_not}")
    report.write_json(out / f"{stem}.json", data)
    print(f"\nwrote {out / f'{stem}.json'}" + ("" if why_not else f" and {png}"))
