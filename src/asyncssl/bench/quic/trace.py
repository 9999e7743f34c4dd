"""Where the time of one ``aio.quic_connect`` + stream echo goes, phase by phase (a diagnosis tool).

    python -m asyncssl.bench.quic.trace [--rounds N] [--relay] [--validate]

Client and server (``aio.quic_serve``) run in one process on one loop, as the connect
latency benchmark does. The tool records, with ``time.perf_counter()`` relative to the
start of each connect:

- every wakeup of each aio port (``readable``, ``writable``, ``timer`` with the timeout it
  was armed with, ``soon`` for a scheduled pass), so a wait that ends on a timer while a
  datagram was ready shows up as a ``timer`` wake right before the work;
- the client's phases: ``connect`` called, ``handshake done``, ``stream opened``,
  ``echo back``; the server's: connection accepted, handshake done, stream accepted;
- with ``--relay``, every datagram on the wire (direction, size, first byte: long header
  Initial/Handshake/Retry or short header), through an in-loop UDP relay, so the
  flights (ClientHello, the server's first flight, the client's Finished) have times.

It patches the adapter's private methods for the run only (nothing is printed by the
library itself) and prints one timeline per round, then the medians per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Event = tuple[float, str, str]  # (time, who, what)


class Tracer:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.events: list[Event] = []

    def mark(self, who: str, what: str) -> None:
        self.events.append((time.perf_counter(), who, what))

    def reset(self) -> None:
        self.t0 = time.perf_counter()
        self.events = []

    def timeline(self) -> list[str]:
        return [f"{(t - self.t0) * 1e3:8.3f} ms  {who:<7} {what}" for t, who, what in self.events]

    def first(self, who: str, what: str) -> float | None:
        for t, w, x in self.events:
            if w == who and x.startswith(what):
                return (t - self.t0) * 1e3
        return None


def _instrument(tracer: Tracer) -> Callable[[], None]:
    """Patch aio's _Port and QuicConnection so that they report to `tracer`; returns the undo."""
    from ...aio import _quic

    port_cls, conn_cls = _quic._Port, _quic.QuicConnection
    saved: dict[tuple[type, str], Any] = {}

    def who(port: Any) -> str:
        return "server" if port.on_tick is not None else "client"

    def patch(cls: type, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(cls, name)
        saved[(cls, name)] = original
        setattr(cls, name, make(original))

    def wake(kind: str) -> Callable[[Any], Any]:
        def make(original: Any) -> Any:
            def wrapper(self: Any) -> Any:
                armed = self.stats.armed_timeouts[-1] if kind == "timer" and self.stats.armed_timeouts else None
                tracer.mark(who(self), f"wake {kind}" + (f" (armed {armed * 1e3:.3f} ms)" if armed is not None else ""))
                return original(self)
            return wrapper
        return make

    patch(port_cls, "_on_readable", wake("readable"))
    patch(port_cls, "_on_writable", wake("writable"))
    patch(port_cls, "_on_timer", wake("timer"))

    def make_rearm(original: Any) -> Any:
        def wrapper(self: Any, progress: bool) -> Any:
            result = original(self, progress)
            armed = self.stats.armed_timeouts[-1] if self.stats.armed_timeouts else None
            tracer.mark(who(self), "sleep " + ("(no timer)" if armed is None else f"timer {armed * 1e3:.3f} ms")
                        + (" + pass" if progress else ""))
            return result
        return wrapper

    patch(port_cls, "_rearm", make_rearm)

    def make_service(original: Any) -> Any:
        def wrapper(self: Any) -> Any:
            was_done = self._handshake.done()
            before = len(self._streams)
            result = original(self)
            side = who(self._port)
            if not was_done and self._handshake.done():
                tracer.mark(side, "handshake done")
            if len(self._streams) > before and side == "server":
                tracer.mark(side, "stream accepted")
            return result
        return wrapper

    patch(conn_cls, "_service", make_service)

    def undo() -> None:
        for (cls, name), original in saved.items():
            setattr(cls, name, original)

    return undo


class _Relay(asyncio.DatagramProtocol):
    """client <-> relay <-> server, on the same loop, logging each datagram."""

    def __init__(self, tracer: Tracer, upstream: tuple[str, int]) -> None:
        self.tracer = tracer
        self.upstream = upstream
        self.transport: Any = None
        self.client: tuple[str, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        kind = _packet_kind(data)
        if addr == self.upstream:
            self.tracer.mark("wire", f"<- server {len(data):5d} B {kind}")
            if self.client is not None:
                self.transport.sendto(data, self.client)
        else:
            self.client = addr
            self.tracer.mark("wire", f"-> server {len(data):5d} B {kind}")
            self.transport.sendto(data, self.upstream)


def _packet_kind(data: bytes) -> str:
    if not data:
        return "empty"
    first = data[0]
    if not first & 0x80:
        return "1-RTT (short header)"
    return {0: "Initial", 1: "0-RTT", 2: "Handshake", 3: "Retry"}[(first >> 4) & 3] + " (long header...)"


PHASES = [("client", "handshake done"), ("client", "stream opened"), ("client", "echo back")]


async def _round(tracer: Tracer, port: int, cctx: Any) -> dict[str, float | None]:
    from ... import aio
    from .common import ALPN, HOST, SERVER_NAME

    tracer.reset()
    tracer.mark("client", "quic_connect called")
    conn = await aio.quic_connect(HOST, port, alpn=[ALPN], context=cctx, server_hostname=SERVER_NAME)
    tracer.mark("client", "quic_connect returned")
    reader, writer = await conn.open_stream()
    tracer.mark("client", "stream opened")
    writer.write(b"x" * 64)
    await reader.readexactly(64)
    tracer.mark("client", "echo back")
    conn.close()
    await conn.wait_closed()
    return {f"{w}: {x}": tracer.first(w, x) for w, x in
            [("client", "quic_connect returned"), ("client", "stream opened"), ("client", "echo back"),
             ("server", "handshake done")]}


async def _main(args: argparse.Namespace) -> int:
    from ... import aio
    from ..certs import write_certificates
    from .common import ALPN, HOST, asyncssl_client_context, asyncssl_server_context

    tracer = Tracer()
    undo = _instrument(tracer)
    with tempfile.TemporaryDirectory() as tmp:
        certs = write_certificates(Path(tmp))
        sctx = asyncssl_server_context(str(certs.certfile), str(certs.keyfile))
        cctx = asyncssl_client_context(str(certs.cafile))
        if args.groups:
            cctx.set1_groups_list(args.groups)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(64)
        tracer.mark("server", "stream data read")
        writer.write(data)
        await writer.drain()

    server = await aio.quic_serve(HOST, 0, context=sctx, alpn=[ALPN], stream_handler=echo,
                                  validate_address=args.validate)
    port = server.sockets[0].getsockname()[1]
    relay_transport = None
    if args.relay:
        loop = asyncio.get_running_loop()
        relay_transport, relay = await loop.create_datagram_endpoint(
            lambda: _Relay(tracer, (HOST, port)), local_addr=(HOST, 0))
        port = relay_transport.get_extra_info("sockname")[1]
    rows: list[dict[str, float | None]] = []
    try:
        for index in range(args.rounds):
            rows.append(await _round(tracer, port, cctx))
            if index < args.show:
                print(f"--- round {index + 1}")
                print("\n".join(tracer.timeline()))
    finally:
        undo()
        if relay_transport is not None:
            relay_transport.close()
        server.close()
        await server.wait_closed()
    print(f"--- medians over {len(rows)} rounds (ms from quic_connect called)")
    for key in rows[0]:
        values = [v for r in rows if (v := r[key]) is not None]
        if values:
            print(f"{key:<32} p50 {statistics.median(values):7.3f}   max {max(values):7.3f}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m asyncssl.bench.quic.trace", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--show", type=int, default=2, help="timelines to print (2)")
    parser.add_argument("--relay", action="store_true", help="log every datagram through an in-loop relay")
    parser.add_argument("--validate", action="store_true", help="address validation (Retry) on the server")
    parser.add_argument("--groups", help="the client's key exchange groups (default: OpenSSL's)")
    args = parser.parse_args(argv)
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
