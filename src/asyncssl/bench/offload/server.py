"""The server side of ``bench offload``: one configuration, one measured step.

The server is ``asyncssl.aio.start_server`` on this process's only asyncio thread, with an
EC P-256 certificate, TLS 1.3 only, its signatures on the simulated accelerator in a
library context of its own.  The two modes differ in one flag:

- ``async``: ``SSL.MODE_ASYNC``.  A handshake whose signature is on "the device" returns
  ``WantAsyncError``; the loop watches the async fds and serves the other clients.
- ``blocking``: no MODE_ASYNC.  The provider then blocks the calling thread — the loop —
  for the latency, as a synchronous accelerator driver would.

Handshakes are counted at the server (the connection callback runs once per completed
handshake), between two snapshots taken on the loop after the warm-up; the clients' own
count of completed echo round trips is kept as a cross-check.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..certs import CertFiles
from .client import ClientPool

if TYPE_CHECKING:
    from ...offload.provider import LibraryContext
    from ...tls.context import Context


@dataclass(frozen=True)
class Config:
    async_mode: bool
    latency_ms: float

    @property
    def name(self) -> str:
        return f"{'async' if self.async_mode else 'blocking'}-{self.latency_ms:g}ms"

    @property
    def label(self) -> str:
        return f"{'MODE_ASYNC' if self.async_mode else 'blocking'} {self.latency_ms:g} ms"


def server_context(config: Config, certs: CertFiles, libctx: LibraryContext) -> Context:
    from ..._binding.constants import MODE_ASYNC, TLS1_3_VERSION, TLS_SERVER_METHOD
    from ...testing import load_simulated_accelerator
    from ...tls.context import Context
    from ..tls.contenders import CIPHERSUITE

    load_simulated_accelerator(libctx, latency=config.latency_ms / 1000)
    ctx = Context(TLS_SERVER_METHOD, libctx=libctx)
    ctx.set_min_proto_version(TLS1_3_VERSION)
    ctx.set_max_proto_version(TLS1_3_VERSION)
    ctx.set_tls13_ciphersuites(CIPHERSUITE.encode())  # the key exchange group comes from isolate's policy
    ctx.use_certificate_chain_file(str(certs.certfile))
    ctx.use_privatekey_file(str(certs.keyfile))
    if config.async_mode:
        ctx.set_mode(MODE_ASYNC)
    return ctx


def _accelerator_stats() -> dict[str, int] | None:
    """The simulated device's counters, or None if this build of the provider has none."""
    try:
        from ...testing import simulated_accelerator_stats

        return simulated_accelerator_stats()
    except (ImportError, AttributeError):
        return None


class _Snapshot:
    def __init__(self, handshakes: int) -> None:
        self.wall = time.monotonic()
        self.loop_cpu = time.thread_time()  # this thread only: the event loop
        self.process_cpu = time.process_time()  # plus the device's worker threads
        self.handshakes = handshakes
        self.stats = _accelerator_stats()


async def measure_step(config: Config, certs: CertFiles, clients: ClientPool, *, warmup: float, seconds: float,
                       profiler: cProfile.Profile | None = None) -> dict[str, Any]:
    """Serve the clients for ``warmup + seconds``; return what happened in the last ``seconds``."""
    from ... import LibraryContext, aio

    handshakes = 0
    negotiated: dict[str, str] = {}
    echo_errors = 0

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal handshakes, echo_errors
        handshakes += 1  # called once the handshake has completed
        if not negotiated:
            cipher = writer.get_extra_info("cipher") or ("?", "?", 0)
            negotiated.update(cipher=str(cipher[0]), protocol=str(cipher[1]))
        try:
            writer.write(await reader.readline())
            await writer.drain()
        except Exception:  # a client that went away: counted, never an unhandled task error
            echo_errors += 1
        finally:
            writer.close()

    with LibraryContext() as libctx:
        ctx = server_context(config, certs, libctx)
        server = await aio.start_server(echo, "127.0.0.1", 0, context=ctx, backlog=1024)
        try:
            clients.start(server.sockets[0].getsockname()[1], certs.hostname, warmup, seconds)
            await asyncio.sleep(warmup)
            before = _Snapshot(handshakes)
            if profiler is not None:
                profiler.enable()  # cProfile follows this thread only: the loop, which is what is measured
            await asyncio.sleep(seconds)
            if profiler is not None:
                profiler.disable()
            after = _Snapshot(handshakes)
            client_side = await clients.results()
        finally:
            server.close()
            await server.wait_closed()
        await asyncio.sleep(0.05)  # let the last closes reach the protocols before the context goes
        del ctx, server
        gc.collect()

    wall = after.wall - before.wall
    result: dict[str, Any] = {
        "handshakes_per_s": (after.handshakes - before.handshakes) / wall,
        "window_seconds": wall,
        "handshakes_in_window": after.handshakes - before.handshakes,
        "client_handshakes_per_s": client_side["completed_in_window"] / client_side["window_seconds"],
        "loop_cpu_busy": (after.loop_cpu - before.loop_cpu) / wall,
        "process_cpu_busy": (after.process_cpu - before.process_cpu) / wall,
        "client_cpu_busy_max": client_side["cpu_busy_max"],
        "client_errors": client_side["errors"],
        "client_first_error": client_side["first_error"],
        "client_abandoned": client_side["abandoned"],
        "server_echo_errors": echo_errors,
        "connection_p50_ms": client_side["connection_p50_ms"],
        "connection_p99_ms": client_side["connection_p99_ms"],
        "negotiated": negotiated,
    }
    if before.stats is not None and after.stats is not None:
        result["accelerator"] = {k: after.stats[k] - before.stats.get(k, 0) for k in after.stats}
    return result
