"""aio.quic_serve per-peer bounds: streams whose handler failed, closed early, or were never
accepted must not hold buffers (or leave the peer waiting) for the connection's lifetime."""

from __future__ import annotations

import asyncio

import pytest
from helpers.aio import run

from asyncssl import SSL, aio
from asyncssl.aio import _quic as aio_quic

ALPN = b"asyncssl-test"
pytestmark = pytest.mark.requires("quic_server")


@pytest.fixture
def quic_pair(server_context, client_context):
    """(server context, client context) for QUIC over loopback."""
    sctx = server_context(SSL.QUIC_SERVER_METHOD)
    sctx.set_alpn_select_callback(lambda conn, offered: ALPN if ALPN in offered else SSL.NO_OVERLAPPING_PROTOCOLS)
    return sctx, client_context(SSL.QUIC_CLIENT_METHOD)


async def _serve(sctx, **handlers):
    server = await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], **handlers)
    return server, server.sockets[0].getsockname()[1]


def _connect(port, cctx):
    return aio.quic_connect("127.0.0.1", port, alpn=[ALPN], context=cctx, server_hostname="localhost")


async def _until(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def _open_streams(server) -> int:
    return sum(len(c._streams) for c in server.connections)


@pytest.mark.parametrize("how", ["raise", "cancelled"])
def test_a_failed_stream_handler_resets_its_stream(quic_pair, how):
    sctx, cctx = quic_pair

    async def handler(reader, writer):
        await reader.readexactly(5)
        if how == "raise":
            raise RuntimeError("handler bug")
        raise asyncio.CancelledError

    async def scenario():
        server, port = await _serve(sctx, stream_handler=handler)
        try:
            async with _connect(port, cctx) as conn:
                reader, writer = await conn.open_stream()
                writer.write(b"hello and more that nobody reads")
                with pytest.raises(SSL.StreamResetError) as info:
                    await asyncio.wait_for(reader.read(), 5)
                await _until(lambda: _open_streams(server) == 0)
                return info.value
        finally:
            server.close()
            await server.wait_closed()

    assert run(scenario()).app_error_code == aio_quic._HANDLER_FAILED


def test_a_handler_that_closes_without_reading_frees_the_stream(quic_pair):
    sctx, cctx = quic_pair

    async def handler(reader, writer):
        writer.write(b"bye")
        writer.close()

    async def scenario():
        server, port = await _serve(sctx, stream_handler=handler)
        try:
            async with _connect(port, cctx) as conn:
                reader, writer = await conn.open_stream()
                writer.write(b"x" * (1 << 20))   # more than the server will ever read
                assert await asyncio.wait_for(reader.read(), 5) == b"bye"
                # The server refused the rest (STOP_SENDING) and holds nothing for it.
                await _until(lambda: _open_streams(server) == 0)
        finally:
            server.close()
            await server.wait_closed()

    run(scenario())


def test_unaccepted_peer_streams_are_bounded(quic_pair, monkeypatch):
    """Beyond the bound a peer's new streams are refused; the waiting ones arrive whole."""
    monkeypatch.setattr(aio_quic, "_MAX_UNACCEPTED_STREAMS", 20)
    sctx, cctx = quic_pair
    total = 60
    conns: list[aio.QuicConnection] = []

    async def scenario():
        server, port = await _serve(sctx, connection_handler=conns.append)
        try:
            async with _connect(port, cctx) as client:

                async def one(i):
                    reader, writer = await client.open_stream()
                    writer.write(b"%d:" % i + b"y" * 20000)
                    writer.write_eof()
                    try:
                        return await reader.read()
                    except SSL.StreamResetError as exc:
                        return exc.app_error_code

                tasks = [asyncio.ensure_future(one(i)) for i in range(total)]
                await _until(lambda: conns)
                sconn = conns[0]
                await _until(lambda: sconn._refused == total - 20, timeout=10)
                assert sconn._incoming.qsize() == 20
                for _ in range(20):
                    reader, writer = await asyncio.wait_for(sconn.accept_stream(), 10)
                    data = await asyncio.wait_for(reader.read(), 10)
                    writer.write(b"%d" % len(data))
                    writer.write_eof()
                return await asyncio.wait_for(asyncio.gather(*tasks), 20)
        finally:
            server.close()
            await server.wait_closed()

    replies = run(scenario(), timeout=60)
    refused = [r for r in replies if r == aio_quic._STREAM_REFUSED]
    answered = [r for r in replies if isinstance(r, bytes)]
    assert len(refused) == total - 20 and len(answered) == 20
    assert all(20002 <= int(r) <= 20004 for r in answered)
