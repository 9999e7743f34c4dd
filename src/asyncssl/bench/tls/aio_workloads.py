"""``python -m asyncssl bench tls-aio``: asyncio TLS over loopback TCP, asyncssl.aio against its peers.

Each step runs a server process and a client process of the same stack (so each side's CPU
is its own), TLS 1.3 with X25519 and TLS_AES_128_GCM_SHA256 for everyone (the OPENSSL_CONF
policy of ``isolate``, set in both processes, plus the explicit settings asyncssl has):

- ``pingpong``: 16 concurrent connections, each writes 64 B and waits for the echo. Unit:
  round trips per second (all connections together).
- ``bulk``: one connection, the client writes a payload in 64 KiB writes, the server
  counts it. Unit: MB/s (10**6 bytes of plaintext per second).
- ``connects``: connect, a 1-byte echo, close, 16 clients at a time. Unit: connections/s.
- ``idle``: the server's RSS growth while one client holds N connections (1,000; 100 with
  ``--quick``), each idle after a 1-byte echo. Unit: KiB per connection (lower is better).

Contenders: ``asyncio`` (Python's asyncio streams + ``ssl``), ``uvloop`` (the same on
uvloop, if installed: ``pip install uvloop``), ``aio`` (``asyncssl.aio.open_connection``
/ ``start_server`` on asyncio's loop) and ``aio-uvloop`` (the same on uvloop's loop: the
transport is asyncssl's, the loop uvloop's). Targets (issue 12) are printed as PASS/MISS —
a report, never an assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import isolate, report, timing
from ..certs import CertFiles, write_certificates
from .contenders import CIPHERSUITE, GROUP

DESCRIPTION = "asyncio TLS over loopback TCP: ping-pong, bulk, connects/s vs asyncio+ssl and uvloop+ssl"

NAMES = ("aio", "aio-uvloop", "asyncio", "uvloop")
LABELS = {"aio": "asyncssl.aio", "aio-uvloop": "asyncssl.aio on uvloop", "asyncio": "asyncio + ssl",
          "uvloop": "uvloop + ssl"}
TESTS = ("pingpong", "bulk", "connects", "idle")
UNITS = {"pingpong": "round trips/s", "bulk": "MB/s", "connects": "connections/s", "idle": "KiB/conn"}
LOWER_IS_BETTER = {"idle"}
IDLE_CONNECTIONS = 1000
CONCURRENCY = 16
PING = b"p" * 64
WRITE_SIZE = 65536
# (test, contender, baseline, target ratio): issue 12's asyncio targets, a minimum ratio
# (a maximum for LOWER_IS_BETTER tests); asyncssl's transport on each loop.
TARGETS = [
    ("pingpong", "aio", "asyncio", 1.5), ("pingpong", "aio", "uvloop", 1.5),
    ("pingpong", "aio-uvloop", "uvloop", 1.5),
    ("bulk", "aio", "asyncio", 1.3), ("bulk", "aio", "uvloop", 1.3), ("bulk", "aio-uvloop", "uvloop", 1.3),
    ("connects", "aio", "uvloop", 1.1), ("connects", "aio-uvloop", "uvloop", 1.1),
    ("idle", "aio", "asyncio", 1.0),
]


# --- one side, in its own process ----------------------------------------------------------


def _server_context(stack: str, certs: dict[str, str]) -> Any:
    if stack.startswith("aio"):
        from ...tls.context import create_default_context

        ctx = create_default_context("server")
        ctx.set_tls13_ciphersuites(CIPHERSUITE.encode())
        ctx.use_certificate_chain_file(certs["certfile"])
        ctx.use_privatekey_file(certs["keyfile"])
        return ctx
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.minimum_version = ssl.TLSVersion.TLSv1_3
    sctx.load_cert_chain(certs["certfile"], certs["keyfile"])
    return sctx


def _client_context(stack: str, certs: dict[str, str]) -> Any:
    if stack.startswith("aio"):
        from ...tls.context import create_default_context

        ctx = create_default_context("client")
        ctx.set_tls13_ciphersuites(CIPHERSUITE.encode())
        ctx.load_verify_locations(certs["cafile"])
        return ctx
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.minimum_version = ssl.TLSVersion.TLSv1_3
    cctx.load_verify_locations(certs["cafile"])
    return cctx


async def _open(stack: str, ctx: Any, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if stack.startswith("aio"):
        from ... import aio

        return await aio.open_connection("127.0.0.1", port, context=ctx, server_hostname="localhost")
    return await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost")


async def _serve(stack: str, test: str, certs: dict[str, str]) -> None:
    ctx = _server_context(stack, certs)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(WRITE_SIZE):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            writer.close()

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # the payload's size first (TLS transports differ in their write_eof support)
        expected, total = int.from_bytes(await reader.readexactly(8), "big"), 0
        while total < expected and (data := await reader.read(1 << 20)):
            total += len(data)
        writer.write(total.to_bytes(8, "big"))
        await writer.drain()
        writer.close()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(await reader.readexactly(1))
            await reader.read()   # idle until the client closes
        except (ConnectionError, ssl.SSLError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    handler = count if test == "bulk" else hold if test == "idle" else echo
    if stack.startswith("aio"):
        from ... import aio

        server = await aio.start_server(handler, "127.0.0.1", 0, context=ctx)
    else:
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ctx)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)   # until the parent closes stdin
    server.close()


async def _client(stack: str, test: str, certs: dict[str, str], port: int, seconds: float, size: int) -> float:
    ctx = _client_context(stack, certs)
    if test == "bulk":
        reader, writer = await _open(stack, ctx, port)
        block, writes = b"x" * WRITE_SIZE, size // WRITE_SIZE
        start = time.perf_counter()
        writer.write((writes * WRITE_SIZE).to_bytes(8, "big"))
        for _ in range(writes):
            writer.write(block)
            await writer.drain()
        got = int.from_bytes(await reader.readexactly(8), "big")
        elapsed = time.perf_counter() - start
        writer.close()
        if got != size // WRITE_SIZE * WRITE_SIZE:
            raise RuntimeError(f"the server counted {got} bytes")
        return got / elapsed * 1e-6
    if test == "idle":
        return await _hold_idle(stack, ctx, port, size)
    deadline = time.perf_counter() + seconds
    done = 0

    async def pinger() -> None:
        nonlocal done
        reader, writer = await _open(stack, ctx, port)
        while time.perf_counter() < deadline:
            writer.write(PING)
            await reader.readexactly(len(PING))
            done += 1
        writer.close()

    async def connecter() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            reader, writer = await _open(stack, ctx, port)
            writer.write(b"c")
            await reader.readexactly(1)
            writer.close()
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*((pinger if test == "pingpong" else connecter)() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - start)


async def _hold_idle(stack: str, ctx: Any, port: int, count: int) -> float:
    """Open `count` connections (16 at a time), a 1-byte echo on each; say HOLDING and keep
    them until stdin closes (the parent reads the server's RSS meanwhile)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 64 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count + 64, hard))
    writers: list[asyncio.StreamWriter] = []

    async def one() -> None:
        reader, writer = await _open(stack, ctx, port)
        writer.write(b"i")
        await reader.readexactly(1)
        writers.append(writer)

    for first in range(0, count, CONCURRENCY):
        await asyncio.gather(*(one() for _ in range(min(CONCURRENCY, count - first))))
    print("HOLDING", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for writer in writers:
        writer.close()
    return float(len(writers))


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def _run_loop(stack: str, main: Any) -> Any:
    if stack in ("uvloop", "aio-uvloop"):
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


def worker(argv: list[str]) -> int:
    """``python -m asyncssl.bench.tls.aio_workloads JOB``: one side of one step."""
    job = json.loads(argv[0])
    stack, test, certs = job["stack"], job["test"], job["certs"]
    if job["role"] == "server":
        _run_loop(stack, _serve(stack, test, certs))
        return 0
    rate = _run_loop(stack, _client(stack, test, certs, job["port"], job["seconds"], job["size"]))
    print(f"RESULT {json.dumps(rate)}", flush=True)
    return 0


# --- the parent ------------------------------------------------------------------------------


def _available(stack: str) -> str | None:
    if stack in ("uvloop", "aio-uvloop"):
        try:
            import uvloop  # noqa: F401
        except ImportError:
            return "uvloop is not installed (pip install uvloop)"
    return None


def _step(stack: str, test: str, certs: CertFiles, env: dict[str, str], seconds: float, size: int) -> float:
    paths = {"certfile": str(certs.certfile), "keyfile": str(certs.keyfile), "cafile": str(certs.cafile)}
    command = [sys.executable, "-m", "asyncssl.bench.tls.aio_workloads"]
    server = subprocess.Popen([*command, json.dumps({"role": "server", "stack": stack, "test": test, "certs": paths})],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stdout is not None and server.stdin is not None
        line = server.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"the {stack} server did not start: {line!r}")
        job = {"role": "client", "stack": stack, "test": test, "certs": paths, "port": int(line.split()[1]),
               "seconds": seconds, "size": size}
        if test == "idle":
            return _idle_step(stack, command, job, env, server.pid)
        client = subprocess.run([*command, json.dumps(job)], capture_output=True, text=True, env=env,
                                timeout=seconds * 4 + 120)
        result = next((ln for ln in client.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if client.returncode != 0 or result is None:
            raise RuntimeError(f"the {stack} client failed ({client.returncode}): {client.stderr[-600:]}")
        rate: float = json.loads(result.split(" ", 1)[1])
        return rate
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _idle_step(stack: str, command: list[str], job: dict[str, Any], env: dict[str, str], server_pid: int) -> float:
    """The server's RSS growth per connection while the client holds job["size"] idle ones (KiB)."""
    before = _rss_kib(server_pid)
    client = subprocess.Popen([*command, json.dumps(job)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert client.stdout is not None and client.stdin is not None
        line = client.stdout.readline()
        if line.strip() != "HOLDING":
            raise RuntimeError(f"the {stack} client did not open its connections: {line!r} "
                               f"{client.communicate(timeout=30)[1][-600:]}")
        time.sleep(0.5)   # let the server finish its side of the last handshakes
        after = _rss_kib(server_pid)
        client.stdin.close()
        client.wait(60)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    return (after - before) / float(job["size"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asyncssl bench tls-aio", description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repetition, 0.3 s, 8 MiB bulk")
    parser.add_argument("--repeat", type=int, default=3, metavar="N", help="repetitions (default 3)")
    parser.add_argument("--seconds", type=float, default=2.0, metavar="S", help="per ping-pong/connects step")
    parser.add_argument("--bytes", type=int, default=256 << 20, metavar="B", help="bulk payload (default 256 MiB)")
    parser.add_argument("--only", type=lambda t: report.parse_names(t, NAMES, "contender"), metavar="LIST",
                        help=f"comma-separated contenders among {','.join(NAMES)} (default: all)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="where the JSON goes")
    args = parser.parse_args(argv)
    repeat, seconds, size = (1, 0.3, 8 << 20) if args.quick else (args.repeat, args.seconds, args.bytes)
    progress = report.Progress()
    names = args.only or list(NAMES)
    unavailable = {n: why for n in names if (why := _available(n)) is not None}
    names = [n for n in names if n not in unavailable]
    values: dict[str, dict[str, list[float]]] = {t: {n: [] for n in names} for t in TESTS}
    failed: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="asyncssl-bench-aio-") as tmp:
        certs = write_certificates(Path(tmp))
        env = isolate.child_environment(isolate.write_policy(Path(tmp) / "policy.cnf", GROUP, CIPHERSUITE))
        for rep, test, stack in timing.steps(repeat, list(TESTS), names):
            if stack in failed:
                continue
            progress.step(f"{LABELS[stack]} {test} (rep {rep + 1})")
            try:
                count = (100 if args.quick else IDLE_CONNECTIONS) if test == "idle" else size
                values[test][stack].append(_step(stack, test, certs, env, seconds, count))
            except Exception as exc:  # one contender failing must not hide the others
                failed[stack] = f"{test}: {exc}"
    load = report.load_average()
    rows = []
    for stack in names:
        rows.append([LABELS[stack]] + [report.format_number(timing.median(values[t][stack])) if values[t][stack]
                                       else "—" for t in TESTS])
    print("\n" + DESCRIPTION + f"; {repeat} repetition(s), load average {load}\n")
    print(report.format_table(["contender", *(f"{t} {UNITS[t]}" for t in TESTS)], rows,
                              [False, *(True for _ in TESTS)]))
    for stack, why in {**unavailable, **failed}.items():
        print(f"{LABELS[stack]}: not measured — {why}")
    targets: list[dict[str, Any]] = []
    for test, mine, baseline, target in TARGETS:
        a, b = values[test].get(mine, []), values[test].get(baseline, [])
        ratio = timing.paired_ratio(a, b) if a and b and len(a) == len(b) else None
        lower = test in LOWER_IS_BETTER
        status = "n/a" if ratio is None else ("PASS" if (ratio <= target if lower else ratio >= target) else "MISS")
        targets.append({"test": test, "contender": mine, "baseline": baseline, "target": target,
                        "ratio": ratio, "status": status})
    print("\nasyncssl.aio targets (paired ratios; a report, not a test):\n")
    print(report.format_table(["test", "contender", "baseline", "ratio", "target", "result"],
                              [[t["test"], LABELS[t["contender"]], f"vs {LABELS[t['baseline']]}",
                                f"{t['ratio']:.2f}x" if t["ratio"] is not None else "—",
                                f"{'<=' if t['test'] in LOWER_IS_BETTER else '>='} {t['target']:.2f}x",
                                t["status"]] for t in targets], [False, False, False, True, True, False]))
    out = args.out or report.default_out_dir()
    path = report.write_json(out / "tls-aio.json", {
        "suite": "tls-aio", "settings": {"repeat": repeat, "seconds": seconds, "bytes": size,
                                         "concurrency": CONCURRENCY, "load_average": load},
        "values": values, "targets": targets, "failed": failed, "unavailable": unavailable})
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(worker(sys.argv[1:]))
