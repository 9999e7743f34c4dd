"""``bench quic``'s "connections/s against N server processes" workload (a scale workload).

For each N of ``--scale-processes`` (default 1,2): N asyncssl server processes
(``scale_peer.py``'s multi-process server, ``aio.quic_serve(reuse_port=True)``) share one
UDP port — the first binds port 0 and reports the port it got, the others bind that port —
and ``--scale-process-clients`` C clients (``csrc/quic_connect_bench.c``, compiled
against the OpenSSL asyncssl is linked with; default ``CLIENT_PROCESSES``) run in
parallel, each opening its share of ``--scale-connections`` (rounded up) one after another
(connect, one 64-byte stream echo, kept open).
The rate is all connections over the wall time from the first client's start to the last
client's exit.

Every connection of the C client has a UDP socket (so a source port) of its own, and
``SO_REUSEPORT`` hashes the 4-tuple: connections spread over the server processes, and a
connection stays on the process that got its first Initial as long as the set of sockets
does not change (the clients start only after every server is listening). That is also
what makes address validation work across processes: OpenSSL's Retry tokens are known
only to the listener that issued them, and the retried Initial comes from the same
4-tuple, so it reaches the same process. Each server reports how many echoes it served,
so the spread is visible in the JSON.

Where the cores go: each server's CPU seconds over the clients' run (SIGUSR1 before the
first client starts, SIGTERM after the last has exited) and each client's own CPU per
connection (its JSON). On a machine with C cores the clients compete with the servers:
with two server processes the rate is at most ``C / (server_ms + client_ms)`` (the CPU
per connection measured in the N=2 step), so from one to two processes it can grow at
most that over the N=1 rate (paired per repetition); the report prints that cap next to
the measured ratio, and how busy the server processes were (a single server process that
is not busy most of the time was fed too slowly, and the ratio says little).

Configurations: asyncssl's defaults (``aio``: Retry, one socket per process) and
``aio-tuned``'s ``validate_address=False`` (but one socket per process, ``shards=1``: the
processes are what is compared); and, as the reference, OpenSSL's own server on the same
build (``c`` with Retry, ``c-tuned`` without: ``csrc/quic_scale_server.c``, the same
event loop as aio.quic_serve's without Python), whichever of them ``--scale-contenders``
selects. With ``--scale-processes 1 --scale-process-clients 1`` it is one C client opening
connections one after another against one server: a connection's cost with no Python on
the client side, and with none at all against ``c``. Ratios
are paired per repetition; the PASS/MISS line is a report, never an assertion.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import tempfile
import time
from typing import IO, Any

from .. import report, timing
from .run import StepFailed, _await_ready, _tail, python_worker

DEFAULT_PROCESSES = (1, 2)
# A fixed number of client processes, whatever N: the client side then does the same work
# and offers the same concurrency in every step, so that only the number of server
# processes changes. Each client is sequential (a connect waits on the server's round
# trips, and its own CPU per connection is about half a server's), so a few leave the
# servers idle between their datagrams: on 2 cores, 4 clients kept one server process
# 95 % busy but two only about 50 % each; 8 feed two about as well as 16 do (which only
# adds scheduling contention), so 8.
CLIENT_PROCESSES = 8
STEP_TIMEOUT = 300.0
EXIT_TIMEOUT = 15.0  # seconds for a server to exit after SIGTERM
CONFIGS = {"aio": {"validate": True, "server": "aio", "label": "asyncssl defaults (validate_address=True: Retry)"},
           "aio-tuned": {"validate": False, "server": "aio", "label": "validate_address=False (no Retry)"},
           # OpenSSL's own server (csrc/quic_scale_server.c, the same build, the same loop
           # without Python): what the OpenSSL under asyncssl allows per connection.
           "c": {"validate": True, "server": "c", "label": "OpenSSL's C server, address validation on (Retry)"},
           "c-tuned": {"validate": False, "server": "c",
                       "label": "OpenSSL's C server, SSL_LISTENER_FLAG_NO_VALIDATE (no Retry)"}}
C_CONFIGS = tuple(name for name, config in CONFIGS.items() if config["server"] == "c")
TARGET = 1.7  # connections/s from 1 to 2 server processes


def parse_processes(text: str) -> list[int]:
    """``--scale-processes``: a comma-separated list of process counts, or ``none`` (argparse type)."""
    if text.strip().lower() == "none":
        return []
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of process counts: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"process counts must be >= 1: {text!r}")
    return sorted(set(values))


def configs_of(names: list[str]) -> list[str]:
    """The multi-process configurations among the selected scale contenders."""
    return [n for n in CONFIGS if n in names]


def server_argv(config: str, certs: Any, port: int, c_server: str | None) -> list[str]:
    """How to start one server process of `config` on `port` (0: any), sharing it with others."""
    validate = bool(CONFIGS[config]["validate"])
    if CONFIGS[config]["server"] == "c":
        assert c_server is not None   # compiled before any C configuration runs
        return [c_server, str(certs.certfile), str(certs.keyfile), "--reuse-port", "--port", str(port),
                *([] if validate else ["--no-validate"])]
    job = {"contender": "aio", "role": "scale-server", "certfile": str(certs.certfile),
           "keyfile": str(certs.keyfile), "cafile": str(certs.cafile), "validate": validate, "shards": 1,
           "reuse_port": True, "port": port, "until_signal": True}
    return python_worker(job)


def per_client(connections: int, clients: int) -> int:
    return max(1, -(-connections // clients))


def _read_mark(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 10.0)
    line = proc.stdout.readline() if ready else ""
    if line.strip() != "MARK":
        raise StepFailed(f"server {proc.pid} did not answer SIGUSR1 ({line.strip() or 'no MARK line'})")


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a live process (Linux /proc), for the record next to its own figure."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def step(binary: str, certs: Any, env: dict[str, str], processes: int, clients_n: int, connections_each: int,
         config: str, c_server: str | None = None, timeout: float = STEP_TIMEOUT) -> dict[str, Any]:
    """One step: N server processes on one port, `clients_n` C clients; every process this
    starts is gone when it returns (killed by its handle if need be)."""
    servers: list[subprocess.Popen[str]] = []
    clients: list[tuple[subprocess.Popen[bytes], IO[bytes], IO[bytes]]] = []
    try:
        port = 0
        for _ in range(processes):
            proc = subprocess.Popen(server_argv(config, certs, port, c_server), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=env)
            servers.append(proc)
            got = _await_ready(proc)
            if port and got != port:
                raise StepFailed(f"server {len(servers)} listens on {got}, not on the shared port {port}")
            port = got
        for proc in servers:
            proc.send_signal(signal.SIGUSR1)
            _read_mark(proc)
        proc_cpu0 = [_cpu_seconds(p.pid) for p in servers]
        argv = [binary, str(port), str(certs.cafile), str(connections_each)]
        started = time.perf_counter()
        for _ in range(clients_n):
            files: tuple[IO[bytes], IO[bytes]] = (tempfile.TemporaryFile(), tempfile.TemporaryFile())
            # files, not pipes: a full pipe would stall a client
            clients.append((subprocess.Popen(argv, stdout=files[0], stderr=files[1], env=env), *files))
        deadline = started + timeout
        for client, _, _ in clients:
            try:
                client.wait(timeout=max(0.1, deadline - time.perf_counter()))
            except subprocess.TimeoutExpired:
                raise StepFailed(f"the clients did not finish within {timeout:.0f} s") from None
        wall = time.perf_counter() - started
        proc_cpu = [_cpu_seconds(p.pid) for p in servers]
        results = []
        for client, out, err in clients:
            out.seek(0)
            err.seek(0)
            if client.returncode != 0:
                raise StepFailed(f"a client failed ({client.returncode}):\n{_tail(err.read())}")
            text = out.read().decode(errors="replace").strip()
            try:
                results.append(json.loads(text.splitlines()[-1]))
            except (ValueError, IndexError):
                raise StepFailed(f"a client printed no JSON:\n{text[-2000:]}") from None
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        server_results = []
        for proc in servers:
            try:
                stdout, stderr = proc.communicate(timeout=EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise StepFailed(f"server {proc.pid} did not exit within {EXIT_TIMEOUT:.0f} s of SIGTERM") from None
            if proc.returncode != 0:
                raise StepFailed(f"server {proc.pid} failed ({proc.returncode}):\n{_tail(stderr)}")
            line = next((ln for ln in reversed(stdout.splitlines()) if ln.startswith("RESULT ")), None)
            if line is None:
                raise StepFailed(f"server {proc.pid} printed no result")
            server_results.append(json.loads(line.removeprefix("RESULT ")))
    finally:
        for client, out, err in clients:
            if client.poll() is None:
                client.kill()
                client.wait()
            out.close()
            err.close()
        for proc in servers:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for result, before, after in zip(server_results, proc_cpu0, proc_cpu, strict=True):
        result["proc_cpu"] = None if before is None or after is None else after - before
    connections = sum(int(r["connections"]) for r in results)
    client_cpu = sum(r["cpu_ms_per_connection"] * r["connections"] for r in results) / 1e3
    echoes = sum(int(r["echoes"]) for r in server_results)
    if echoes != connections:
        raise StepFailed(f"the servers served {echoes} echoes for {connections} connections")
    return {"processes": processes, "config": config, "validate": CONFIGS[config]["validate"], "port": port,
            "client_processes": clients_n,
            "connections": connections, "seconds": wall, "server_cpu": sum(float(r["cpu"]) for r in server_results),
            "client_cpu": client_cpu, "servers": server_results,
            "clients": [{k: v for k, v in r.items() if k != "connect_ms"}
                        | {"connect_ms_max": max(r["connect_ms"]), "connect_ms_p50": timing.median(r["connect_ms"])}
                        for r in results]}


def measure(args: argparse.Namespace, certs: Any, env: dict[str, str], names: list[str],
            progress: report.Progress) -> dict[str, Any] | None:
    """Every repetition, every configuration, every N (both orders rotated); None when this
    workload does not run (no asyncssl configuration selected)."""
    configs = configs_of(names)
    if not configs or not args.scale_processes:
        return None
    processes = list(args.scale_processes)
    from ..ccompile import compile_linked

    progress.note("compiling asyncssl/bench/csrc/quic_connect_bench.c against the linked OpenSSL")
    binary, why = compile_linked("quic_connect_bench.c")
    c_server = None
    if binary is not None and any(c in configs for c in C_CONFIGS):
        progress.note("compiling asyncssl/bench/csrc/quic_scale_server.c against the linked OpenSSL")
        c_server, server_why = compile_linked("quic_scale_server.c")
        if c_server is None:   # the asyncssl configurations still run
            progress.note(f"OpenSSL's C server: not measured — {server_why}")
            configs = [c for c in configs if c not in C_CONFIGS]
    runs: dict[str, dict[int, list[dict[str, Any] | None]]] = {c: {n: [] for n in processes} for c in configs}
    failed: dict[str, str] = {}
    measured: dict[str, Any] = {"processes": processes, "configs": configs, "runs": runs, "failed": failed,
                                "unavailable": why, "clients": args.scale_process_clients,
                                "connections_per_client": per_client(args.scale_connections,
                                                                     args.scale_process_clients)}
    if binary is None:
        progress.note(f"connections/s against N server processes: not measured — {why}")
        return measured
    progress.total += args.repeat * len(configs) * len(processes)
    for rep in range(args.repeat):
        for config in timing.round_robin(configs, rep):
            for n in timing.round_robin(processes, rep):
                label = f"rep {rep + 1}/{args.repeat}  procs {config:<9} N={n}"
                load = report.load_average()
                try:
                    result = step(binary, certs, env, n, measured["clients"], measured["connections_per_client"],
                                  config, c_server)
                except StepFailed as exc:
                    failed[f"{config} N={n} (rep {rep + 1})"] = str(exc)
                    runs[config][n].append(None)
                    progress.step(f"{label} FAILED: {exc}")
                    continue
                result["load_average_1min"] = load
                runs[config][n].append(result)
                spread = "/".join(str(s["echoes"]) for s in result["servers"])
                progress.step(f"{label} {_rate(result):7.0f} conn/s; CPU ms/conn server "
                              f"{_server_ms(result):.2f}, clients {_client_ms(result):.2f}; echoes per server "
                              f"{spread}  (load {load})")
    return measured


def _rate(r: dict[str, Any]) -> float:
    return float(r["connections"] / r["seconds"])


def _server_ms(r: dict[str, Any]) -> float:
    return float(1e3 * r["server_cpu"] / r["connections"])


def _client_ms(r: dict[str, Any]) -> float:
    return float(1e3 * r["client_cpu"] / r["connections"])


def _cpu_bound_rate(r: dict[str, Any], cpus: int) -> float:
    """The rate at which this step's servers and clients together would fill every core."""
    return float(cpus * r["connections"] / (r["server_cpu"] + r["client_cpu"]))


