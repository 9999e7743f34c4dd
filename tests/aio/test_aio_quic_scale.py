"""aio.quic_serve with many connections: idle connections polled in one call, sockets
sharing a port (shards), the bound on half-open connections, address validation (Retry)
on by default, and the per-thread read buffer. Real sockets on 127.0.0.1, real OpenSSL,
aioquic as a peer; no timing assertions (speed is measured by ``bench quic``)."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from helpers.aio import run
from helpers.udp_relay import UdpRelay

from asyncssl import SSL, aio
from asyncssl.aio import _quic as aio_quic
from asyncssl.quic.poll import PollGroup

ALPN = b"asyncssl-test"
pytestmark = pytest.mark.requires("quic_server")


@pytest.fixture
def contexts(server_context, client_context):
    def make():
        sctx = server_context(SSL.QUIC_SERVER_METHOD)
        return sctx, client_context(SSL.QUIC_CLIENT_METHOD)
    return make


async def _echo(reader, writer):
    data = await reader.read()
    writer.write(data)
    writer.write_eof()


def _connect(port, cctx):
    return aio.quic_connect("127.0.0.1", port, alpn=[ALPN], context=cctx, server_hostname="localhost")


async def _roundtrip(conn, payload=b"ping"):
    reader, writer = await conn.open_stream()
    writer.write(payload)
    writer.write_eof()
    return await asyncio.wait_for(reader.read(), 10)


async def _close_all(conns):
    for conn in conns:
        conn.close()
        await conn.wait_closed()


async def _until(predicate, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def test_idle_connections_are_served_when_they_open_a_stream_or_close(contexts):
    sctx, cctx = contexts()

    async def scenario():
        server = await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], stream_handler=_echo)
        port = server.sockets[0].getsockname()[1]
        try:
            conns = [await _connect(port, cctx) for _ in range(6)]
            assert [await _roundtrip(c, b"%d" % i) for i, c in enumerate(conns)] == [b"%d" % i for i in range(6)]
            server_port = server._ports[0]
            await _until(lambda: len(server_port._idle) == 6)   # all idle: none is visited per pass
            assert not server_port._busy
            # An idle connection whose peer opens a stream is served again ...
            assert await _roundtrip(conns[3], b"later") == b"later"
            # ... and one whose peer closes is let go.
            conns[4].close()
            await conns[4].wait_closed()
            await _until(lambda: len(server.connections) == 5)
            for conn in conns[:4] + conns[5:]:
                assert await _roundtrip(conn) == b"ping"
                conn.close()
                await conn.wait_closed()
            await _until(lambda: not server.connections)
        finally:
            server.close()
            await server.wait_closed()

    run(scenario())


def test_a_poll_group_reports_exactly_its_members_with_news_after_adds_and_discards(contexts):
    # More members than the group's first capacity (64: the C array grows), discards at the
    # front, in the middle and at the end (each moves the last member into the hole): the
    # group must then report the members whose peer closed, and never a discarded one.
    sctx, cctx = contexts()
    count = 70

    async def scenario():
        server = await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], stream_handler=_echo)
        port = server.sockets[0].getsockname()[1]
        async with server:
            clients = []
            for i in range(count):   # one after another: the server accepts them in this order
                clients.append(await _connect(port, cctx))
                assert await _roundtrip(clients[-1], b"%d" % i) == b"%d" % i
            await _until(lambda: len(server.connections) == count)
            group = PollGroup(SSL.POLL_EVENT_IS | SSL.POLL_EVENT_EC | SSL.POLL_EVENT_ECD)
            for i, qconn in enumerate(server.connections):
                group.add(i, qconn.connection)
            group.add(5, server.connections[5].connection)   # already a member: no change
            assert len(group) == count
            for i in (0, 35, count - 1, 10):
                group.discard(i)
            group.discard(35)   # not a member any more: no change
            assert len(group) == count - 4 and 35 not in group and 36 in group and count - 2 in group
            assert group.ready() == []   # all idle: nobody has news
            for i in (35, 20, 50, count - 2):
                clients[i].close()
                await clients[i].wait_closed()
            await _until(lambda: set(group.ready()) == {20, 50, count - 2})
            for i in (20, 50):
                group.discard(i)
            group.add(35, server.connections[0].connection)   # back in, as another member
            assert len(group) == count - 5
            still_open = [c for i, c in enumerate(clients) if i not in (35, 20, 50, count - 2)]
            for conn in still_open:
                assert await _roundtrip(conn) == b"ping"
            await _close_all(still_open)

    run(scenario())


def test_a_sharded_server_shares_one_port_and_serves_every_client(contexts):
    sctx, cctx = contexts()

    async def scenario():
        server = await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], stream_handler=_echo, shards=3)
        try:
            ports = {s.getsockname() for s in server.sockets}
            assert len(server.sockets) == 3 and len(ports) == 1 and len(server.listeners) == 3
            port = server.sockets[0].getsockname()[1]
            conns = [await _connect(port, cctx) for _ in range(30)]
            for i, conn in enumerate(conns):
                assert await _roundtrip(conn, b"client %d" % i) == b"client %d" % i
            per_shard = [len(p.connections) for p in server._ports]
            assert sum(per_shard) == 30
            assert sum(1 for n in per_shard if n) >= 2   # the kernel spread the 30 client addresses
            await _close_all(conns)
        finally:
            server.close()
            await server.wait_closed()

    run(scenario())


@pytest.mark.parametrize("shards", [0, -1, 1.5, True])
def test_bad_shards_are_a_clear_error(contexts, shards):
    sctx, _ = contexts()

    async def scenario():
        with pytest.raises(ValueError, match="shards must be an int >= 1"):
            await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], shards=shards)

    run(scenario())


def test_bad_max_handshaking_is_a_clear_error(contexts):
    sctx, _ = contexts()

    async def scenario():
        with pytest.raises(ValueError, match="max_handshaking"):
            await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], max_handshaking=0)

    run(scenario())


def test_handshakes_beyond_max_handshaking_are_refused_and_the_server_keeps_serving(contexts):
    sctx, cctx = contexts()

    async def scenario():
        server = await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], stream_handler=_echo,
                                      validate_address=False, max_handshaking=1)
        port = server.sockets[0].getsockname()[1]
        try:
            # Ten clients whose first flights reach the server together: one handshake
            # at a time is allowed, so the others that arrive meanwhile are refused.
            results = await asyncio.gather(*(asyncio.wait_for(_connect(port, cctx), 10) for _ in range(10)),
                                           return_exceptions=True)
            opened = [r for r in results if isinstance(r, aio.QuicConnection)]
            failed = [r for r in results if not isinstance(r, aio.QuicConnection)]
            assert opened and failed and server.refused_handshakes >= len(failed)
            assert all(isinstance(f, (SSL.Error, ConnectionError)) for f in failed), failed
            for conn in opened:
                assert await _roundtrip(conn) == b"ping"
            # The bound is on handshakes under way, not on connections: a later client is served.
            async with _connect(port, cctx) as late:
                assert await _roundtrip(late) == b"ping"
            await _close_all(opened)
        finally:
            server.close()
            await server.wait_closed()

    run(scenario())


@pytest.mark.parametrize("validate", [None, False])
def test_address_validation_sends_a_retry_by_default(contexts, validate):
    sctx, cctx = contexts()
    kinds: list[int] = []

    def record(direction: str, datagram: bytes) -> bool:
        if direction == "down" and datagram and datagram[0] & 0x80:
            kinds.append((datagram[0] >> 4) & 3)   # long header packet type; 3 = Retry
        return False

    async def scenario():
        kwargs = {} if validate is None else {"validate_address": validate}
        server = await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], stream_handler=_echo, **kwargs)
        try:
            with UdpRelay(server.sockets[0].getsockname(), drop_filter=record) as relay:
                async with _connect(relay.address[1], cctx) as conn:
                    assert await _roundtrip(conn) == b"ping"
        finally:
            server.close()
            await server.wait_closed()

    run(scenario())
    assert (3 in kinds) == (validate is None)


def test_an_aioquic_client_passes_address_validation(contexts):
    aioquic_client = pytest.importorskip("aioquic.asyncio.client")
    from aioquic.quic.configuration import QuicConfiguration

    sctx, _ = contexts()

    async def scenario():
        server = await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], stream_handler=_echo)
        port = server.sockets[0].getsockname()[1]
        config = QuicConfiguration(is_client=True, alpn_protocols=[ALPN.decode()], verify_mode=0)
        try:
            async with aioquic_client.connect("127.0.0.1", port, configuration=config) as protocol:
                reader, writer = await protocol.create_stream()
                writer.write(b"from aioquic")
                writer.write_eof()
                return await asyncio.wait_for(reader.read(), 10)
        finally:
            server.close()
            await server.wait_closed()

    assert run(scenario()) == b"from aioquic"


def test_streams_share_one_read_buffer_without_mixing_their_data(contexts):
    sctx, cctx = contexts()
    payloads = [bytes([i]) * (300_000 + i) for i in range(4)]   # each more than one read chunk

    async def digest(reader, writer):
        data = await reader.read()
        writer.write(hashlib.sha256(data).digest())
        writer.write_eof()

    async def scenario():
        server = await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], stream_handler=digest)
        port = server.sockets[0].getsockname()[1]
        try:
            async with _connect(port, cctx) as conn:
                return await asyncio.gather(*(_roundtrip(conn, p) for p in payloads))
        finally:
            server.close()
            await server.wait_closed()

    assert run(scenario()) == [hashlib.sha256(p).digest() for p in payloads]


def test_a_read_buffer_already_lent_is_never_lent_twice():
    shared = aio_quic._ReadBuffer()
    first = shared.take()
    second = shared.take()   # a pull while one is on the stack gets a buffer of its own
    assert first is not second and first.obj is not second.obj
    shared.give_back(second)
    assert shared.lent
    shared.give_back(first)
    assert not shared.lent and shared.take() is first



def test_reuse_port_lets_another_process_serve_the_same_port(contexts, cert_files):
    # Two processes: this one and a child, each quic_serve(reuse_port=True) on one port; the
    # kernel spreads the clients' addresses over both, and every client is answered.
    import subprocess
    import sys

    sctx, cctx = contexts()
    child_code = f"""
