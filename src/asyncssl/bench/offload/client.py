"""The load generator of ``bench offload``: TLS clients in child processes, off the server's thread.

Why a separate process: the server under test is one asyncio thread; clients sharing that
thread (or its GIL) would steal exactly the time the benchmark measures.  Each child runs
its own asyncio loop with Python's ``ssl`` module (no asyncssl code on the client side, so
a bug in asyncssl cannot flatter itself), and keeps ``connections`` clients busy: each
connects, does a full handshake (a fresh connection never offers a session, so there is no
resumption), sends one short line, reads the echo, closes, and starts over.

Children are started with the ``spawn`` method: forking a process that holds OpenSSL's
async jobs and the simulated device's worker threads would copy them half-alive.

Protocol over the ``multiprocessing`` pipe: the parent sends ``Load`` (a dict), the child
answers with a ``dict`` of counts; ``None`` ends the child.  The child reports its own CPU
time, so the report can show whether the clients were close to saturating a core (then
they, not the server, would be the bottleneck).
"""

from __future__ import annotations

import asyncio
import functools
import resource
import ssl
import time
from multiprocessing.connection import Connection
from typing import Any, cast

PING = b"ping asyncssl offload bench\n"
# A client stops starting connections at its deadline and gives the ones in flight this
# long to finish: abandoning a handshake the server has offloaded would leave a paused
# job behind on the server, which is not what is being measured.
DRAIN_SECONDS = 10.0
RESULT_GRACE_SECONDS = 30.0  # past the children's own deadline: only a dead or stuck child takes longer


def client_context(cafile: str, verify: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    if verify:
        ctx.load_verify_locations(cafile)
    else:
        # The CertificateVerify signature is still checked (TLS 1.3 requires it); only the
        # chain check is skipped, which saves the client one ECDSA verify per handshake.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _Echo(asyncio.Protocol):
    """One connection: write PING once the handshake is done, close when it comes back."""

    def __init__(self, done: asyncio.Future[bool]) -> None:
        self._done = done
        self._received = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # With ssl=..., asyncio calls this after the TLS handshake completed.
        self._transport = cast(asyncio.Transport, transport)  # a stream connection's
        self._transport.write(PING)

    def data_received(self, data: bytes) -> None:
        self._received += data
        if len(self._received) >= len(PING):
            self._finish(bytes(self._received[: len(PING)]) == PING)
            assert self._transport is not None  # data arrives only after connection_made
            self._transport.close()

    def eof_received(self) -> bool:
        self._finish(False)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(False, exc)

    def _finish(self, ok: bool, exc: Exception | None = None) -> None:
        if not self._done.done():
            if ok:
                self._done.set_result(True)
            else:
                self._done.set_exception(exc or ConnectionError(f"echo mismatch: {bytes(self._received)!r}"))


async def _generate(load: dict[str, Any], ctx: ssl.SSLContext) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    window = (started + load["warmup"], started + load["warmup"] + load["seconds"])
    deadline = window[1] + load.get("tail", 0.1)  # outlast the server's window, which began a bit earlier
    completed_in_window = completed = errors = 0
    handshake_seconds: list[float] = []  # connect→echo times inside the window, for the latency quantiles
    first_error = ""

    async def worker() -> None:
        nonlocal completed_in_window, completed, errors, first_error
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            done: asyncio.Future[bool] = loop.create_future()
            try:
                await loop.create_connection(functools.partial(_Echo, done), load["host"], load["port"], ssl=ctx,
                                             server_hostname=load["hostname"], ssl_handshake_timeout=60.0)
                await done
            except Exception as exc:  # counted and shown; a client that stops would only lower the load
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.01)  # a refused connect must not spin
                continue
            t1 = time.monotonic()
            completed += 1
            if window[0] <= t1 < window[1]:
                completed_in_window += 1
                handshake_seconds.append(t1 - t0)

    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    tasks = [asyncio.ensure_future(worker()) for _ in range(load["connections"])]
    _finished, unfinished = await asyncio.wait(tasks, timeout=deadline - time.monotonic() + DRAIN_SECONDS)
    for task in unfinished:
        task.cancel()
    if unfinished:
        await asyncio.wait(unfinished)
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    counts = {"completed_in_window": completed_in_window, "completed": completed, "errors": errors}
    return _result(counts, load, first_error, len(unfinished), usage0, usage1, time.monotonic() - started,
                   handshake_seconds)


