"""Both sides of ``bench quic --hold``: one server holding thousands of idle QUIC connections.

The server serves the scale echo (``scale_peer._start_server``: one 64-byte stream echo per
connection) and counts the echoes. Client processes open their share of the connections
one after another, each with one echo, and keep them all open without sending anything
more. Once the server has seen every echo it measures, window by window, its CPU time
while the connections are idle — nothing moves but what the QUIC stacks send by
themselves (keep-alive PINGs and their ACKs) — and, for asyncssl, how often its loop woke
up, what one ``SSL_handle_events`` on each listener costs with that many connections
(one C call: OpenSSL's own time) and what one ``SSL_poll`` over the idle connections costs. Clients hold until the harness closes their stdin, then say how many of their
connections were still open when the server had measured: a connection a stack let time out is not idle, it is gone.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from contextlib import AsyncExitStack
from typing import Any

from .common import Ready, Result, rss_bytes
from .scale_peer import ECHO_SIZE, _Client, _start_server, version

TICK_SAMPLES = 10   # handle_events calls timed per listener and window


def server(contender: str, certfile: str, keyfile: str, ready: Ready, expect: int, windows: int,
           window_seconds: float, validate: bool = True, shards: int = 1) -> Result:
    return asyncio.run(_server(contender, certfile, keyfile, ready, expect, windows, window_seconds, validate, shards))


async def _server(contender: str, certfile: str, keyfile: str, ready: Ready, expect: int, windows: int,
                  window_seconds: float, validate: bool, shards: int) -> Result:
    all_open = asyncio.Event()
    echoes: list[float] = []   # when each echo was served

    def on_echo() -> None:
        echoes.append(time.perf_counter())
        if len(echoes) >= expect:
            all_open.set()

    state: dict[str, Any] = {"rss_before": 0, "done": asyncio.Event(), "on_echo": on_echo}
    async with AsyncExitStack() as stack:
        port, _ = await _start_server(contender, certfile, keyfile, state, stack, validate, shards)
        srv = state.get("server")   # the aio QuicServer (None for aioquic and qh3)
        await asyncio.sleep(0.05)
        rss_before = rss_bytes()
        ready(port)
        await all_open.wait()
        opened_at = time.perf_counter()
        rss_open = rss_bytes()
        samples: list[dict[str, Any]] = []
        for _ in range(windows):
            wakeups0 = _wakeups(srv)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await asyncio.sleep(window_seconds)
            sample: dict[str, Any] = {"cpu": time.process_time() - cpu0, "wall": time.perf_counter() - wall0,
                                      "since_open": time.perf_counter() - opened_at}
            if srv is not None:
                sample["wakeups"] = _wakeups(srv) - wakeups0
                sample["connections"] = len(srv.connections)
                sample["tick_us"] = _tick_us(srv)   # after the window: not inside its CPU time
                sample["poll_us"] = _poll_us(srv)
            samples.append(sample)
        # Keep serving while the clients count their open connections; the harness closes
        # our stdin when they have.
        print("MEASURED", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    return {"contender": contender, "version": version(contender), "connections": expect,
            "open_seconds": opened_at - echoes[0], "rss_before": rss_before, "rss_all_open": rss_open,
            "windows": samples, "shards": shards, "validate": validate}


def _wakeups(srv: Any) -> int:
    return 0 if srv is None else sum(port.stats.wakeups for port in srv._ports)


def _tick_us(srv: Any) -> float:
    """Microseconds of one SSL_handle_events on a listener (the median over the listeners)."""
    per_listener = []
    for listener in srv.listeners:
        t0 = time.perf_counter()
        for _ in range(TICK_SAMPLES):
            listener.handle_events()
        per_listener.append((time.perf_counter() - t0) / TICK_SAMPLES * 1e6)
    return statistics.median(per_listener)


def _poll_us(srv: Any) -> float:
    """Microseconds of one pass's question to a port's idle connections (one ``SSL_poll``
    without event handling over all of them, ``PollGroup.ready``): the median over the ports."""
    per_port = []
    for port in srv._ports:
        if port._idle is None:
            continue
        t0 = time.perf_counter()
        for _ in range(TICK_SAMPLES):
            port._idle.ready()
        per_port.append((time.perf_counter() - t0) / TICK_SAMPLES * 1e6)
    return statistics.median(per_port) if per_port else 0.0


def client(contender: str, port: int, cafile: str, connections: int) -> Result:
    return asyncio.run(_client(contender, port, cafile, connections))


async def _client(contender: str, port: int, cafile: str, connections: int) -> Result:
    peer = _Client(contender, port, cafile)
    payload = bytes(range(ECHO_SIZE))
    closers = []
    started = time.perf_counter()
    for index in range(connections):
        echo, close = await peer.connect()
        if await echo(payload) != payload:
            raise RuntimeError(f"connection {index}: wrong echo")
        closers.append(close)   # kept: the connection stays open until the process ends
    open_seconds = time.perf_counter() - started
    print("OPEN", flush=True)
    # Hold them until the harness closes our stdin (the server has measured by then).
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    return {"contender": contender, "connections": connections, "open_seconds": open_seconds,
            "still_open": sum(1 for is_open in peer.still_open if is_open())}
