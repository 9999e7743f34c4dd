"""``python -m asyncssl bench tls``: TLS 1.3 over memory BIOs, asyncssl against its peers.

Contenders (``contenders.py``): C on the same OpenSSL build (the limit a binding can
reach), asyncssl, Python's ``ssl`` and pyOpenSSL.  Workloads: bulk MB/s, 64-byte
ping-pong round trips/s, full handshakes/s.  The steps are interleaved round-robin over
the repetitions (``timing.py``), and the report gives medians and paired ratios, with
asyncssl's targets marked PASS/MISS — a report, never an assertion.

By default the measurements run in a child process (``isolate.py``) whose environment
makes Python's ``ssl`` load the same libssl as asyncssl and the C program, and pins the
group and suite for the one API (``ssl``) that cannot set TLS 1.3 suites.  Every
contender's OpenSSL and negotiated cipher/group is reported, so the claim "same build,
same cipher" can be checked in the output rather than trusted.

``--profile asyncssl`` runs one contender's ping-pong (or ``--profile-test``) under
cProfile and prints the top entries, so a MISS can be explained with a profile.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import os
import platform
import pstats
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from .. import isolate, report, timing

if TYPE_CHECKING:
    from ..certs import CertFiles
    from .contenders import Contender

DESCRIPTION = "TLS 1.3 over memory BIOs: bulk MB/s, 64 B ping-pong, handshakes/s vs C, ssl, pyOpenSSL"

NAMES = ("c", "asyncssl", "fused", "ssl", "pyopenssl")
ALIASES = {"pyOpenSSL": "pyopenssl", "openssl": "pyopenssl", "C": "c", "python-ssl": "ssl"}

# (contender, test, baseline, minimum ratio contender/baseline): the project's targets (issue 12).
# "asyncssl" is the pyOpenSSL-compatible API, "fused" the one-call-per-direction calls.
TARGETS = [
    ("asyncssl", "bulk", "ssl", 1.0),
    ("asyncssl", "pingpong", "ssl", 0.8),
    ("asyncssl", "pingpong", "pyopenssl", 3.0),
    ("asyncssl", "handshake", "c", 0.95),
    ("fused", "bulk", "c", 0.9),
    ("fused", "pingpong", "ssl", 1.2),
]

TEST_TITLES = {"bulk": "bulk MB/s (16 KiB writes)", "pingpong": "ping-pong round trips/s (64 B)",
               "handshake": "full handshakes/s"}
COLORS = {"c": "tab:gray", "asyncssl": "tab:blue", "fused": "tab:purple", "ssl": "tab:green", "pyopenssl": "tab:orange"}

DEFAULT_REPEAT, DEFAULT_SECONDS = 7, 0.4
QUICK_REPEAT, QUICK_SECONDS = 2, 0.05


def parse_args(argv: list[str]) -> argparse.Namespace:
    from .contenders import TESTS

    parser = argparse.ArgumentParser(prog="python -m asyncssl bench tls", description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true",
                        help=f"short run for smoke tests ({QUICK_REPEAT} repetitions x {QUICK_SECONDS} s)")
    parser.add_argument("--repeat", type=int, metavar="N",
                        help=f"repetitions of every step (default {DEFAULT_REPEAT})")
    parser.add_argument("--seconds", type=float, metavar="S",
                        help=f"measuring time per step (default {DEFAULT_SECONDS})")
    parser.add_argument("--only", type=lambda t: report.parse_names(t, NAMES, "contender", ALIASES), metavar="LIST",
                        help=f"comma-separated contenders among {','.join(NAMES)} (default: all)")
    parser.add_argument("--tests", type=lambda t: report.parse_names(t, TESTS, "test", ALIASES), metavar="LIST",
                        help=f"comma-separated tests among {','.join(TESTS)} (default: all)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where the JSON and PNG go (default: benchmarks/results)")
    parser.add_argument("--profile", type=lambda t: report.parse_names(t, NAMES, "contender", ALIASES)[0], metavar="NAME",
                        help="instead of the benchmark, run NAME's workload under cProfile and print the top entries")
    parser.add_argument("--profile-test", choices=TESTS, default="pingpong", help="workload for --profile")
    parser.add_argument("--profile-top", type=int, default=25, metavar="N", help="entries --profile prints")
    parser.add_argument("--no-isolate", action="store_true",
                        help="measure in this process as it is (OPENSSL_CONF untouched)")
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = QUICK_REPEAT if args.quick else DEFAULT_REPEAT
    if args.seconds is None:
        args.seconds = QUICK_SECONDS if args.quick else DEFAULT_SECONDS
    if args.repeat < 1 or args.seconds <= 0:
        parser.error("--repeat must be >= 1 and --seconds > 0")
    return args


def _linked() -> tuple[str, str | None]:
    """(prefix, reason asyncssl is unusable or None); the prefix picks the build for all."""
    try:
        from ..ccompile import linked_prefix

        return linked_prefix(), None
    except Exception as exc:  # the extension is not built, or cannot load here
        return "", f"{type(exc).__name__}: {exc}"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.no_isolate or isolate.in_child():
        return run(args)
    from .contenders import CIPHERSUITE, GROUP

    with tempfile.TemporaryDirectory(prefix="asyncssl-bench-") as tmp:
        policy = isolate.write_policy(Path(tmp) / "openssl.cnf", GROUP, CIPHERSUITE)
        return isolate.run_child(["tls", *argv], isolate.child_environment(policy))


# --- the run ------------------------------------------------------------------------------


class Measured(TypedDict):
    """What ``_measure`` collects for ``_result_document``."""

    values: dict[str, dict[str, list[float]]]  # test -> contender -> one rate per repetition
    failed: dict[str, str]  # contender -> why it failed


# contender name (and "_process") -> what the report says about it
Info = dict[str, dict[str, Any]]


def _mapped_openssl_libraries() -> list[str]:
    """libssl/libcrypto files mapped into this process (Linux), to show who loaded what."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[5].strip() for line in maps if len(line.split(None, 5)) == 6}
    except OSError:
        return []
    return sorted(p for p in paths if re.search(r"/lib(ssl|crypto)[^/]*\.so", p))