def _result(counts: dict[str, int], load: dict[str, Any], first_error: str, abandoned: int,
            usage0: resource.struct_rusage, usage1: resource.struct_rusage, elapsed: float,
            handshake_seconds: list[float]) -> dict[str, Any]:
    handshake_seconds.sort()

    def quantile_ms(q: float) -> float | None:
        if not handshake_seconds:
            return None
        return handshake_seconds[min(len(handshake_seconds) - 1, int(q * len(handshake_seconds)))] * 1e3

    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    return {**counts, "window_seconds": load["seconds"], "first_error": first_error, "abandoned": abandoned,
            "cpu_seconds": cpu, "elapsed": elapsed, "cpu_busy": cpu / elapsed if elapsed else 0.0,
            "connection_p50_ms": quantile_ms(0.5), "connection_p99_ms": quantile_ms(0.99)}


def child_main(pipe: Connection, cafile: str, verify: bool) -> None:
    """Entry point of a client process: serve ``Load`` requests until ``None`` arrives."""
    ctx = client_context(cafile, verify)
    while True:
        load = pipe.recv()
        if load is None:
            break
        try:
            pipe.send(asyncio.run(_generate(load, ctx)))
        except Exception as exc:  # the parent reports it; a silent child would hang it
            pipe.send({"failed": f"{type(exc).__name__}: {exc}"})
    pipe.close()


class ClientPool:
    """The parent's handle on the client processes: start a load, await the summed results."""

    def __init__(self, processes: int, connections: int, cafile: str, verify: bool) -> None:
        import multiprocessing

        if processes < 1 or connections < processes:
            raise ValueError("need at least one process and at least one connection per process")
        spawn = multiprocessing.get_context("spawn")
        self._share = [connections // processes + (i < connections % processes) for i in range(processes)]
        self._pipes, self._procs = [], []
        for _ in range(processes):
            parent_end, child_end = spawn.Pipe()
            proc = spawn.Process(target=child_main, args=(child_end, cafile, verify), daemon=True,
                                 name="asyncssl-bench-offload-clients")
            proc.start()
            child_end.close()
            self._pipes.append(parent_end)
            self._procs.append(proc)

    def start(self, port: int, hostname: str, warmup: float, seconds: float) -> None:
        self._expected_seconds = warmup + seconds
        for pipe, connections in zip(self._pipes, self._share, strict=True):
            pipe.send({"host": "127.0.0.1", "port": port, "hostname": hostname, "connections": connections,
                       "warmup": warmup, "seconds": seconds})

    async def results(self) -> dict[str, Any]:
        """Wait (on the pipes' fds, not blocking the loop) for every child's answer, summed.

        Also watched: each child's exit (its process sentinel) and a bound well past the
        load's own deadline, so that a child that died or hung fails the step with a
        message instead of hanging the benchmark.
        """
        loop = asyncio.get_running_loop()
        bound = getattr(self, "_expected_seconds", 0.0) + DRAIN_SECONDS + RESULT_GRACE_SECONDS
        answers = []
        for pipe, proc in zip(self._pipes, self._procs, strict=True):
            ready = loop.create_future()
            wake = lambda f=ready: f.done() or f.set_result(None)  # noqa: E731
            loop.add_reader(pipe.fileno(), wake)
            loop.add_reader(proc.sentinel, wake)
            try:
                await asyncio.wait_for(ready, bound)
            except asyncio.TimeoutError:
                raise RuntimeError(f"a client process gave no result within {bound:.0f} s") from None
            finally:
                loop.remove_reader(pipe.fileno())
                loop.remove_reader(proc.sentinel)
            if not pipe.poll():
                raise RuntimeError(f"a client process exited (code {proc.exitcode}) without a result")
            answers.append(pipe.recv())
        failed = [a["failed"] for a in answers if "failed" in a]
        if failed:
            raise RuntimeError(f"a client process failed: {failed[0]}")
        total: dict[str, Any] = {key: sum(a[key] for a in answers)
                                 for key in ("completed_in_window", "completed", "errors", "abandoned", "cpu_seconds")}
        total["window_seconds"] = answers[0]["window_seconds"]
        total["first_error"] = next((a["first_error"] for a in answers if a["first_error"]), "")
        # Per-process busy fraction: the busiest process is the one that could be the bottleneck.
        total["cpu_busy_max"] = max(a["cpu_busy"] for a in answers)
        p50 = [a["connection_p50_ms"] for a in answers if a["connection_p50_ms"] is not None]
        p99 = [a["connection_p99_ms"] for a in answers if a["connection_p99_ms"] is not None]
        total["connection_p50_ms"] = max(p50) if p50 else None
        total["connection_p99_ms"] = max(p99) if p99 else None
        return total

    def close(self) -> None:
        for pipe in self._pipes:
            try:
                pipe.send(None)
            except OSError:  # the child is already gone
                pass
        for proc in self._procs:
            proc.join(timeout=DRAIN_SECONDS + 5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        for pipe in self._pipes:
            pipe.close()

    def __enter__(self) -> ClientPool:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