def _busy(r: dict[str, Any]) -> float:
    """The server processes' mean CPU over the wall time, as a share of one core."""
    return float(100.0 * r["server_cpu"] / r["seconds"] / r["processes"])


def summarize(args: argparse.Namespace, measured: dict[str, Any] | None) -> dict[str, Any] | None:
    if measured is None:
        return None
    cpus = os.cpu_count() or 1
    processes, runs = measured["processes"], measured["runs"]
    out: dict[str, Any] = {
        "settings": {"processes": processes, "client_processes": measured["clients"],
                     "connections_per_client": measured["connections_per_client"],
                     "connections": measured["clients"] * measured["connections_per_client"], "repeat": args.repeat,
                     "echo_bytes": 64, "cpus": cpus, "client": "csrc/quic_connect_bench.c (C, the linked OpenSSL)",
                     "server": "aio.quic_serve(reuse_port=True, shards=1) (aio, aio-tuned) or "
                               "csrc/quic_scale_server.c (c, c-tuned), one per process, one shared port",
                     "rate": "connections / wall time from the first client's start to the last client's exit",
                     "server_cpu": "each server's time.process_time() from SIGUSR1 (before the first client) to "
                                   "SIGTERM (after the last)",
                     "client_cpu": "each client's CLOCK_PROCESS_CPUTIME_ID over its connections"},
        "unavailable": measured["unavailable"],
        "configs": {}, "failed": measured["failed"], "targets": []}
    for config in measured["configs"]:
        by_n = runs[config]
        rows = []
        for n in processes:
            done = [r for r in by_n[n] if r]
            rates = [_rate(r) for r in done]
            ratio = None
            if 1 in by_n and n != 1:
                pairs = [(_rate(a), _rate(b)) for a, b in zip(by_n[n], by_n[1], strict=False) if a and b]
                ratio = timing.paired_ratio(*zip(*pairs, strict=True)) if pairs else None
            elif n == 1 and done:
                ratio = 1.0
            rows.append({"processes": n, "connections_per_second": _summary(rates), "ratio_to_1": ratio,
                         "server_cpu_ms_per_connection": timing.median([_server_ms(r) for r in done]) if done else None,
                         "client_cpu_ms_per_connection": timing.median([_client_ms(r) for r in done]) if done else None,
                         "server_busy_percent_of_a_core": timing.median([_busy(r) for r in done]) if done else None,
                         "client_connect_p50_ms": timing.median([c["connect_ms_p50"] for r in done
                                                                 for c in r["clients"]]) if done else None})
        entry: dict[str, Any] = {"label": CONFIGS[config]["label"], "validate_address": CONFIGS[config]["validate"],
                                 "rows": rows}
        two = next((r for r in rows if r["processes"] == 2), None)
        caps = [_cpu_bound_rate(b, cpus) / _rate(a) for a, b in zip(by_n.get(1, []), by_n.get(2, []), strict=False)
                if a and b]
        cap = timing.median(caps) if caps else None
        entry["cap_1_to_2"] = cap
        entry["cpu_bound_rate_2"] = timing.median([_cpu_bound_rate(r, cpus) for r in by_n.get(2, []) if r]) \
            if two and two["connections_per_second"] else None
        target: dict[str, Any] = {"test": "connections/s from 1 to 2 server processes", "config": config,
                                  "target": TARGET, "value": two["ratio_to_1"] if two else None, "cpu_cap": cap}
        target["status"] = ("n/a (not measured)" if target["value"] is None
                            else "PASS" if target["value"] >= TARGET else "MISS")
        out["targets"].append(target)
        entry["runs"] = {str(n): by_n[n] for n in processes}
        out["configs"][config] = entry
    return out