def _setup(args: argparse.Namespace, progress: report.Progress, certs: CertFiles) -> tuple[list[Contender], Info]:
    from .contenders import Unavailable, all_contenders

    prefix, asyncssl_problem = _linked()
    chosen = args.only or list(NAMES)
    if args.profile:
        chosen = [args.profile]
    ready: list[Contender] = []
    info: Info = {}
    for contender in all_contenders(prefix):
        if contender.name not in chosen:
            continue
        progress.note(f"setting up {contender.label}")
        try:
            if contender.name in ("asyncssl", "fused") and asyncssl_problem:
                raise Unavailable(f"asyncssl's extension cannot load: {asyncssl_problem}")
            contender.setup(certs)
            described = contender.describe()
        except Unavailable as exc:
            progress.note(f"  {contender.label}: not measured — {exc}")
            info[contender.name] = {"label": contender.label, "available": False, "reason": str(exc)}
            continue
        info[contender.name] = {"label": contender.label, "available": True, **described}
        negotiated = described["negotiated"]
        progress.note(f"  {described['openssl']}; negotiated {negotiated['protocol']} {negotiated['cipher']} "
                      f"{negotiated['group']}")
        for note in described.get("notes", []):
            progress.note(f"  note: {note}")
        ready.append(contender)
    _annotate_linkage(info)
    return ready, info


def _annotate_linkage(info: Info) -> None:
    """Say where pyOpenSSL's OpenSSL lives and flag contenders not on the reference build."""
    mapped = _mapped_openssl_libraries()
    if "pyopenssl" in info and info["pyopenssl"].get("available"):
        import cryptography

        package = str(Path(cryptography.__file__).resolve().parent.parent)
        own = [p for p in mapped if p.startswith(package)]
        info["pyopenssl"]["openssl_source"] = (
            f"cryptography's own OpenSSL, loaded from {', '.join(own)}" if own else
            f"statically linked into cryptography's wheel (no libssl of its own is mapped; "
            f"cryptography {cryptography.__version__})")
    reference = next((info[n]["openssl"] for n in ("c", "asyncssl", "ssl") if info.get(n, {}).get("available")), None)
    for entry in info.values():
        if entry.get("available"):
            entry["same_build_as_reference"] = entry["openssl"] == reference
    conf = os.environ.get("OPENSSL_CONF", "")
    try:  # the file is temporary: keep what it said, not where it was
        policy = Path(conf).read_text() if conf else ""
    except OSError:
        policy = ""
    info["_process"] = {"mapped_libraries": mapped,
                        "OPENSSL_CONF": conf, "openssl_conf_text": policy}


def run(args: argparse.Namespace) -> int:
    from ..certs import write_certificates
    from .contenders import TESTS

    progress = report.Progress()
    tests = args.tests or list(TESTS)
    with tempfile.TemporaryDirectory(prefix="asyncssl-bench-certs-") as tmp:
        certs = write_certificates(Path(tmp))
        contenders, info = _setup(args, progress, certs)
        if not contenders:
            progress.note("no contender could run; nothing to measure")
            return 1
        if args.profile:
            return _profile(args, contenders[0], progress)
        load_before = report.load_average()
        results = _measure(args, contenders, tests, progress)
    data = _result_document(args, tests, info, results)
    data["machine"]["load_average_1min"] = {"before": load_before, "after": report.load_average()}
    _emit(args, data, progress)
    return 0


