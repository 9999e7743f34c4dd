"""The native asyncio TLS transport (OpenSSL owns the socket): its protocol API, flow
control, closing, cancellation and misuse, against Python's ssl, the openssl CLI and itself."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import ssl
import threading

import pytest
from helpers.aio import echo_tls_server, run
from helpers.net import free_port, openssl_process
from helpers.subproc import run_scenario

from asyncssl import SSL, aio


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Collector(asyncio.BufferedProtocol):
    """A zero-copy reader: plaintext lands in its own buffer."""

    def __init__(self, size: int = 4096) -> None:
        self.buffer = bytearray(size)
        self.received = bytearray()
        self.calls = 0
        self.eof = asyncio.get_running_loop().create_future()
        self.lost = asyncio.get_running_loop().create_future()

    def get_buffer(self, sizehint: int) -> bytearray:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.calls += 1
        self.received += self.buffer[:nbytes]

    def eof_received(self) -> bool:
        self.eof.set_result(None)
        return False

    def connection_lost(self, exc) -> None:
        self.lost.set_result(exc)


def _python_ssl_server_ctx(cert_files) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert_files["server_chain"]), str(cert_files["server_key"]))
    return ctx


def test_buffered_protocol_gets_a_bulk_stream_intact_in_its_own_buffer(cert_files, client_context):
    payload = os.urandom(3 << 20)

    async def scenario():
        async def send(reader, writer):
            writer.write(payload)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(send, "127.0.0.1", 0, ssl=_python_ssl_server_ctx(cert_files))
        port = server.sockets[0].getsockname()[1]
        try:
            transport, protocol = await aio.create_connection(Collector, "127.0.0.1", port, context=client_context(),
                                                              server_hostname="localhost")
            assert isinstance(protocol, Collector) and transport.get_protocol() is protocol
            await asyncio.wait_for(protocol.lost, 20)
            return bytes(protocol.received), protocol.calls, protocol.eof.done()
        finally:
            server.close()
            await server.wait_closed()

    received, calls, saw_eof = run(scenario())
    assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
    assert calls >= len(payload) // 4096   # the buffer it offered bounds each delivery
    assert saw_eof


def test_create_server_with_a_protocol_serves_python_ssl_clients(server_context, cert_files):
    class Upper(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data.upper())

    async def scenario():
        server = await aio.create_server(Upper, "127.0.0.1", 0, context=server_context())
        port = server.sockets[0].getsockname()[1]
        cctx = ssl.create_default_context(cafile=str(cert_files["ca"]))
        async with server:
            replies = []
            for i in range(3):
                reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=cctx, server_hostname="localhost")
                writer.write(b"hello %d" % i)
                replies.append(await reader.readexactly(7))
                writer.close()
                await writer.wait_closed()
            return replies

    assert run(scenario()) == [b"HELLO 0", b"HELLO 1", b"HELLO 2"]


def test_write_eof_is_a_tls_half_close_the_peer_can_still_answer(server_context, client_context):
    async def scenario():
        async def count_then_answer(reader, writer):
            data = await reader.read()          # until the client's close_notify
            writer.write(b"got %d bytes" % len(data))
            await writer.drain()
            writer.close()

        server = await aio.start_server(count_then_answer, "127.0.0.1", 0, context=server_context())
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await aio.open_connection("127.0.0.1", port, context=client_context(),
                                                       server_hostname="localhost")
            assert writer.can_write_eof()
            writer.write(b"x" * 100_000)
            writer.write_eof()
            with pytest.raises(RuntimeError, match="write_eof"):
                writer.write(b"more")
            answer = await reader.read()
            writer.close()
            await writer.wait_closed()
            return answer

    assert run(scenario()) == b"got 100000 bytes"


def test_drain_waits_while_the_peer_is_not_reading_and_nothing_is_lost(server_context, client_context):
    payload = os.urandom(8 << 20)

    async def scenario():
        resumed = asyncio.Event()
        states = {}

        async def slow_reader(reader, writer):
            transport = writer.transport
            transport.pause_reading()
            await resumed.wait()
            transport.resume_reading()
            data = await reader.readexactly(len(payload))
            writer.write(hashlib.sha256(data).digest())
            await writer.drain()
            writer.close()

        server = await aio.start_server(slow_reader, "127.0.0.1", 0, context=server_context())
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await aio.open_connection("127.0.0.1", port, context=client_context(),
                                                       server_hostname="localhost")
            writer.write(payload)
            drain = asyncio.ensure_future(writer.drain())
            await asyncio.sleep(0.3)
            states["blocked"] = not drain.done()
            states["buffered"] = writer.transport.get_write_buffer_size()
            resumed.set()
            await asyncio.wait_for(drain, 20)
            digest = await reader.readexactly(32)
            writer.close()
            return states, digest

    states, digest = run(scenario())
    assert states["blocked"], "drain() returned while megabytes were still unsent"
    assert states["buffered"] > 64 * 1024
    assert digest == hashlib.sha256(payload).digest()


def test_a_peer_that_closes_tcp_without_close_notify_is_an_eof_as_in_asyncio(client_context, cert_files):
    async def scenario():
        ready = threading.Event()
        lsock = socket.create_server(("127.0.0.1", 0))
        port = lsock.getsockname()[1]

        def rude_server():
            ctx = _python_ssl_server_ctx(cert_files)
            conn, _ = lsock.accept()
            tls = ctx.wrap_socket(conn, server_side=True)
            tls.sendall(b"partial answer")
            ready.wait(5)
            os.close(tls.detach())   # TCP FIN, no close_notify

        thread = threading.Thread(target=rude_server)
        thread.start()
        try:
            reader, writer = await aio.open_connection("127.0.0.1", port, context=client_context(),
                                                       server_hostname="localhost")
            first = await reader.readexactly(14)
            ready.set()
            rest = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            return first, rest
        finally:
            ready.set()
            await asyncio.get_running_loop().run_in_executor(None, thread.join)
            lsock.close()

    assert run(scenario()) == (b"partial answer", b"")


def test_cancelling_a_connect_during_the_handshake_closes_its_socket(client_context):
    async def scenario():
        silent = socket.create_server(("127.0.0.1", 0))   # accepts (the kernel does) and never answers
        port = silent.getsockname()[1]
        try:
            before = _open_fds()
            task = asyncio.ensure_future(aio.open_connection("127.0.0.1", port, context=client_context(),
                                                             server_hostname="localhost"))
            await asyncio.sleep(0.2)
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0)
            return before, _open_fds()
        finally:
            silent.close()

    before, after = run(scenario())
    assert after == before


def test_a_handshake_that_never_ends_times_out(client_context):
    async def scenario():
        silent = socket.create_server(("127.0.0.1", 0))
        try:
            with pytest.raises(TimeoutError, match="did not complete within 0.3 s"):
                await aio.open_connection("127.0.0.1", silent.getsockname()[1], context=client_context(),
                                          server_hostname="localhost", ssl_handshake_timeout=0.3)
        finally:
            silent.close()

    run(scenario())


def test_server_close_then_wait_closed_waits_for_its_connections(server_context, client_context):
    async def scenario():
        handlers_done = []

        async def hold(reader, writer):
            await reader.read()
            handlers_done.append(True)
            writer.close()

        server = await aio.start_server(hold, "127.0.0.1", 0, context=server_context())
        port = server.sockets[0].getsockname()[1]
        clients = [await aio.open_connection("127.0.0.1", port, context=client_context(), server_hostname="localhost")
                   for _ in range(3)]
        await asyncio.sleep(0.05)
        server.close()
        assert not server.is_serving()
        waiting = asyncio.ensure_future(server.wait_closed())
        await asyncio.sleep(0.2)
        still_waiting = not waiting.done()
        for _reader, writer in clients:
            writer.close()
        await asyncio.wait_for(waiting, 10)
        with pytest.raises(OSError):   # not listening any more
            await asyncio.open_connection("127.0.0.1", port)
        return still_waiting, len(handlers_done)

    assert run(scenario()) == (True, 3)


def test_close_clients_ends_every_connection_with_close_notify(server_context, client_context):
    async def scenario():
        async def hold(reader, writer):
            await reader.read()

        server = await aio.start_server(hold, "127.0.0.1", 0, context=server_context())
        port = server.sockets[0].getsockname()[1]
        reader, writer = await aio.open_connection("127.0.0.1", port, context=client_context(),
                                                   server_hostname="localhost")
        await asyncio.sleep(0.05)
        server.close()
        server.close_clients()
        got = await asyncio.wait_for(reader.read(), 10)   # a clean EOF: the server's close_notify
        writer.close()
        await asyncio.wait_for(server.wait_closed(), 10)
        return got

    assert run(scenario()) == b""


def test_client_against_openssl_s_server(cert_files, client_context):
    port = free_port()
    args = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert_files["server_chain"]),
            "-key", str(cert_files["server_key"]), "-rev", "-naccept", "1"]
    with openssl_process(args, wait_for=b"ACCEPT"):
        async def scenario():
            reader, writer = await aio.open_connection("127.0.0.1", port, context=client_context(),
                                                       server_hostname="localhost")
            writer.write(b"native transport\n")
            line = await asyncio.wait_for(reader.readline(), 10)
            writer.close()
            return line, writer.get_extra_info("cipher")[1]

        line, version = run(scenario())
    assert line.strip() == b"tropsnart evitan"
    assert version == "TLSv1.3"


def test_server_against_openssl_s_client(server_context, cert_files):
    async def scenario():
        async def echo(reader, writer):
            writer.write((await reader.readline()).upper())
            await writer.drain()
            writer.close()

        server = await aio.start_server(echo, "127.0.0.1", 0, context=server_context())
        port = server.sockets[0].getsockname()[1]
        async with server:
            proc = await asyncio.create_subprocess_exec(
                "openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(cert_files["ca"]),
                "-verify_return_error", "-servername", "localhost", "-quiet",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(b"from s_client\n"), 20)
            return out, err, proc.returncode

    out, err, _rc = run(scenario())
    assert b"FROM S_CLIENT" in out, err


def test_runs_on_uvloop_too(server_context, client_context):
    import uvloop  # in the test extra: this test must run, not skip

    async def scenario():
        server, port = await echo_tls_server(server_context())
        async with server:
            reader, writer = await aio.open_connection("127.0.0.1", port, context=client_context(),
                                                       server_hostname="localhost")
            writer.write(b"on uvloop")
            got = await reader.readexactly(9)
            writer.close()
            await writer.wait_closed()
            return got

    assert uvloop.run(scenario()) == b"on uvloop"


def test_unsupported_socket_options_are_refused_by_name(client_context):
    async def scenario():
        with pytest.raises(TypeError, match="happy_eyeballs_delay"):
            await aio.open_connection("127.0.0.1", 1, context=client_context(), happy_eyeballs_delay=0.1)

    run(scenario())


def test_a_protocol_callback_that_raises_ends_only_its_connection(server_context, client_context):
    async def scenario():
        errors = []
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: errors.append(context))

        class Broken(asyncio.Protocol):
            def data_received(self, data):
                raise ValueError("bug in the application")

        server, port = await echo_tls_server(server_context())
        async with server:
            transport, _ = await aio.create_connection(Broken, "127.0.0.1", port, context=client_context(),
                                                       server_hostname="localhost")
            transport.write(b"ping")
            for _ in range(100):
                if transport.is_closing():
                    break
                await asyncio.sleep(0.02)
            # the server still serves others
            reader, writer = await aio.open_connection("127.0.0.1", port, context=client_context(),
                                                       server_hostname="localhost")
            writer.write(b"ok")
            got = await reader.readexactly(2)
            writer.close()
            return transport.is_closing(), got, [str(c.get("exception")) for c in errors]

    closing, got, errors = run(scenario())
    assert closing and got == b"ok"
    assert any("bug in the application" in e for e in errors)


def test_the_connection_of_a_closed_transport_never_touches_a_reused_fd():
    # Regression guard, in a subprocess: after the transport closed its socket, a call on the
    # Connection it leaves for inspection must not write into whatever socket got the fd next.
    out = run_scenario("""
        import asyncio, socket
        from asyncssl import SSL, aio

        async def main():
            sctx, cctx = server_context(), client_context()
            async def echo(reader, writer):
                writer.write(await reader.read(10)); await writer.drain(); writer.close()
            server = await aio.start_server(echo, "127.0.0.1", 0, context=sctx)
            port = server.sockets[0].getsockname()[1]
            reader, writer = await aio.open_connection("127.0.0.1", port, context=cctx, server_hostname="localhost")
            conn = writer.get_extra_info("ssl_object")
            fd = writer.get_extra_info("socket").fileno()
            writer.write(b"x"); await reader.read(); writer.close(); await writer.wait_closed()
            a, b = socket.socketpair()
            reused = fd in (a.fileno(), b.fileno())
            for call in (lambda: conn.send(b"into the wrong socket"), lambda: conn.recv(10), conn.do_handshake):
                try:
                    call()
                except SSL.Error:
                    pass
            b.setblocking(False); a.setblocking(False)
            leaked = b""
            for s in (a, b):
                try:
                    leaked += s.recv(100)
                except BlockingIOError:
                    pass
            print("reused", reused, "leaked", leaked, "version", conn.get_protocol_version_name())
            server.close(); await server.wait_closed()
        asyncio.run(main())
    """)
    assert "leaked b'' version TLSv1.3" in out, out


def test_mode_async_contexts_keep_the_memory_bio_transport(server_context, client_context):
    # MODE_ASYNC cannot use the native path (a paused job would hold the caller's buffers):
    # the same API then runs over asyncio's socket transport; the fused calls say why.
    async def scenario():
        sctx = server_context()
        sctx.set_mode(SSL.MODE_ASYNC)
        server, port = await echo_tls_server(sctx)
        async with server:
            cctx = client_context()
            cctx.set_mode(SSL.MODE_ASYNC)
            transport, protocol = await aio.create_connection(Collector, "127.0.0.1", port, context=cctx,
                                                              server_hostname="localhost")
            transport.write(b"offload-ready")
            for _ in range(200):
                if len(protocol.received) >= 13:
                    break
                await asyncio.sleep(0.01)
            transport.close()
            return bytes(protocol.received), type(transport).__name__

    received, kind = run(scenario())
    assert received == b"offload-ready"
    assert kind != "NativeTLSTransport"


def test_calls_from_another_thread_are_refused_or_handed_to_the_loop(server_context, client_context):
    async def scenario():
        server, port = await echo_tls_server(server_context())
        async with server:
            reader, writer = await aio.open_connection("127.0.0.1", port, context=client_context(),
                                                       server_hostname="localhost")
            loop = asyncio.get_running_loop()
            with pytest.raises(RuntimeError, match="call_soon_threadsafe"):
                await loop.run_in_executor(None, writer.write, b"from a thread")
            loop.call_soon_threadsafe(writer.write, b"the right way")
            got = await reader.readexactly(13)
            await loop.run_in_executor(None, writer.close)   # close is handed to the loop's thread
            await asyncio.wait_for(writer.wait_closed(), 10)
            return got

    assert run(scenario()) == b"the right way"


def test_listening_options_sock_reuse_port_and_every_interface(server_context, client_context):
    async def scenario():
        async def hello(reader, writer):
            writer.write(b"hi")
            await writer.drain()
            writer.close()

        async def ask(port, host="127.0.0.1"):
            reader, writer = await aio.open_connection(host, port, context=client_context(),
                                                       server_hostname="localhost")
            got = await reader.read()
            writer.close()
            return got

        ctx = server_context()
        # two servers on one port (SO_REUSEPORT): both accept
        first = await aio.start_server(hello, "127.0.0.1", 0, context=ctx, reuse_port=True)
        port = first.sockets[0].getsockname()[1]
        second = await aio.start_server(hello, "127.0.0.1", port, context=ctx, reuse_port=True)
        answers = [await ask(port) for _ in range(6)]
        first.close()
        second.close()
        # a socket of the caller's
        lsock = socket.create_server(("127.0.0.1", 0))
        own = await aio.start_server(hello, sock=lsock, context=ctx)
        from_own = await ask(lsock.getsockname()[1])
        own.close()
        # every interface (host None): at least IPv4 loopback reaches it
        every = await aio.start_server(hello, None, 0, context=ctx)
        families = {s.family for s in every.sockets}
        v4 = [s.getsockname()[1] for s in every.sockets if s.family == socket.AF_INET]
        from_every = await ask(v4[0]) if v4 else b"no IPv4 socket"
        every.close()
        for server in (first, second, own, every):
            await server.wait_closed()
        return answers, from_own, from_every, families

    answers, from_own, from_every, families = run(scenario())
    assert answers == [b"hi"] * 6 and from_own == b"hi" and from_every == b"hi"
    assert socket.AF_INET in families
