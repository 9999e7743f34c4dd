"""``python -m asyncssl bench offload``: TLS handshakes/s with and without ``SSL_MODE_ASYNC``.

A single-threaded asyncio TLS server (``asyncssl.aio.start_server``, EC P-256 certificate,
TLS 1.3) signs on the simulated accelerator at 0, 1 and 5 ms latency, once with
``MODE_ASYNC`` (the loop keeps serving while a signature is on "the device") and once
without (the provider then blocks the loop for the latency).  64 concurrent clients in a
separate process (``offload_client``) do full handshakes + a one-line echo, repeatedly.

What it reports (a report, never an assertion):
- handshakes/s per configuration, median over round-robin repetitions (``timing``);
- the latency-hiding ratio: MODE_ASYNC at 5 ms ÷ MODE_ASYNC at 0 ms (target ≥ 0.8);
- MODE_ASYNC ÷ blocking at 5 ms (target ≥ 5);
- how busy the loop thread and the clients were, and how often handshakes paused
  (the simulated device's counters), so a MISS can be told apart from a starved client;
- ``--profile [CONFIG]`` runs one configuration with the server's loop under cProfile.

Like ``bench tls``, the measurement runs in a child whose environment pins the OpenSSL
build and the TLS 1.3 group/suite for Python's ``ssl`` too (``isolate``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import faulthandler
import pstats
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import isolate, report, timing
from .report import Measured

if TYPE_CHECKING:
    from ..certs import CertFiles
    from .client import ClientPool
    from .server import Config

DESCRIPTION = "async crypto offload: TLS handshakes/s, MODE_ASYNC vs blocking, simulated accelerator 0/1/5 ms"

DEFAULT_LATENCIES_MS = (0.0, 1.0, 5.0)
DEFAULT_CONNECTIONS = 64
DEFAULT_REPEAT, DEFAULT_SECONDS, DEFAULT_WARMUP = 5, 2.0, 0.5
QUICK_REPEAT, QUICK_SECONDS, QUICK_WARMUP = 2, 0.5, 0.2
STEP_WATCHDOG_SECONDS = 60  # plus three times the step's own length


def _latencies(text: str) -> list[float]:
    try:
        values = sorted({float(v) for v in text.split(",") if v.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"latencies are comma-separated milliseconds: {exc}") from exc
    if not values or values[0] < 0:
        raise argparse.ArgumentTypeError("latencies must be >= 0 ms")
    return values


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m asyncssl bench offload", description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run (~15 s): {QUICK_REPEAT} repetitions x ({QUICK_WARMUP} s warm-up + "
                             f"{QUICK_SECONDS} s) per configuration")
    parser.add_argument("--repeat", type=int, metavar="N", help=f"repetitions (default {DEFAULT_REPEAT})")
    parser.add_argument("--seconds", type=float, metavar="S",
                        help=f"measured seconds per step (default {DEFAULT_SECONDS})")
    parser.add_argument("--warmup", type=float, metavar="S",
                        help=f"unmeasured seconds before each (default {DEFAULT_WARMUP})")
    parser.add_argument("--latencies", type=_latencies, default=list(DEFAULT_LATENCIES_MS), metavar="MS,…",
                        help="simulated accelerator latencies in ms (default 0,1,5)")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS, metavar="N",
                        help=f"concurrent clients (default {DEFAULT_CONNECTIONS})")
    parser.add_argument("--client-processes", type=int, default=1, metavar="N",
                        help="processes the clients are spread over (default 1: on 2 cores, one for the server)")
    parser.add_argument("--verify", action="store_true",
                        help="clients verify the certificate chain (costs the clients one ECDSA verify more)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where the JSON and PNG go (default: benchmarks/results)")
    parser.add_argument("--profile", nargs="?", const="async-5ms", metavar="CONFIG",
                        help="instead of the benchmark, run CONFIG (e.g. async-5ms, blocking-0ms; default async-5ms) "
                             "with the server's loop under cProfile and print the top entries")
    parser.add_argument("--profile-top", type=int, default=30, metavar="N", help="entries --profile prints")
    parser.add_argument("--no-isolate", action="store_true",
                        help="measure in this process as it is (OPENSSL_CONF untouched)")
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (QUICK_REPEAT if args.quick else DEFAULT_REPEAT)
    args.seconds = args.seconds or (QUICK_SECONDS if args.quick else DEFAULT_SECONDS)
    args.warmup = args.warmup if args.warmup is not None else (QUICK_WARMUP if args.quick else DEFAULT_WARMUP)
    if args.repeat < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--repeat must be >= 1, --seconds > 0, --warmup >= 0")
    if args.client_processes < 1 or args.connections < args.client_processes:
        parser.error("--connections must be >= --client-processes >= 1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.no_isolate or isolate.in_child():
        return run(args)
    from ..tls.contenders import CIPHERSUITE, GROUP

    with tempfile.TemporaryDirectory(prefix="asyncssl-bench-") as tmp:
        policy = isolate.write_policy(Path(tmp) / "openssl.cnf", GROUP, CIPHERSUITE)
        return isolate.run_child(["offload", *argv], isolate.child_environment(policy))


# --- the run ------------------------------------------------------------------------------


def _unavailable() -> str | None:
    """Why this platform or build cannot run the suite, or None."""
    try:
        import asyncssl
    except Exception as exc:  # the extension is not built, or cannot load here
        return f"asyncssl cannot be imported: {type(exc).__name__}: {exc}"
    if not asyncssl.capabilities().get("async_mode"):
        return ("OpenSSL async jobs are not available on this platform (ASYNC_is_capable() is 0, e.g. musl libc): "
                "MODE_ASYNC cannot pause a handshake, so there is nothing to compare")
    try:
        from asyncssl.testing import load_simulated_accelerator  # noqa: F401
    except Exception as exc:
        return f"the simulated accelerator is not available: {type(exc).__name__}: {exc}"
    return None


def configs_for(latencies: list[float]) -> list[Config]:
    from .server import Config

    return [Config(mode, latency) for latency in latencies for mode in (True, False)]


def run(args: argparse.Namespace) -> int:
    progress = report.Progress()
    why = _unavailable()
    if why:
        print(f"bench offload: skipped — {why}")
        return 0 if "async jobs are not available" in why else 1
    from ..certs import write_certificates
    from .client import ClientPool

    configs = configs_for(args.latencies)
    if args.profile:
        chosen = [c for c in configs if c.name == args.profile]
        if not chosen:
            print(f"unknown configuration {args.profile!r}; choose from {', '.join(c.name for c in configs)}",
                  file=sys.stderr)
            return 2
        configs = chosen
    with tempfile.TemporaryDirectory(prefix="asyncssl-bench-offload-") as tmp:
        certs = write_certificates(Path(tmp))
        progress.note(f"starting {args.client_processes} client process(es) for {args.connections} connections")
        with ClientPool(args.client_processes, args.connections, str(certs.cafile), args.verify) as clients:
            if args.profile:
                return _profile(args, configs[0], certs, clients, progress)
            load_before = report.load_average()
            measured = asyncio.run(_measure(args, configs, certs, clients, progress))
    from .report import emit, result_document

    data = result_document(args, configs, measured)
    data["machine"]["load_average_1min"] = {"before": load_before, "after": report.load_average()}
    emit(args, data, progress)
    return 0


async def _measure(args: argparse.Namespace, configs: list[Config], certs: CertFiles, clients: ClientPool,
                   progress: report.Progress) -> Measured:
    from .server import measure_step

    steps: dict[str, list[dict[str, Any]]] = {c.name: [] for c in configs}
    failed: dict[str, str] = {}
    progress.total = args.repeat * len(configs)
    # Round-robin over all configurations: every repetition runs each once, rotated, so a
    # busy moment on the shared machine hits every configuration alike (timing.py).
    for rep, _group, config in timing.steps(args.repeat, ["offload"], configs):
        label = f"rep {rep + 1}/{args.repeat}  {config.label:<18}"
        if config.name in failed:
            progress.step(f"{label} skipped (failed earlier)")
            continue
        # A step that never ends (the loop blocked, or awaiting forever) dumps every thread's
        # stack to stderr and exits, instead of hanging whoever runs the benchmark.
        faulthandler.dump_traceback_later(STEP_WATCHDOG_SECONDS + 3 * (args.warmup + args.seconds), exit=True)
        try:
            step = await measure_step(config, certs, clients, warmup=args.warmup, seconds=args.seconds)
        except Exception as exc:  # one broken configuration must not cost the others' results
            failed[config.name] = f"{type(exc).__name__}: {exc}"
            progress.step(f"{label} FAILED: {failed[config.name]}")
            continue
        finally:
            faulthandler.cancel_dump_traceback_later()
        steps[config.name].append(step)
        pauses = step.get("accelerator", {}).get("pauses")
        progress.step(f"{label} {report.format_number(step['handshakes_per_s']):>8} handshakes/s  "
                      f"loop busy {step['loop_cpu_busy']:4.0%}  clients busy {step['client_cpu_busy_max']:4.0%}"
                      + (f"  pauses {pauses}" if pauses is not None else "")
                      + (f"  client errors {step['client_errors']}" if step["client_errors"] else ""))
    return {"steps": steps, "failed": failed}


def _profile(args: argparse.Namespace, config: Config, certs: CertFiles, clients: ClientPool,
             progress: report.Progress) -> int:
    from .server import measure_step

    seconds = max(args.seconds, 2.0)  # long enough for the shares to settle
    progress.note(f"profiling the server's loop thread, {config.label}, for {seconds:.1f} s under cProfile")
    profiler = cProfile.Profile()
    step = asyncio.run(measure_step(config, certs, clients, warmup=args.warmup, seconds=seconds, profiler=profiler))
    print(f"{config.label}: {report.format_number(step['handshakes_per_s'])} handshakes/s under the profiler, loop "
          f"thread busy {step['loop_cpu_busy']:.0%}, clients busy {step['client_cpu_busy_max']:.0%} "
          "(the profiler slows Python calls; compare shares, not the rate)")
    if step.get("accelerator"):
        print(f"accelerator counters in the window: {step['accelerator']}")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats("tottime").print_stats(args.profile_top)
    stats.sort_stats("cumulative").print_stats(args.profile_top)
    return 0
