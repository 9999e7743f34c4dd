"""aio.open_connection / aio.start_server against Python's ssl module (a TLS stack we did not write)."""

from __future__ import annotations

import asyncio
import hashlib
import ssl

import pytest
from helpers.aio import echo_tls_server, run

from asyncssl import SSL, aio


def test_many_python_ssl_clients_are_served_concurrently(server_context, cert_files):
    async def scenario():
        server, port = await echo_tls_server(server_context())
        client_ctx = ssl.create_default_context(cafile=str(cert_files["ca"]))

        async def client(i: int) -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx, server_hostname="localhost")
            message = b"client %d " % i * 100
            writer.write(message)
            got = await reader.readexactly(len(message))
            writer.close()
            return got == message

        try:
            results = await asyncio.gather(*(client(i) for i in range(20)))
        finally:
            server.close()
            await server.wait_closed()
        return results

    assert run(scenario()) == [True] * 20


def test_bulk_transfer_both_ways_is_intact_with_flow_control(server_context, client_context):
    payload = hashlib.sha256(b"seed").digest() * (8 * 1024 * 1024 // 32)  # 8 MiB

    async def scenario():
        server, port = await echo_tls_server(server_context())
        try:
            reader, writer = await aio.open_connection("127.0.0.1", port, context=client_context(),
                                                       server_hostname="localhost")

            async def send():
                for i in range(0, len(payload), 1 << 20):
                    writer.write(payload[i:i + (1 << 20)])
                    await writer.drain()

            sender = asyncio.create_task(send())
            received = await reader.readexactly(len(payload))
            await sender
            writer.close()
            return received
        finally:
            server.close()
            await server.wait_closed()

    assert run(scenario(), 60) == payload


def test_asyncssl_client_talks_to_python_ssl_server(cert_files, client_context):
    async def scenario():
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(str(cert_files["server_chain"]), str(cert_files["server_key"]))

        async def reverse(reader, writer):
            writer.write((await reader.readline())[::-1])
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(reverse, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await aio.open_connection("127.0.0.1", port, context=client_context(),
                                                       server_hostname="localhost")
            conn = writer.get_extra_info("ssl_object")
            writer.write(b"hello\n")
            reply = await reader.read()
            writer.close()
            return reply, conn.get_protocol_version_name()
        finally:
            server.close()
            await server.wait_closed()

    reply, version = run(scenario())
    assert reply == b"\nolleh"
    assert version == "TLSv1.3"


def test_unknown_ca_and_wrong_hostname_are_rejected(server_context, client_context):
    async def attempt(context, hostname):
        server, port = await echo_tls_server(server_context())
        try:
            await aio.open_connection("127.0.0.1", port, context=context, server_hostname=hostname)
        finally:
            server.close()
            await server.wait_closed()

    default = SSL.Context(SSL.TLS_CLIENT_METHOD)
    default.set_verify(SSL.VERIFY_PEER)  # no CA loaded: the trustme CA is unknown
    with pytest.raises(SSL.Error, match="certificate verify failed"):
        run(attempt(default, "localhost"))
    with pytest.raises(SSL.Error, match="certificate verify failed"):
        run(attempt(client_context(), "not-this-host.example"))


def test_a_failed_handshake_does_not_stop_the_server(server_context, cert_files):
    async def scenario():
        server, port = await echo_tls_server(server_context())
        try:
            # garbage instead of a ClientHello
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x16\x03\x01\x00\x05hello garbage" * 10)
            await writer.drain()
            assert await reader.read() == b"" or True
            writer.close()
            # then a real client
            client_ctx = ssl.create_default_context(cafile=str(cert_files["ca"]))
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx, server_hostname="localhost")
            writer.write(b"still here")
            got = await reader.readexactly(10)
            writer.close()
            return got
        finally:
            server.close()
            await server.wait_closed()

    assert run(scenario()) == b"still here"


def test_wrong_context_types_are_refused_clearly(server_context):
    async def scenario():
        with pytest.raises(TypeError, match="asyncssl.SSL.Context"):
            await aio.start_server(lambda r, w: None, "127.0.0.1", 0, context=ssl.create_default_context())
        with pytest.raises(TypeError, match="callable"):
            await aio.start_server(None, "127.0.0.1", 0, context=server_context())

    run(scenario())


async def _offloading_line_echo_server(server_context, libctx):
    """aio.start_server under MODE_ASYNC, signing on the accelerator in `libctx`; echoes one line."""
    ctx = server_context(libctx=libctx)
    ctx.set_mode(SSL.MODE_ASYNC)

    async def echo(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    server = await aio.start_server(echo, "127.0.0.1", 0, context=ctx)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.requires("async_mode")
def test_start_server_under_mode_async_serves_many_python_ssl_clients_while_offloading(server_context, cert_files):
    from helpers.offload import accelerated

    from asyncssl import testing

    clients = 24

    async def scenario(libctx):
        server, port = await _offloading_line_echo_server(server_context, libctx)
        client_ctx = ssl.create_default_context(cafile=str(cert_files["ca"]))

        async def client(i):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx, server_hostname="localhost")
            writer.write(b"hello %d\n" % i)
            await writer.drain()
            line = await reader.readline()
            writer.close()
            return line == b"hello %d\n" % i

        try:
            return await asyncio.gather(*(client(i) for i in range(clients)))
        finally:
            server.close()
            await server.wait_closed()

    # 50 ms per signature: served one after another that would take over a second
    with accelerated(latency=0.05) as libctx:
        results = run(scenario(libctx), 60)
        stats = testing.simulated_accelerator_stats()
    assert results == [True] * clients
    assert stats["pauses"] >= clients  # every handshake's signature really was offloaded


@pytest.mark.requires("async_mode")
def test_an_injected_accelerator_failure_fails_only_that_handshake(server_context, cert_files):
    from helpers.offload import accelerated

    async def scenario(libctx):
        server, port = await _offloading_line_echo_server(server_context, libctx)
        client_ctx = ssl.create_default_context(cafile=str(cert_files["ca"]))

        async def client():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx,
                                                               server_hostname="localhost")
                writer.write(b"x\n")
                ok = await reader.readline() == b"x\n"
                writer.close()
                return ok
            except (ssl.SSLError, ConnectionError):
                return False

        try:
            return [await client() for _ in range(4)]
        finally:
            server.close()
            await server.wait_closed()

    with accelerated(latency=0.001, fail_every=2) as libctx:
        results = run(scenario(libctx), 60)
    assert results.count(True) == 2 and results.count(False) == 2