def _measure(args: argparse.Namespace, contenders: list[Contender], tests: list[str],
             progress: report.Progress) -> Measured:
    from .contenders import UNITS

    results: dict[str, dict[str, list[float]]] = {t: {c.name: [] for c in contenders} for t in tests}
    failed: dict[str, str] = {}
    progress.total = args.repeat * len(tests) * len(contenders)
    for rep, test, contender in timing.steps(args.repeat, tests, contenders):
        label = f"rep {rep + 1}/{args.repeat}  {test:<9} {contender.label:<17}"
        if contender.name in failed:
            progress.step(f"{label} skipped (failed earlier)")
            continue
        try:
            value = contender.measure(test, args.seconds)
        except Exception as exc:  # one broken contender must not cost the others' results
            failed[contender.name] = f"{test}: {type(exc).__name__}: {exc}"
            progress.step(f"{label} FAILED: {failed[contender.name]}")
            continue
        results[test][contender.name].append(value)
        progress.step(f"{label} {report.format_number(value):>10} {UNITS[test]}")
    return {"values": results, "failed": failed}


def _profile(args: argparse.Namespace, contender: Contender, progress: report.Progress) -> int:
    from .contenders import UNITS, PythonContender

    if not isinstance(contender, PythonContender):
        progress.note(f"--profile needs a Python contender; {contender.label} is not one")
        return 2
    test = args.profile_test
    run_batch = contender.runner(test)
    seconds = args.seconds * 5  # long enough for a stable profile: 2 s by default, 0.25 s with --quick
    progress.note(f"profiling {contender.label} {test} for {seconds:.1f} s under cProfile")
    profiler = cProfile.Profile()
    work, elapsed = profiler.runcall(timing.measure_rate, run_batch, seconds)
    rate = work / elapsed * (1e-6 if test == "bulk" else 1.0)
    print(f"{contender.label} {test}: {report.format_number(rate)} {UNITS[test]} under the profiler "
          "(the profiler slows Python calls; compare shares, not the rate)")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats("tottime").print_stats(args.profile_top)
    return 0


# --- the report ---------------------------------------------------------------------------


def _summary(values: list[float]) -> dict[str, Any]:
    return {"median": timing.median(values), "min": min(values), "max": max(values),
            "spread": timing.spread(values), "values": values} if values else {}


def _result_document(args: argparse.Namespace, tests: list[str], info: Info, measured: Measured) -> dict[str, Any]:
    from .contenders import BULK_SIZE, CIPHERSUITE, GROUP, PING_SIZE, UNITS

    values = measured["values"]
    ratios = []
    for contender, test, baseline, target in TARGETS:
        if test not in values:
            continue
        mine, theirs = values[test].get(contender, []), values[test].get(baseline, [])
        entry: dict[str, Any] = {"contender": contender, "test": test, "baseline": baseline, "target": target}
        if mine and theirs and len(mine) == len(theirs):
            entry["ratio"] = timing.paired_ratio(mine, theirs)
            entry["status"] = "PASS" if entry["ratio"] >= target else "MISS"
        else:
            missing = contender if not mine else baseline
            entry["ratio"], entry["status"] = None, f"n/a ({missing} not measured)"
        ratios.append(entry)
    vs_c = {test: {name: timing.paired_ratio(v, values[test]["c"]) for name, v in per.items()
                   if v and values[test].get("c") and len(v) == len(values[test]["c"])}
            for test, per in values.items()}
    return {
        "suite": "tls",
        "format": 1,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
                    "python": sys.version.split()[0]},
        "settings": {"repeat": args.repeat, "seconds_per_step": args.seconds, "quick": args.quick,
                     "isolated": isolate.in_child(), "group": GROUP, "ciphersuite": CIPHERSUITE,
                     "protocol": "TLSv1.3", "bulk_write_bytes": BULK_SIZE, "ping_bytes": PING_SIZE,
                     "certificate": "EC P-256 server certificate from a P-256 CA; client verifies, no hostname check",
                     "transport": "memory BIOs, ciphertext copied between them, one process",
                     "mb": "10**6 bytes of plaintext"},
        "contenders": info,
        "tests": {test: {"unit": UNITS[test], "results": {name: _summary(v) for name, v in per.items() if v}}
                  for test, per in values.items()},
        "failed": measured["failed"],
        "ratios_vs_c": vs_c,
        "targets": ratios,
    }


