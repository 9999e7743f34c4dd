"""The "asyncssl asyncio" contender (``aio.quic_connect`` / ``aio.quic_serve``, streams as
asyncio StreamReader/StreamWriter) and both sides of the 100 connections × 4 streams test.

Written as an application would: ``write()`` + ``await drain()`` per 64 KiB block,
``reader.read(64 KiB)`` until EOF, ``write_eof()`` to conclude.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from typing import TYPE_CHECKING, TypedDict

from .common import (
    ALPN,
    HOST,
    READ_SIZE,
    SERVER_NAME,
    Ready,
    Result,
    Window,
    pattern_block,
    rss_bytes,
    udp_receive_buffer_errors,
)

if TYPE_CHECKING:
    from ...aio import QuicConnection

RECEIVE_BUFFER = 4 << 20  # bytes asked for the many-connection server's UDP socket


# --- one stream, bulk --------------------------------------------------------------------------


def client(port: int, cafile: str, total: int, chunk: int) -> Result:
    return asyncio.run(_client(port, cafile, total, chunk))


async def _client(port: int, cafile: str, total: int, chunk: int) -> Result:
    from ... import aio
    from .common import asyncssl_client_context, openssl_version

    ctx = asyncssl_client_context(cafile)
    async with aio.quic_connect(HOST, port, alpn=[ALPN], context=ctx, server_hostname=SERVER_NAME) as conn:
        reader, writer = await conn.open_stream()
        view = memoryview(pattern_block(chunk))
        window = Window()
        window.start()
        sent = 0
        while sent < total:
            size = min(chunk, total - sent)
            writer.write(view[:size])
            await writer.drain()
            sent += size
        writer.write_eof()
        reply = await reader.read()
        window.stop()
        count = int.from_bytes(reply, "big")
        if count != total:
            raise RuntimeError(f"the server received {count} bytes, {total} were sent")
        cipher = conn.connection.get_cipher_name()
    return {"bytes": total, "seconds": window.wall, "cpu": window.cpu, "cipher": cipher,
            "openssl": openssl_version(), "mode": "asyncio"}


def server(certfile: str, keyfile: str, ready: Ready) -> Result:
    return asyncio.run(_server(certfile, keyfile, ready))


async def _server(certfile: str, keyfile: str, ready: Ready) -> Result:
    from ... import aio
    from .common import asyncssl_server_context, openssl_version

    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    connections: list[QuicConnection] = []
    window = Window()

    async def count_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        window.start()
        received = 0
        while chunk := await reader.read(READ_SIZE):
            received += len(chunk)
        window.stop()
        writer.write(received.to_bytes(8, "big"))
        writer.write_eof()
        if not done.done():
            done.set_result(received)

    server = await aio.quic_serve(HOST, 0, context=asyncssl_server_context(certfile, keyfile), alpn=[ALPN],
                                  stream_handler=count_stream, connection_handler=connections.append)
    try:
        ready(server.sockets[0].getsockname()[1])
        received = await done
        cipher = connections[0].connection.get_cipher_name() if connections else None
        try:  # not timed: stay until the client closes, so it surely has the reply (bounded)
            await asyncio.wait_for(connections[0].wait_closed(), 3.0)
        except (asyncio.TimeoutError, IndexError):
            pass
    finally:
        server.close()
        await server.wait_closed()
    return {"bytes": received, "seconds": window.wall, "cpu": window.cpu, "cipher": cipher,
            "openssl": openssl_version(), "mode": "asyncio"}


# --- many connections × streams against one server -------------------------------------------------


class _ServerState(TypedDict):
    answered: int
    errors: list[str]
    rss_all_open: int
    rss_peak: int
    connections: int


def many_server(certfile: str, keyfile: str, ready: Ready, connections: int, streams: int) -> Result:
    return asyncio.run(_many_server(certfile, keyfile, ready, connections * streams))


async def _many_server(certfile: str, keyfile: str, ready: Ready, expected_streams: int) -> Result:
    """Answer every stream with its length and SHA-256; measure RSS while all are open.

    The RSS sample that counts is taken when the last stream has been answered: the
    client keeps every connection open until all its streams are done, so at that moment
    all connections (with their streams' state) are alive in this process.
    """
    from ... import aio
    from .common import asyncssl_server_context

    loop = asyncio.get_running_loop()
    all_answered: asyncio.Future[None] = loop.create_future()
    state: _ServerState = {"answered": 0, "errors": [], "rss_all_open": 0, "rss_peak": 0, "connections": 0}

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            digest, size = hashlib.sha256(), 0
            while chunk := await reader.read(READ_SIZE):
                digest.update(chunk)
                size += len(chunk)
            writer.write(size.to_bytes(8, "big") + digest.digest())
            writer.write_eof()
        except Exception as exc:  # counted and reported: the target is "no error"
            state["errors"].append(f"{type(exc).__name__}: {exc}")
        state["answered"] += 1
        state["rss_peak"] = max(state["rss_peak"], rss_bytes())
        if state["answered"] == expected_streams and not all_answered.done():
            state["rss_all_open"] = rss_bytes()
            all_answered.set_result(None)

    def on_connection(conn: QuicConnection) -> None:
        state["connections"] += 1

    ctx = asyncssl_server_context(certfile, keyfile)
    server = await aio.quic_serve(HOST, 0, context=ctx, alpn=[ALPN], stream_handler=answer,
                                  connection_handler=on_connection)
    # What any UDP server facing bursts does: a receive buffer large enough for 100
    # clients' first flights (the default ~200 KiB holds about 90 loopback datagrams; a
    # dropped Initial costs the client a 1 s PTO). The kernel caps it at rmem_max.
    sock = server.sockets[0]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    receive_buffer = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)  # what the kernel granted
    await asyncio.sleep(0.05)  # let the loop settle before the baseline
    rss_before = rss_bytes()
    drops_before = udp_receive_buffer_errors()
    try:
        ready(sock.getsockname()[1])
        try:
            await asyncio.wait_for(all_answered, 120.0)
        except asyncio.TimeoutError:
            state["errors"].append(f"timed out with {state['answered']}/{expected_streams} streams answered")
        # Not measured: the answers are queued, not yet delivered; the client closes each
        # connection once it has all its answers, so wait for that rather than cutting
        # late answers off (bounded by the client's own step timeout in practice).
        deadline = loop.time() + 60.0
        while server.connections and loop.time() < deadline:
            await asyncio.sleep(0.02)
    finally:
        drops_after = udp_receive_buffer_errors()
        server.close()
        await server.wait_closed()
    return {"rss_before": rss_before, "rss_all_open": state["rss_all_open"], "rss_peak": state["rss_peak"],
            "connections_seen": state["connections"], "streams_answered": state["answered"],
            "errors": state["errors"], "receive_buffer": receive_buffer,
            "udp_rcvbuf_drops_machine_wide": None if drops_before is None or drops_after is None
            else drops_after - drops_before}


def many_client(port: int, cafile: str, connections: int, streams: int, size: int) -> Result:
    return asyncio.run(_many_client(port, cafile, connections, streams, size))


async def _many_client(port: int, cafile: str, connections: int, streams: int, size: int) -> Result:
    """`connections` concurrent connections, each with `streams` concurrent streams of `size` bytes.

    Every connection stays open until all streams of all connections are answered (a
    barrier), so the server really holds them all at once.
    """
    from ... import aio
    from .common import asyncssl_client_context

    ctx = asyncssl_client_context(cafile)
    errors: list[str] = []
    all_done = asyncio.Event()
    remaining = [connections]
    payload = pattern_block(size)
    expected = size.to_bytes(8, "big") + hashlib.sha256(payload).digest()

    async def one_stream(conn: QuicConnection) -> None:
        reader, writer = await conn.open_stream()
        writer.write(payload)
        writer.write_eof()
        reply = await reader.read()
        if reply != expected:
            raise RuntimeError(f"wrong answer ({len(reply)} bytes)")

    async def one_connection(index: int) -> None:
        try:
            conn = await aio.quic_connect(HOST, port, alpn=[ALPN], context=ctx, server_hostname=SERVER_NAME)
        except Exception as exc:
            errors.append(f"connection {index}: connect: {type(exc).__name__}: {exc}")
            _arrive()
            return
        try:
            results = await asyncio.gather(*(one_stream(conn) for _ in range(streams)), return_exceptions=True)
            errors.extend(f"connection {index}: {type(r).__name__}: {r}" for r in results
                          if isinstance(r, BaseException))
            _arrive()
            await all_done.wait()
        finally:
            conn.close()
            await conn.wait_closed()

    def _arrive() -> None:
        remaining[0] -= 1
        if remaining[0] == 0:  # completion: every stream answered (closing is not counted)
            finished.extend([time.perf_counter(), time.process_time()])
            all_done.set()

    finished: list[float] = []
    started = time.perf_counter()
    cpu0 = time.process_time()
    await asyncio.gather(*(one_connection(i) for i in range(connections)))
    return {"seconds": finished[0] - started, "cpu": finished[1] - cpu0,
            "connections": connections, "streams": streams, "bytes_per_stream": size, "errors": errors}