import asyncio, sys
from asyncssl import SSL, aio
async def main():
    ctx = SSL.Context(SSL.QUIC_SERVER_METHOD)
    ctx.use_certificate_chain_file({str(cert_files["server_chain"])!r})
    ctx.use_privatekey_file({str(cert_files["server_key"])!r})
    async def tag(reader, writer):
        await reader.read()
        writer.write(b"child")
        writer.write_eof()
    server = await aio.quic_serve("127.0.0.1", int(sys.argv[1]), context=ctx, alpn=[{ALPN!r}],
                                  stream_handler=tag, reuse_port=True)
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()
asyncio.run(main())
"""

    async def tag(reader, writer):
        await reader.read()
        writer.write(b"parent")
        writer.write_eof()

    async def scenario():
        server = await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], stream_handler=tag, reuse_port=True)
        port = server.sockets[0].getsockname()[1]
        child = await asyncio.create_subprocess_exec(sys.executable, "-c", child_code, str(port),
                                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            assert (await asyncio.wait_for(child.stdout.readline(), 30)).strip() == b"READY"
            answers = []
            for _ in range(24):
                conn = await _connect(port, cctx)
                answers.append(await _roundtrip(conn))
                conn.close()
                await conn.wait_closed()
            return answers
        finally:
            child.stdin.close()
            await asyncio.wait_for(child.wait(), 30)
            server.close()
            await server.wait_closed()

    answers = run(scenario(), 90)
    assert len(answers) == 24 and set(answers) == {b"parent", b"child"}, answers


def test_keepalives_hold_an_idle_connection_past_its_idle_timeout(contexts):
    """The client asks for a 1.5 s idle timeout (the smaller request wins); OpenSSL then
    PINGs every half of it, which needs the adapter's timers on both sides: after 4 s
    without a byte of application data the connection is still open on both ends."""
    sctx, cctx = contexts()
    server_conns = []

    async def scenario():
        server = await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], stream_handler=_echo,
                                      connection_handler=server_conns.append)
        port = server.sockets[0].getsockname()[1]
        async with server:
            conn = await aio.quic_connect("127.0.0.1", port, alpn=[ALPN], context=cctx, server_hostname="localhost",
                                          idle_timeout=1.5)
            await _until(lambda: server_conns)
            negotiated = SSL.VALUE_CLASS_FEATURE_NEGOTIATED
            assert conn.connection.get_value_uint(SSL.VALUE_QUIC_IDLE_TIMEOUT, value_class=negotiated) == 1500
            assert server_conns[0].connection.get_value_uint(SSL.VALUE_QUIC_IDLE_TIMEOUT,
                                                             value_class=negotiated) == 1500
            await asyncio.sleep(4.0)
            assert conn.get_conn_close_info() is None and server_conns[0].get_conn_close_info() is None
            assert await _roundtrip(conn, b"still here") == b"still here"
            conn.close()
            await conn.wait_closed()

    run(scenario())


def test_a_server_connection_idle_timeout_cannot_be_set_and_the_error_says_why(contexts):
    sctx, cctx = contexts()
    errors = []

    def on_connection(qconn):
        try:
            qconn.connection.set_value_uint(SSL.VALUE_QUIC_IDLE_TIMEOUT, 0)
        except SSL.Error as exc:
            errors.append(exc)

    async def scenario():
        server = await aio.quic_serve("127.0.0.1", 0, context=sctx, alpn=[ALPN], connection_handler=on_connection)
        port = server.sockets[0].getsockname()[1]
        async with server, _connect(port, cctx):
            await _until(lambda: errors)

    run(scenario())
    assert "fixed when the client's first packet arrives" in str(errors[0])


@pytest.mark.parametrize("idle_timeout", [-1, float("nan"), float("inf"), True, "30"])
def test_bad_idle_timeout_is_a_clear_error(contexts, idle_timeout):
    _, cctx = contexts()
    with pytest.raises(ValueError, match="idle_timeout"):
        aio.quic_connect("127.0.0.1", 4433, alpn=[ALPN], context=cctx, idle_timeout=idle_timeout)