def _emit(args: argparse.Namespace, data: dict[str, Any], progress: report.Progress) -> None:
    from .contenders import UNITS

    info = {k: v for k, v in data["contenders"].items() if not k.startswith("_")}
    names = [n for n in NAMES if info.get(n, {}).get("available")]
    tests = list(data["tests"])
    s = data["settings"]
    print(f"\nTLS 1.3 over memory BIOs — {s['group']}, {s['ciphersuite']}; {s['repeat']} repetitions x "
          f"{s['seconds_per_step']} s per step, round-robin; medians, spread = (max-min)/median\n")
    load, cpus = data["machine"]["load_average_1min"], data["machine"]["cpus"] or 1
    busy = [v for v in (load["before"], load["after"]) if v is not None and v > cpus / 2]
    if busy:
        print(f"WARNING: the machine was busy (1-min load average {load['before']} before, {load['after']} after, "
              f"{cpus} CPUs): absolute numbers are low and noisy; the paired ratios are the figures to read\n")
    headers, right = ["contender"], [False]
    for test in tests:
        headers += [f"{test} {UNITS[test].replace('round trips', 'rt').replace('handshakes', 'hs')}", "spread", "xC"]
        right += [True, True, True]
    rows = []
    for name in names:
        row = [info[name]["label"]]
        for test in tests:
            summary = data["tests"][test]["results"].get(name)
            ratio = data["ratios_vs_c"].get(test, {}).get(name)
            row += [report.format_number(summary["median"]) if summary else "—",
                    f"{summary['spread']:.0%}" if summary else "",
                    f"{ratio:.2f}" if ratio is not None else ""]
        rows.append(row)
    print(report.format_table(headers, rows, right))

    print("\nwhat each contender ran on:\n")
    rows = []
    for name in NAMES:
        entry = info.get(name)
        if entry is None:
            continue
        if not entry["available"]:
            rows.append([entry["label"], "not measured", entry["reason"][:100], "", ""])
            continue
        n = entry["negotiated"]
        rows.append([entry["label"], entry["openssl"], entry["openssl_source"], n["cipher"], n["group"]])
    print(report.format_table(["contender", "OpenSSL", "from", "cipher", "group"], rows))
    mismatched = [info[n]["label"] for n in names if n != "pyopenssl" and not info[n].get("same_build_as_reference")]
    if mismatched:
        print(f"\nWARNING: not on the reference OpenSSL build: {', '.join(mismatched)} "
              "(Python's ssl runs on the OpenSSL it was built with)")
    if "pyopenssl" in names:
        print("note: pyOpenSSL runs on cryptography's OpenSSL, not on the reference build; its numbers compare "
              "bindings on a different OpenSSL")

    print("\nasyncssl targets (paired ratios, median over repetitions; a report, not a test):\n")
    rows = []
    for t in data["targets"]:
        ratio = t["ratio"]
        rows.append([t["test"], info.get(t["contender"], {}).get("label", t["contender"]),
                     f"vs {info.get(t['baseline'], {}).get('label', t['baseline'])}",
                     f"{ratio:.2f}x" if ratio is not None else "—", f">= {t['target']:.2f}x", t["status"]])
    print(report.format_table(["test", "contender", "baseline", "ratio", "target", "result"], rows,
                              [False, False, False, True, True, False]))
    for name, why in data["failed"].items():
        print(f"\n{name} FAILED during {why}")

    out = args.out or report.default_out_dir()
    match = re.search(r"OpenSSL (\S+)", next((info[n]["openssl"] for n in ("c", "asyncssl", "ssl") if n in names), ""))
    stem = f"tls-openssl-{match.group(1)}" if match else "tls"
    png = out / f"{stem}.png"
    data["files"] = {"json": str(out / f"{stem}.json"), "png": str(png)}
    panels = [(f"{TEST_TITLES[t]}", {info[n]["label"]: data["tests"][t]["results"][n]["values"]
                                     for n in names if n in data["tests"][t]["results"]}) for t in tests]
    why_not = report.plot_bars(png, f"TLS 1.3, {s['group']} + {s['ciphersuite']} (medians, min-max whiskers)",
                               panels, {info[n]["label"]: COLORS[n] for n in names})
    if why_not:
        data["files"]["png"] = None
        progress.note(f"no plot: {why_not}")
    report.write_json(out / f"{stem}.json", data)
    print(f"\nwrote {out / f'{stem}.json'}" + ("" if why_not else f" and {png}"))
