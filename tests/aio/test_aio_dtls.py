"""aio.dtls_connect / aio.dtls_serve: cookie exchange, echo, and retransmission under loss."""

from __future__ import annotations

import asyncio
import socket

import pytest
from helpers.aio import run

from asyncssl import SSL, aio
from asyncssl.cli._lossy_relay import LossyRelay


async def _echo_server(server_context):
    async def echo(endpoint):
        while True:
            try:
                endpoint.send(await endpoint.recv())
            except EOFError:
                return

    server = await aio.dtls_serve("127.0.0.1", 0, context=server_context(SSL.DTLS_SERVER_METHOD), handler=echo)
    return server, server.sockets[0].getsockname()[:2]


def test_dtls_echo_with_verified_server(server_context, client_context):
    async def scenario():
        server, address = await _echo_server(server_context)
        try:
            async with await aio.dtls_connect(*address, context=client_context(SSL.DTLS_CLIENT_METHOD),
                                              server_hostname="localhost") as endpoint:
                assert endpoint.connection.get_protocol_version_name() == "DTLSv1.2"
                replies = []
                for i in range(5):
                    endpoint.send(b"datagram %d" % i)
                    replies.append(await asyncio.wait_for(endpoint.recv(), 5))
                return replies
        finally:
            server.close()
            await server.wait_closed()

    assert run(scenario()) == [b"datagram %d" % i for i in range(5)]


def test_datagrams_without_a_cookie_create_no_state(server_context):
    async def scenario():
        server, address = await _echo_server(server_context)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
                for payload in (b"\x16\xfe\xfd" + b"\x00" * 40, b"garbage", b""):
                    raw.sendto(payload, address)
                await asyncio.sleep(0.2)
            return len(server._peers)
        finally:
            server.close()
            await server.wait_closed()

    assert run(scenario()) == 0


def test_handshake_completes_through_loss_driven_by_the_event_timeout(server_context, client_context):
    async def scenario():
        server, address = await _echo_server(server_context)
        relay = await LossyRelay.start(address, drop=0.2, seed=3)
        try:
            endpoint = await aio.dtls_connect(*relay.address, context=client_context(SSL.DTLS_CLIENT_METHOD),
                                              server_hostname="localhost", handshake_timeout=60)
            got = None
            for _ in range(30):
                endpoint.send(b"ping")
                try:
                    got = await asyncio.wait_for(endpoint.recv(), 0.5)
                    break
                except asyncio.TimeoutError:
                    continue
            endpoint.close()
            return got, relay.dropped
        finally:
            relay.close()
            server.close()
            await server.wait_closed()

    got, dropped = run(scenario(), 90)
    assert got == b"ping"
    assert dropped > 0  # the relay really lost datagrams


def test_unverifiable_server_is_rejected(server_context):
    async def scenario():
        server, address = await _echo_server(server_context)
        try:
            strict = SSL.Context(SSL.DTLS_CLIENT_METHOD)
            strict.set_verify(SSL.VERIFY_PEER)  # the test CA is not loaded
            await aio.dtls_connect(*address, context=strict, handshake_timeout=10)
        finally:
            server.close()
            await server.wait_closed()

    with pytest.raises(SSL.Error, match="certificate verify failed"):
        run(scenario())


def test_a_tls_context_is_refused_for_dtls(client_context):
    with pytest.raises(ValueError, match="DTLS context"):
        run(aio.dtls_connect("127.0.0.1", 9, context=client_context(SSL.TLS_CLIENT_METHOD)))


def test_initial_retransmission_timeout_is_configurable(client_context):
    conn = SSL.Connection(client_context(SSL.DTLS_CLIENT_METHOD), None)
    conn.set_dtls_initial_timeout(0.05)
    conn.set_connect_state()
    with pytest.raises(SSL.WantReadError):
        conn.do_handshake()  # ClientHello sent: the retransmission timer runs now
    assert 0 < conn.get_event_timeout() <= 0.05
    with pytest.raises(ValueError, match="between"):
        conn.set_dtls_initial_timeout(0)
    with pytest.raises(SSL.Error, match="DTLS"):
        SSL.Connection(client_context(SSL.TLS_CLIENT_METHOD), None).set_dtls_initial_timeout(0.1)
