"""The three parts of the demo. Each is ``async def part(pki, *, quick) -> list[str]`` (report lines)."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import time
from typing import Any

from .. import _binding, aio
from .._binding.constants import (
    DTLS_CLIENT_METHOD,
    DTLS_SERVER_METHOD,
    MODE_ASYNC,
    NO_OVERLAPPING_PROTOCOLS,
    QUIC_CLIENT_METHOD,
    QUIC_SERVER_METHOD,
    TLS_SERVER_METHOD,
    VERIFY_PEER,
)
from ..tls.context import Context
from ._demo_certs import DemoPKI
from ._lossy_relay import LossyRelay

ALPN = b"asyncssl-demo"


class PartUnavailable(Exception):
    """The linked OpenSSL (or platform) cannot run this part; the message says what brings it."""


def _needs(feature: str, version: str, what: str) -> None:
    if not _binding.capabilities()[feature]:
        raise PartUnavailable(
            f"{what} needs OpenSSL {version}+, and asyncssl is linked against {_binding.openssl_version()}. "
            f"Build against 3.5: OPENSSL_DIR=$(python3 wheels/provision_openssl.py 3.5 | tail -1) pip install . "
            "(or run python3 tools/bootstrap.py)")


def _server_context(method: int, pki: DemoPKI, **kwargs: Any) -> Context:
    ctx = Context(method, **kwargs)
    ctx.use_certificate_chain_file(str(pki.cert_file))
    ctx.use_privatekey_file(str(pki.key_file))
    return ctx


def _client_context(method: int, pki: DemoPKI) -> Context:
    ctx = Context(method)
    ctx.set_verify(VERIFY_PEER)
    ctx.load_verify_locations(str(pki.ca_file))
    return ctx


def _pattern(size: int, seed: int) -> bytes:
    block = hashlib.sha256(seed.to_bytes(4, "big")).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


# --- 1. QUIC --------------------------------------------------------------------------------


async def demo_quic(pki: DemoPKI, *, quick: bool) -> list[str]:
    _needs("quic_server", "3.5", "a native QUIC server")
    server_ctx = _server_context(QUIC_SERVER_METHOD, pki)
    server_ctx.set_alpn_select_callback(lambda conn, offered: ALPN if ALPN in offered else NO_OVERLAPPING_PROTOCOLS)

    async def answer_with_checksum(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        digest, size = hashlib.sha256(), 0
        while chunk := await reader.read(256 * 1024):
            digest.update(chunk)
            size += len(chunk)
        writer.write(size.to_bytes(8, "big") + digest.digest())
        await writer.drain()
        writer.write_eof()

    server = await aio.quic_serve("127.0.0.1", 0, context=server_ctx, alpn=[ALPN], stream_handler=answer_with_checksum)
    port = server.sockets[0].getsockname()[1]
    sizes = [256 * 1024, 64 * 1024, 512 * 1024, 128 * 1024] if quick else [8 << 20, 2 << 20, 4 << 20, 1 << 20, 6 << 20, 3 << 20]
    lines = [f"server on udp/127.0.0.1:{port}, {len(sizes)} streams in parallel, ALPN {ALPN.decode()}"]
    try:
        conn: aio.QuicConnection = await aio.quic_connect(
            "127.0.0.1", port, alpn=[ALPN], context=_client_context(QUIC_CLIENT_METHOD, pki), server_hostname="localhost")

        async def send_one(index: int, size: int) -> tuple[int, int, bool]:
            payload = _pattern(size, index)
            reader, writer = await conn.open_stream()
            writer.write(payload)
            await writer.drain()
            writer.write_eof()
            reply = await reader.read()
            ok = reply == size.to_bytes(8, "big") + hashlib.sha256(payload).digest()
            return index, size, ok

        started = time.perf_counter()
        results = await asyncio.gather(*(send_one(i, s) for i, s in enumerate(sizes)))
        elapsed = time.perf_counter() - started
        for index, size, ok in results:
            lines.append(f"stream {index}: {size / 1048576:6.2f} MiB sent, server checksum {'matches' if ok else 'MISMATCH'}")
        total = sum(sizes)
        lines.append(f"{total / 1048576:.1f} MiB in {elapsed:.2f} s = {total / elapsed / 1e6:.0f} MB/s over QUIC on loopback")
        conn.close()
        await conn.wait_closed()
        if not all(ok for _i, _s, ok in results):
            raise RuntimeError("a stream's data did not arrive intact")
    finally:
        server.close()
        await server.wait_closed()
    return lines


# --- 2. Offloaded TLS handshakes ------------------------------------------------------------


async def _serve_clients(ctx: Context, pki: DemoPKI, clients: int) -> float:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    server = await aio.start_server(echo, "127.0.0.1", 0, context=ctx)
    port = server.sockets[0].getsockname()[1]
    client_ctx = ssl.create_default_context(cafile=str(pki.ca_file))

    async def one_client(i: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx, server_hostname="localhost")
        writer.write(b"client %d\n" % i)
        await writer.drain()
        if await reader.readline() != b"client %d\n" % i:
            raise RuntimeError("echo mismatch")
        writer.close()

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one_client(i) for i in range(clients)))
    finally:
        server.close()
        await server.wait_closed()
    return time.perf_counter() - started


async def demo_offload(pki: DemoPKI, *, quick: bool) -> list[str]:
    if not _binding.capabilities()["async_mode"]:
        raise PartUnavailable("OpenSSL async jobs are not available on this platform (ASYNC_is_capable() is 0, e.g. musl)")
    from .. import LibraryContext
    from ..testing import load_simulated_accelerator

    latency, clients = 0.005, (16 if quick else 64)
    lines = [f"one asyncio thread, {clients} concurrent TLS 1.3 clients, simulated accelerator latency {latency * 1000:.0f} ms"]
    timings: dict[str, float] = {}
    for mode in ("MODE_ASYNC", "blocking provider"):
        with LibraryContext() as libctx:
            load_simulated_accelerator(libctx, latency=latency)
            ctx = _server_context(TLS_SERVER_METHOD, pki, libctx=libctx)
            if mode == "MODE_ASYNC":
                ctx.set_mode(MODE_ASYNC)
            timings[mode] = await _serve_clients(ctx, pki, clients)
        lines.append(f"{mode:<18}: {clients} handshakes in {timings[mode]:.2f} s = {clients / timings[mode]:7.0f} handshakes/s")
    lines.append(f"offload keeps the loop serving: {timings['blocking provider'] / timings['MODE_ASYNC']:.1f}x the blocking server")
    return lines


# --- 3. DTLS through loss -------------------------------------------------------------------


async def demo_dtls(pki: DemoPKI, *, quick: bool) -> list[str]:
    if not _binding.capabilities()["dtls"]:
        raise PartUnavailable("this OpenSSL was built without DTLS")
    drop = 0.2

    async def echo(endpoint: aio.DtlsEndpoint) -> None:
        while True:
            try:
                endpoint.send(await endpoint.recv())
            except EOFError:
                return

    # Loopback round trips are microseconds: start retransmitting after 100 ms, not 1 s.
    initial = 0.1
    server = await aio.dtls_serve("127.0.0.1", 0, context=_server_context(DTLS_SERVER_METHOD, pki), handler=echo,
                                  initial_timeout=initial)
    relay = await LossyRelay.start(server.sockets[0].getsockname()[:2], drop=drop)
    messages = 10 if quick else 30
    started = time.perf_counter()
    try:
        endpoint = await aio.dtls_connect(*relay.address, context=_client_context(DTLS_CLIENT_METHOD, pki),
                                          server_hostname="localhost", initial_timeout=initial)
        handshake = time.perf_counter() - started
        echoed = 0
        for i in range(messages):
            message = b"datagram %d" % i
            for _attempt in range(20):  # the application retries its own lost datagrams
                endpoint.send(message)
                try:
                    if await asyncio.wait_for(endpoint.recv(), 0.25) == message:
                        echoed += 1
                        break
                except asyncio.TimeoutError:
                    continue
        endpoint.close()
    finally:
        relay.close()
        server.close()
        await server.wait_closed()
    elapsed = time.perf_counter() - started
    return [
        f"relay drops {drop:.0%} of datagrams each way (dropped {relay.dropped}, forwarded {relay.forwarded})",
        f"handshake completed in {handshake:.2f} s, driven only by get_event_timeout() retransmissions "
        f"(first after {initial * 1000:.0f} ms, then doubling)",
        f"{echoed}/{messages} application datagrams echoed in {elapsed:.2f} s",
    ]


PARTS = {
    "quic": ("QUIC: several streams in parallel", demo_quic),
    "offload": ("Async offload: TLS handshakes on a simulated accelerator", demo_offload),
    "dtls": ("DTLS: a handshake and an exchange through 20% datagram loss", demo_dtls),
}
