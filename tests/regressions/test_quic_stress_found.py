"""Faults found by tests/stress/test_quic_stress.py, each in its own interpreter (helpers.subproc):
a hang fails with the scenario's output instead of stalling the run."""

from __future__ import annotations

import pytest
from helpers.subproc import run_scenario

from asyncssl import capabilities

pytestmark = [
    pytest.mark.quic,
    pytest.mark.skipif(not capabilities()["quic_server"], reason="the linked OpenSSL has no QUIC server (needs 3.5+)"),
]


@pytest.mark.parametrize("side", ["client", "server"])
def test_aio_quic_stream_writer_wait_closed_returns(side):
    """aio QUIC streams never called protocol.connection_lost(): ``writer.close(); await
    writer.wait_closed()`` hung until the whole connection closed (and for ever when the stream's
    sending side had already finished before that)."""
    out = run_scenario(f"""
        import asyncio
        from helpers.quic_stress_scenarios import ALPN, client_context, server_context
        from asyncssl import aio

        side = {side!r}
        results = []

        async def handler(reader, writer):
            writer.write(await reader.read(100))
            writer.write_eof()
            await reader.read()
            writer.close()
            if side == "server":
                await asyncio.wait_for(writer.wait_closed(), 5)
                results.append("server wait_closed returned")

        async def main():
            server = await aio.quic_serve("127.0.0.1", 0, context=server_context(), alpn=[ALPN],
                                          stream_handler=handler)
            port = server.sockets[0].getsockname()[1]
            conn = await aio.quic_connect("127.0.0.1", port, alpn=[ALPN], context=client_context(),
                                          server_hostname="localhost")
            reader, writer = await conn.open_stream()
            writer.write(b"ping")
            writer.write_eof()
            print(await reader.read())
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), 5)
            print("client wait_closed returned")
            # the sending side finished (write_eof) before the connection closed
            reader2, writer2 = await conn.open_stream()
            writer2.write(b"x")
            writer2.write_eof()
            await writer2.drain()
            await asyncio.sleep(0.05)
            conn.close()
            await conn.wait_closed()
            try:
                await asyncio.wait_for(writer2.wait_closed(), 5)
            except ConnectionError:
                pass
            print("wait_closed after the connection closed returned")
            await asyncio.sleep(0.1)
            print(*results)
            server.close()
            await server.wait_closed()

        asyncio.run(main())
    """, timeout=60)
    assert "b'ping'\nclient wait_closed returned\nwait_closed after the connection closed returned\n" in out, out
    if side == "server":
        assert "server wait_closed returned" in out, out


@pytest.mark.parametrize("which", ["get_rpoll_descriptor", "get_wpoll_descriptor"])
def test_quic_connection_poll_descriptor_after_socket_closed_raises(which):
    """Connection.get_[rw]poll_descriptor() went on naming OpenSSL's duplicate fd after the caller
    closed the UDP socket, while every other call (and a Listener's or Stream's) raises."""
    out = run_scenario(f"""
        from helpers.quic_stress_scenarios import connect, new_listener
        lst, lsock = new_listener()
        conn, csock, server = connect(lst, lsock.getsockname()[1])
        getattr(conn, {which!r})()
        csock.close()
        try:
            print("returned", getattr(conn, {which!r})())
        except SSL.Error as e:
            print("clear" if "UDP socket" in str(e) and "closed" in str(e) else e)
        conn.close()
        lst.close()
    """, timeout=60)
    assert out.splitlines()[-1] == "clear", out
