"""aio.quic_connect / aio.quic_serve: streams as asyncio streams, against ourselves and aioquic."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import time

import pytest
from helpers.aio import run

import asyncssl
from asyncssl import SSL, aio

ALPN = b"asyncssl-test"


def _select(offered):
    return ALPN if ALPN in offered else SSL.NO_OVERLAPPING_PROTOCOLS


@pytest.fixture
def quic_server_context(server_context):
    def make() -> SSL.Context:
        ctx = server_context(SSL.QUIC_SERVER_METHOD)
        ctx.set_alpn_select_callback(lambda conn, offered: _select(offered))
        return ctx

    return make


async def _checksum_server(ctx, **kwargs):
    async def checksum(reader, writer):
        data = await reader.read()
        writer.write(len(data).to_bytes(8, "big") + hashlib.sha256(data).digest())
        await writer.drain()
        writer.write_eof()

    server = await aio.quic_serve("127.0.0.1", 0, context=ctx, alpn=[ALPN], stream_handler=checksum, **kwargs)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.requires("quic_server")
def test_parallel_streams_arrive_intact(quic_server_context, client_context):
    sizes = [1 << 20, 64 * 1024, 3 << 20, 1, 700_000]

    async def scenario():
        server, port = await _checksum_server(quic_server_context())
        try:
            async with aio.quic_connect("127.0.0.1", port, alpn=[ALPN], context=client_context(SSL.QUIC_CLIENT_METHOD),
                                        server_hostname="localhost") as conn:
                assert conn.alpn_protocol == ALPN

                async def one(i, size):
                    payload = hashlib.sha256(bytes([i])).digest() * (size // 32 + 1)
                    payload = payload[:size]
                    reader, writer = await conn.open_stream()
                    writer.write(payload)
                    writer.write_eof()
                    reply = await reader.read()
                    return reply == size.to_bytes(8, "big") + hashlib.sha256(payload).digest()

                return await asyncio.gather(*(one(i, s) for i, s in enumerate(sizes)))
        finally:
            server.close()
            await server.wait_closed()

    assert run(scenario()) == [True] * len(sizes)


@pytest.mark.requires("quic_server")
def test_server_initiated_stream_and_close_reason_reach_the_client(quic_server_context, client_context):
    async def scenario():
        seen = asyncio.get_running_loop().create_future()

        async def push_then_close(conn: aio.QuicConnection):
            reader, writer = await conn.open_stream(uni=True)
            writer.write(b"pushed by the server")
            writer.write_eof()
            await asyncio.sleep(0.2)
            conn.close(app_error_code=42, reason=b"bye now")
            await conn.wait_closed()
            seen.set_result(True)

        server = await aio.quic_serve("127.0.0.1", 0, context=quic_server_context(), alpn=[ALPN],
                                      connection_handler=push_then_close)
        port = server.sockets[0].getsockname()[1]
        try:
            conn = await aio.quic_connect("127.0.0.1", port, alpn=[ALPN], context=client_context(SSL.QUIC_CLIENT_METHOD),
                                          server_hostname="localhost")
            reader, _writer = await conn.accept_stream()
            pushed = await reader.read()
            await conn.wait_closed()
            await seen
            return pushed, conn.get_conn_close_info()
        finally:
            server.close()
            await server.wait_closed()

    pushed, info = run(scenario())
    assert pushed == b"pushed by the server"
    assert info is not None and not info.is_local
    assert info.error_code == 42 and info.reason == b"bye now" and info.is_app


@pytest.mark.requires("quic_server")
def test_an_idle_connection_wakes_the_loop_only_when_openssl_timers_say_so(quic_server_context, client_context):
    idle = 3.0

    async def scenario():
        server, port = await _checksum_server(quic_server_context())
        try:
            conn = await aio.quic_connect("127.0.0.1", port, alpn=[ALPN], context=client_context(SSL.QUIC_CLIENT_METHOD),
                                          server_hostname="localhost")
            reader, writer = await conn.open_stream()
            writer.write(b"x")
            writer.write_eof()
            await reader.read()
            await asyncio.sleep(0.5)  # let acknowledgements settle
            stats = conn._port.stats
            wakeups_before = stats.wakeups
            armed_before = len(stats.armed_timeouts)
            started = time.monotonic()
            await asyncio.sleep(idle)
            window = time.monotonic() - started
            wakeups = stats.wakeups - wakeups_before
            armed = stats.armed_timeouts[armed_before - 1:]  # including the one in force at the start
            conn.close()
            await conn.wait_closed()
            return wakeups, armed, window
        finally:
            server.close()
            await server.wait_closed()

    wakeups, armed, window = run(scenario())
    # Each wakeup is a timer OpenSSL asked for (or a datagram): never more wakeups than
    # armed timers that could have expired in the window, and a handful at most.
    expirable = [t for t in armed if t is not None and t <= window]
    assert wakeups <= len(expirable) + 1, (wakeups, armed)
    assert wakeups <= 10, (wakeups, armed)
    assert all(t is None or t > 0 for t in armed[1:]), armed  # no zero-timeout spinning while idle


@pytest.mark.requires("quic_server")
def test_alpn_mismatch_fails_the_connect_clearly(quic_server_context, client_context):
    async def scenario():
        server, port = await _checksum_server(quic_server_context())
        try:
            await aio.quic_connect("127.0.0.1", port, alpn=[b"something-else"],
                                   context=client_context(SSL.QUIC_CLIENT_METHOD), server_hostname="localhost")
        finally:
            server.close()
            await server.wait_closed()

    with pytest.raises((SSL.Error, ConnectionError)) as info:
        run(scenario())
    assert "ALPN" in str(info.value) or "application protocol" in str(info.value)


@pytest.mark.requires("quic_client")
def test_missing_alpn_is_refused_before_any_packet():
    async def scenario():
        await aio.quic_connect("127.0.0.1", 9, alpn=[])

    with pytest.raises(ValueError, match="ALPN"):
        run(scenario())


@pytest.mark.requires("quic_server")
def test_aioquic_client_against_quic_serve(quic_server_context, cert_files):
    from aioquic.asyncio import connect
    from aioquic.quic.configuration import QuicConfiguration

    async def scenario():
        server, port = await _checksum_server(quic_server_context())
        try:
            config = QuicConfiguration(is_client=True, alpn_protocols=[ALPN.decode()])
            config.load_verify_locations(str(cert_files["ca"]))
            config.server_name = "localhost"
            async with connect("127.0.0.1", port, configuration=config) as client:
                reader, writer = await client.create_stream()
                payload = b"from aioquic" * 50_000
                writer.write(payload)
                writer.write_eof()
                reply = await reader.read()
                return reply == len(payload).to_bytes(8, "big") + hashlib.sha256(payload).digest()
        finally:
            server.close()
            await server.wait_closed()

    assert run(scenario()) is True


@pytest.mark.requires("quic_client")
def test_quic_connect_to_an_aioquic_server(cert_files, client_context):
    from aioquic.asyncio import serve
    from aioquic.quic.configuration import QuicConfiguration

    async def scenario():
        async def handle(reader, writer):
            data = await reader.read()
            writer.write(data[::-1])
            writer.write_eof()

        config = QuicConfiguration(is_client=False, alpn_protocols=[ALPN.decode()])
        config.load_cert_chain(str(cert_files["server_chain"]), str(cert_files["server_key"]))
        server = await serve("127.0.0.1", 0, configuration=config,
                             stream_handler=lambda r, w: asyncio.ensure_future(handle(r, w)), retry=True)
        port = server._transport.get_extra_info("sockname")[1]
        try:
            async with aio.quic_connect("127.0.0.1", port, alpn=[ALPN], context=client_context(SSL.QUIC_CLIENT_METHOD),
                                        server_hostname="localhost") as conn:
                reader, writer = await conn.open_stream()
                writer.write(b"abcdef" * 10000)
                writer.write_eof()
                return await reader.read()
        finally:
            server.close()

    assert run(scenario()) == (b"abcdef" * 10000)[::-1]


@pytest.mark.skipif(asyncssl.capabilities()["quic_client"], reason="checks the refusal on OpenSSL without QUIC")
def test_without_quic_the_entry_points_say_which_version_brings_it():
    with pytest.raises(SSL.NotSupportedError, match=r"OSSL_QUIC_client_method needs OpenSSL 3\.2"):
        run(aio.quic_connect("127.0.0.1", 9, alpn=[ALPN]))
    with pytest.raises(SSL.NotSupportedError, match=r"OSSL_QUIC_server_method needs OpenSSL 3\.5"):
        SSL.Context(SSL.QUIC_SERVER_METHOD)


def test_python_ssl_is_untouched_by_quic_imports():
    # aio imports its QUIC module eagerly; that must not need QUIC.
    assert ssl.OPENSSL_VERSION


@pytest.mark.requires("quic_server")
def test_quic_serve_without_a_select_callback_chooses_from_its_alpn(server_context, client_context):
    """API.md: a context without an ALPN select callback gets one choosing from quic_serve's
    `alpn` (the server's order); a client offering none of them fails its handshake."""
    async def scenario():
        ctx = server_context(SSL.QUIC_SERVER_METHOD)   # no select callback
        server, port = await _checksum_server(ctx)
        try:
            async with aio.quic_connect("127.0.0.1", port, alpn=[b"other", ALPN], context=client_context(
                    SSL.QUIC_CLIENT_METHOD), server_hostname="localhost") as conn:
                assert conn.alpn_protocol == ALPN
                reader, writer = await conn.open_stream()
                writer.write(b"abc")
                writer.write_eof()
                assert (await reader.read())[:8] == (3).to_bytes(8, "big")
            with pytest.raises((SSL.Error, ConnectionError)):
                await asyncio.wait_for(aio.quic_connect("127.0.0.1", port, alpn=[b"nope"], context=client_context(
                    SSL.QUIC_CLIENT_METHOD), server_hostname="localhost"), 10)
        finally:
            server.close()
            await server.wait_closed()

    run(scenario())



@pytest.mark.requires("quic_server")
def test_a_rejected_server_certificate_says_why(quic_server_context, client_context):
    async def scenario():
        server, port = await _checksum_server(quic_server_context())
        try:
            with pytest.raises(SSL.Error) as info:
                await aio.quic_connect("127.0.0.1", port, alpn=[ALPN], context=client_context(SSL.QUIC_CLIENT_METHOD),
                                       server_hostname="wrong.example")
            return str(info.value)
        finally:
            server.close()
            await server.wait_closed()

    message = run(scenario())
    assert "the peer's certificate was rejected: hostname mismatch" in message, message
    assert "'wrong.example'" in message
