"""Both sides of the "QUIC at scale" workloads, for asyncssl.aio, aioquic and qh3.

The wire protocol, the same for every contender: the client opens connections one after
another; on each it opens one bidirectional stream, sends 64 bytes and reads them back
(the server echoes whatever a stream brings, up to its FIN or 64 bytes), and keeps the
connection open. When all are open it opens one more stream on the last connection and
sends ``STATS <seconds>``: the server samples its RSS, then sleeps that long while it
holds every connection idle, and answers with JSON (RSS before the first connection, RSS
now, CPU seconds spent during the idle sleep). The server's RSS baseline is taken after
one warm-up connection (imports, first-handshake allocations), which the client opens and
closes first.

``latency``: client and server in one process, on one loop (as ``aio.quic_connect`` is
measured in the issue): sequential connects, each followed by one 64-byte echo, each
connection closed after its echo; the connect and echo times of every round.

The multi-process server (``until_signal``, asyncssl only; ``procs.py`` runs N of them with
``reuse_port`` on one port, the clients being ``quic_connect_bench``): it warms up on a
private port of its own (one connect and echo, so that no client pays for first-use
costs and no warm-up has to reach each process through the kernel's hashing), binds
the shared port, prints ``READY <port>``, then serves the same echo. SIGUSR1 starts its
CPU window (it answers ``MARK``); SIGTERM ends it: it closes and reports its CPU seconds
and how many echoes it served.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from .common import ALPN, HOST, SERVER_NAME, Ready, Result, rss_bytes

ECHO_SIZE = 64
_STATS = b"STATS "


async def _serve_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        state: dict[str, Any]) -> None:
    data = await reader.read(ECHO_SIZE)
    if data.startswith(_STATS):
        idle = float(data[len(_STATS):].decode())
        rss_open = rss_bytes()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(idle)
        answer = {"rss_before": state["rss_before"], "rss_all_open": rss_open,
                  "idle_cpu": time.process_time() - cpu0, "idle_wall": time.perf_counter() - wall0,
                  "malloc_before": state.get("malloc_before"), "malloc_all_open": malloc_in_use(),
                  "python_blocks_before": state.get("python_blocks_before"),
                  "python_blocks_all_open": sys.getallocatedblocks(), "tracemalloc": _tracemalloc_top(state)}
        writer.write(json.dumps(answer).encode())
        writer.write_eof()
        state["done"].set()
        return
    writer.write(data)
    writer.write_eof()


def malloc_in_use() -> int | None:
    """Bytes the C allocator has handed out and not got back (glibc ``mallinfo2``: arena
    blocks in use + mmap'ed blocks): OpenSSL's memory and Python's large objects; Python's
    small objects live in pymalloc arenas (``sys.getallocatedblocks``)."""
    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")]
    try:
        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return None
    return int(info.uordblks + info.hblkhd)


def _tracemalloc_top(state: dict[str, Any], lines: int = 12) -> list[str]:
    """With ASYNCSSL_BENCH_TRACEMALLOC=1: where Python memory grew since the baseline, by line."""
    if "snapshot" not in state:
        return []
    diff = tracemalloc.take_snapshot().compare_to(state["snapshot"], "lineno")
    total = sum(stat.size_diff for stat in diff)
    return [f"total Python allocations grew by {total} bytes"] + [str(stat) for stat in diff[:lines]]


# --- servers -----------------------------------------------------------------------------------


def server(contender: str, certfile: str, keyfile: str, ready: Ready, validate: bool = True, shards: int = 1,
           reuse_port: bool = False, port: int = 0, until_signal: bool = False, cafile: str | None = None) -> Result:
    if until_signal:
        if contender != "aio" or cafile is None:
            raise ValueError("the multi-process server is asyncssl's (contender 'aio') and needs a cafile")
        return asyncio.run(_signalled_server(certfile, keyfile, cafile, ready, validate, shards, reuse_port, port))
    if reuse_port or port:
        raise ValueError("reuse_port and a fixed port are for the multi-process server (until_signal)")
    return asyncio.run(_server(contender, certfile, keyfile, ready, validate, shards))


CLOSE_TIMEOUT = 5.0  # seconds a signalled server waits for its connections to close


async def _signalled_server(certfile: str, keyfile: str, cafile: str, ready: Ready, validate: bool, shards: int,
                            reuse_port: bool, port: int) -> Result:
    import signal

    from ... import aio
    from .common import asyncssl_server_context

    payload = bytes(range(ECHO_SIZE))
    async with AsyncExitStack() as warm:  # first-use costs (both sides' code paths), on a port of our own
        warm_port, _ = await _start_server("aio", certfile, keyfile, {"rss_before": 0, "done": asyncio.Event()},
                                           warm, validate, 1)
        echo, close = await _Client("aio", warm_port, cafile).connect()
        if await echo(payload) != payload:
            raise RuntimeError("wrong echo on the warm-up connection")
        await close()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    window = {"cpu0": time.process_time(), "wall0": time.perf_counter(), "echoes0": 0}
    echoes = [0]

    def mark() -> None:
        window.update(cpu0=time.process_time(), wall0=time.perf_counter(), echoes0=echoes[0])
        print("MARK", flush=True)

    loop.add_signal_handler(signal.SIGUSR1, mark)
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(ECHO_SIZE)
        writer.write(data)
        writer.write_eof()
        echoes[0] += 1

    srv = await aio.quic_serve(HOST, port, context=asyncssl_server_context(certfile, keyfile), alpn=[ALPN],
                               stream_handler=handler, validate_address=validate, shards=shards,
                               reuse_port=reuse_port)
    try:
        ready(srv.sockets[0].getsockname()[1])
        await stop.wait()
        cpu, wall = time.process_time() - window["cpu0"], time.perf_counter() - window["wall0"]
    finally:
        srv.close()
        try:
            # the C clients exit without closing: their connections are only abandoned
            await asyncio.wait_for(srv.wait_closed(), CLOSE_TIMEOUT)
        except asyncio.TimeoutError:
            pass
    return {"contender": "aio", "version": version("aio"), "pid": os.getpid(), "cpu": cpu, "wall": wall,
            "echoes": echoes[0] - int(window["echoes0"]), "validate": validate, "shards": shards,
            "reuse_port": reuse_port}


async def _server(contender: str, certfile: str, keyfile: str, ready: Ready, validate: bool, shards: int) -> Result:
    state: dict[str, Any] = {"rss_before": 0, "done": asyncio.Event()}
    async with AsyncExitStack() as stack:
        port, warmed = await _start_server(contender, certfile, keyfile, state, stack, validate, shards)
        ready(port)
        await warmed.wait()   # the client's warm-up connection is gone: the baseline
        await asyncio.sleep(0.05)
        state["rss_before"] = rss_bytes()
        state["malloc_before"] = malloc_in_use()
        state["python_blocks_before"] = sys.getallocatedblocks()
        if os.environ.get("ASYNCSSL_BENCH_TRACEMALLOC"):
            tracemalloc.start(1)
            state["snapshot"] = tracemalloc.take_snapshot()
        await state["done"].wait()
        await asyncio.sleep(0.2)  # let the answer go out before closing
    return {"contender": contender}


async def _start_server(contender: str, certfile: str, keyfile: str, state: dict[str, Any],
                        stack: AsyncExitStack, validate: bool = True, shards: int = 1) -> tuple[int, asyncio.Event]:
    """Serve the echo protocol; `validate` and `shards` (asyncssl only): quic_serve's address
    validation (a Retry round trip per connection; on by default, as in quic_serve) and
    sockets sharing the port; aioquic and qh3 serve with their own defaults (no Retry)."""
    warmed = asyncio.Event()
    first = [True]
    on_echo = state.get("on_echo")   # bench quic --hold counts the echoes

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_stream(reader, writer, state)
        if first[0]:
            first[0] = False
            warmed.set()
        if on_echo is not None:
            on_echo()

    if contender == "aio":
        from ... import aio
        from .common import asyncssl_server_context

        ctx = asyncssl_server_context(certfile, keyfile)
        srv = await aio.quic_serve(HOST, 0, context=ctx, alpn=[ALPN], stream_handler=handler,
                                   validate_address=validate, shards=shards)
        state["server"] = srv
        stack.push_async_callback(srv.wait_closed)
        stack.callback(srv.close)
        return srv.sockets[0].getsockname()[1], warmed
    serve, config = _pure_python(contender, is_client=False)
    config.load_cert_chain(certfile, keyfile)
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def on_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = loop.create_task(handler(reader, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    srv = await serve(HOST, 0, configuration=config, stream_handler=on_stream)
    stack.callback(srv.close)
    return srv._transport.get_extra_info("sockname")[1], warmed


def _pure_python(contender: str, *, is_client: bool) -> tuple[Any, Any]:
    """(serve or connect, a QuicConfiguration) of aioquic or qh3 (the same API)."""
    import importlib

    if contender not in ("aioquic", "qh3"):
        raise ValueError(contender)
    # The same API in both packages; imported by name so that either may be missing.
    asyncio_api: Any = importlib.import_module(f"{contender}.asyncio")
    configuration: Any = importlib.import_module(f"{contender}.quic.configuration")
    config = configuration.QuicConfiguration(is_client=is_client, alpn_protocols=[ALPN.decode()])
    return (asyncio_api.connect if is_client else asyncio_api.serve), config


def version(contender: str) -> str:
    if contender == "aio":
        from .common import openssl_version

        return openssl_version()
    module = __import__(contender)
    return f"{contender} {module.__version__}"


# --- clients -------------------------------------------------------------------------------------


class _Client:
    """connect() -> a handle with echo() and close(), per contender."""

    def __init__(self, contender: str, port: int, cafile: str) -> None:
        self.contender = contender
        self.port = port
        self.still_open: list[Callable[[], bool]] = []   # per connection made: whether it is open
        if contender == "aio":
            from .common import asyncssl_client_context

            self.ctx: Any = asyncssl_client_context(cafile)
        else:
            self.connect_fn, self.config = _pure_python(contender, is_client=True)
            self.config.load_verify_locations(cafile)
            self.config.server_name = SERVER_NAME

    async def connect(self) -> tuple[Callable[[bytes], Awaitable[bytes]], Callable[[], Awaitable[None]]]:
        if self.contender == "aio":
            from ... import aio

            conn = await aio.quic_connect(HOST, self.port, alpn=[ALPN], context=self.ctx, server_hostname=SERVER_NAME)
            self.still_open.append(lambda: conn.get_conn_close_info() is None)

            async def echo(data: bytes) -> bytes:
                reader, writer = await conn.open_stream()
                writer.write(data)
                writer.write_eof()
                return await reader.read()

            async def close() -> None:
                conn.close()
                await conn.wait_closed()
            return echo, close
        manager = self.connect_fn(HOST, self.port, configuration=self.config)
        protocol = await manager.__aenter__()
        self.still_open.append(lambda: protocol._quic._state.name not in ("CLOSING", "DRAINING", "TERMINATED"))

        async def echo_pure(data: bytes) -> bytes:
            reader, writer = await protocol.create_stream()
            writer.write(data)
            writer.write_eof()
            return bytes(await reader.read())

        async def close_pure() -> None:
            await manager.__aexit__(None, None, None)
        return echo_pure, close_pure


def client(contender: str, port: int, cafile: str, connections: int, idle: float) -> Result:
    return asyncio.run(_scale_client(contender, port, cafile, connections, idle))


async def _scale_client(contender: str, port: int, cafile: str, connections: int, idle: float) -> Result:
    peer = _Client(contender, port, cafile)
    payload = bytes(range(ECHO_SIZE))
    echo, close = await peer.connect()  # the warm-up connection (not counted)
    if await echo(payload) != payload:
        raise RuntimeError("wrong echo on the warm-up connection")
    await close()
    await asyncio.sleep(0.2)  # the server takes its RSS baseline now
    closers: list[Callable[[], Awaitable[None]]] = []
    errors: list[str] = []
    started, cpu0 = time.perf_counter(), time.process_time()
    for index in range(connections):
        echo, close = await peer.connect()
        if await echo(payload) != payload:
            errors.append(f"connection {index}: wrong echo")
        closers.append(close)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu0
    stats = json.loads(await echo(_STATS + str(idle).encode()))
    for close in closers:
        try:
            await asyncio.wait_for(close(), 5.0)
        except Exception:   # closing is not measured
            pass
    return {"contender": contender, "version": version(contender), "connections": connections,
            "seconds": seconds, "client_cpu": cpu, "errors": errors, **stats}


def latency(contender: str, certfile: str, keyfile: str, cafile: str, rounds: int, validate: bool = True,
            shards: int = 1) -> Result:
    return asyncio.run(_latency(contender, certfile, keyfile, cafile, rounds, validate, shards))


async def _latency(contender: str, certfile: str, keyfile: str, cafile: str, rounds: int, validate: bool,
                   shards: int) -> Result:
    state: dict[str, Any] = {"rss_before": 0, "done": asyncio.Event()}
    payload = bytes(range(ECHO_SIZE))
    connect_ms: list[float] = []
    echo_ms: list[float] = []
    async with AsyncExitStack() as stack:
        port, _ = await _start_server(contender, certfile, keyfile, state, stack, validate, shards)
        peer = _Client(contender, port, cafile)
        for index in range(rounds + 1):
            t0 = time.perf_counter()
            echo, close = await peer.connect()
            t1 = time.perf_counter()
            if await echo(payload) != payload:
                raise RuntimeError("wrong echo")
            t2 = time.perf_counter()
            await close()
            if index:   # the first round warms up (imports, first allocations)
                connect_ms.append((t1 - t0) * 1e3)
                echo_ms.append((t2 - t1) * 1e3)
    return {"contender": contender, "version": version(contender), "connect_ms": connect_ms, "echo_ms": echo_ms}