def _summary(values: list[float]) -> dict[str, Any]:
    return {"median": timing.median(values), "min": min(values), "max": max(values),
            "spread": timing.spread(values), "values": values} if values else {}


def emit(data: dict[str, Any] | None) -> None:
    if data is None:
        return
    s = data["settings"]
    print(f"\nconnections/s against N server processes — aio.quic_serve(reuse_port=True), or OpenSSL's C server "
          f"(c, c-tuned), in N processes on one port; {s['client_processes']} C clients (quic_connect_bench) in parallel, {s['connections_per_client']} "
          f"sequential connections each (one {s['echo_bytes']}-byte echo, kept open); {s['cpus']} CPUs; "
          f"{s['repeat']} repetition(s); medians, ratios paired per repetition. Each configuration has one socket "
          "per process (shards=1), so that the number of processes is what changes; asyncssl's defaults (aio, with "
          "Retry: each Retry token is checked by the process that issued it, the 4-tuple keeping a client on one "
          "process) are quic_serve's out-of-the-box behaviour, validate_address=False (aio-tuned) the cheapest "
          "connect")
    if data["unavailable"]:
        print(f"not measured — {data['unavailable']}")
        return
    for config, entry in data["configs"].items():
        print(f"\n{config}: {entry['label']}\n")
        rows = []
        for r in entry["rows"]:
            rate = r["connections_per_second"]
            rows.append([str(r["processes"]), f"{rate['median']:.0f}" if rate else "—",
                         "—" if r["ratio_to_1"] is None else f"{r['ratio_to_1']:.2f}x",
                         _ms(r["server_cpu_ms_per_connection"]), _ms(r["client_cpu_ms_per_connection"]),
                         "—" if r["server_busy_percent_of_a_core"] is None
                         else f"{r['server_busy_percent_of_a_core']:.0f}", _ms(r["client_connect_p50_ms"])])
        print(report.format_table(["server processes", "conn/s", "ratio to N=1", "server CPU ms/conn",
                                   "client CPU ms/conn", "server busy % of a core", "C client connect p50 ms"], rows,
                                  [True, True, True, True, True, True, True]))
        two = next((r for r in entry["rows"] if r["processes"] == 2), None)
        if entry["cap_1_to_2"] is not None and two:
            print(f"CPU per connection (N=2): server {two['server_cpu_ms_per_connection']:.2f} ms, clients "
                  f"{two['client_cpu_ms_per_connection']:.2f} ms → {s['cpus']} cores are full at "
                  f"{entry['cpu_bound_rate_2']:.0f} conn/s: at most {entry['cap_1_to_2']:.2f}x from 1 to 2 processes")
    print("\ntarget (a report, not a test):\n")
    rows = [[t["test"], t["config"], "—" if t["value"] is None else f"{t['value']:.2f}x",
             "—" if t["cpu_cap"] is None else f"{t['cpu_cap']:.2f}x", f">= {t['target']:g}x", t["status"]]
            for t in data["targets"]]
    print(report.format_table(["test", "config", "measured", "CPU cap", "target", "result"], rows,
                              [False, False, True, True, True, False]))
    for t in data["targets"]:
        print(f"connections/s from 1 to 2 processes >= {t['target']:g}x ({t['config']}): {t['status']}")
    for name, why in data["failed"].items():
        print(f"\nprocs {name} FAILED: {why}")


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"
