"""Issue 10, MODE_ASYNC faults (the simulated accelerator pauses jobs): each scenario in its own interpreter."""

from __future__ import annotations

import pytest
from helpers.subproc import run_scenario

import asyncssl

pytestmark = pytest.mark.skipif(not asyncssl.is_async_capable(), reason="ASYNC_is_capable() is 0 here")
needs_enlarged_stacks = pytest.mark.skipif(
    not asyncssl.capabilities().get("async_stack_enlarge", True),
    reason="OpenSSL 3.0/3.1: Python callbacks and MODE_ASYNC are refused together")

def test_fault6_a_paused_send_sends_exactly_the_bytes_it_was_given():
    out = run_scenario("""
    with accelerated(latency=0.05) as libctx:
        client, server = paused_client_pair(libctx)
        first = bytearray(b"A" * 3000)
        print(run_until_async(lambda: client.send(first), client, server, owner=client))
        del first
        junk = [bytearray(b"Z" * 3000) for _ in range(100)]   # reuses the dropped buffer's memory
        wait_async(client)
        while True:
            try:
                n = client.send(bytearray(b"A" * 3000))   # an equal, different buffer
                break
            except SSL.WantAsyncError:
                wait_async(client)
            except SSL.WantReadError:
                pump(client, server, module=SSL)
                outcome(server.do_handshake)
        print("sent", n)
        got = b""
        for _ in range(20):
            pump(client, server, module=SSL)
            try:
                got += server.recv(65536)
            except SSL.WantReadError:
                pass
            if len(got) >= n:
                break
        print(got == b"A" * n)
    """)
    assert out == "paused\nsent 3000\nTrue\n", out


def test_fault6_a_paused_send_retried_with_other_bytes_is_refused():
    out = run_scenario("""
    with accelerated(latency=0.05) as libctx:
        client, server = paused_client_pair(libctx)
        print(run_until_async(lambda: client.send(b"A" * 3000), client, server, owner=client))
        wait_async(client)
        print(outcome(client.send, b"B" * 3000))
        print(outcome(client.recv, 10))
    """)
    lines = out.splitlines()
    assert lines[0] == "paused"
    assert "the async job paused in the previous send() sends the bytes that call was given" in lines[1], out
    assert "called while an async job started by send() is paused" in lines[2], out


def test_sendall_is_safe_across_a_pause():
    out = run_scenario("""
    with accelerated(latency=0.05) as libctx:
        client, server = paused_client_pair(libctx)
        data = bytes(range(256)) * 1000          # 256000 bytes: several chunks
        view = memoryview(bytearray(data))
        sent = 0
        got = b""
        for _ in range(500):
            try:
                sent += client.sendall(view[sent:])
            except SSL.WantAsyncError as exc:
                sent += exc.bytes_sent
                wait_async(client)
            except SSL.WantReadError as exc:
                sent += exc.bytes_sent
            pump(client, server, module=SSL)
            for _ in range(100):
                try:
                    got += server.recv(65536)
                except (SSL.WantReadError, SSL.WantAsyncError):
                    break
            if sent == len(data) and len(got) == len(data):
                break
        print(sent == len(data), got == data)
    """)
    assert out == "True True\n", out


def test_a_paused_read_never_writes_into_the_dropped_buffer():
    out = run_scenario("""
    with accelerated(latency=0.05) as libctx:
        client, server = tls_pair(server_context(libctx=libctx, async_mode=True))
        first = bytearray(100)
        print(run_until_async(lambda: server.recv_into(first), client, server, owner=server))
        del first
        junk = [bytearray(100) for _ in range(100)]
        wait_async(server)
        print(outcome(server.recv_into, bytearray(10)))       # smaller than the paused read: refused
        got = None
        for _ in range(50):
            buf = bytearray(100)
            try:
                n = server.recv_into(buf)
                got = bytes(buf[:n])
                break
            except SSL.WantAsyncError:
                wait_async(server)
            except SSL.WantReadError:
                pump(client, server, module=SSL)
                try:
                    client.do_handshake()
                    client.send(b"hello")
                except SSL.WantReadError:
                    pass
                pump(client, server, module=SSL)
        print(got, all(not any(b) for b in junk))
    """)
    lines = out.splitlines()
    assert lines[0] == "paused"
    assert "may return as many bytes as it was asked for" in lines[1], out
    assert lines[2] == "b'hello' True", out


def test_fault5_connections_closed_mid_job_by_threads_that_then_exit():
    out = run_scenario("""
    with accelerated(latency=0.05) as libctx:
        sctx = server_context(libctx=libctx, async_mode=True)
        def one():
            client, server = tls_pair(sctx)
            print(run_until_async(server.do_handshake, client, server), end=" ")
            server.close()           # the job stays paused; this thread then exits
        for _ in range(10):
            t = threading.Thread(target=one)
            t.start()
            t.join()
        time.sleep(0.2)              # the device finishes every job
        # New threads (whose idents may be the dead ones') must not resume those jobs.
        from asyncssl.offload.mode_async import reap_abandoned_connections
        for _ in range(5):
            t = threading.Thread(target=lambda: (reap_abandoned_connections(), tls_pair(sctx)))
            t.start()
            t.join()
        print(reap_abandoned_connections())   # never resumable: leaked, not crashed
        gc.collect()
    print("exit")
    """)
    assert out == "paused " * 10 + "10\nexit\n", out


@pytest.mark.parametrize("how", ["close", "drop", "cycle"])
def test_fault9_a_connection_with_a_paused_job_closed_dropped_or_collected_in_a_cycle(how):
    out = run_scenario(f"""
    from asyncssl.offload.mode_async import reap_abandoned_connections
    with accelerated(latency=0.05) as libctx:
        sctx = server_context(libctx=libctx, async_mode=True)
        for _ in range(5):
            client, server = tls_pair(sctx)
            print(run_until_async(server.do_handshake, client, server), end=" ")
            how = {how!r}
            if how == "close":
                server.close()
            elif how == "cycle":
                server.set_app_data(server)   # only the cyclic GC can free it
            del server, client
            gc.collect()
        # each job finishes on the device; the reaper (this thread) then frees its SSL*
        deadline = time.monotonic() + 10
        while (left := reap_abandoned_connections()) and time.monotonic() < deadline:
            time.sleep(0.02)
        print(left)
    print("exit")
    """)
    assert out == "paused " * 5 + "0\nexit\n", out


def test_fault9_asyncio_clients_cancelled_mid_handshake_under_mode_async():
    out = run_scenario("""
    import asyncio
    from asyncssl import aio

    async def main(libctx):
        sctx = server_context(libctx=libctx, async_mode=True)
        async def echo(reader, writer):
            writer.write(await reader.readline())
            await writer.drain()
            writer.close()
        server = await aio.start_server(echo, "127.0.0.1", 0, context=sctx)
        port = server.sockets[0].getsockname()[1]
        cctx = client_context()
        tasks = [asyncio.ensure_future(aio.open_connection("127.0.0.1", port, context=cctx,
                                                           server_hostname="localhost"))
                 for _ in range(20)]
        await asyncio.sleep(0.15)       # mid-handshake: the server's signatures take 0.3 s
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _ in range(10):
            gc.collect()
            await asyncio.sleep(0.1)
        reader, writer = await aio.open_connection("127.0.0.1", port, context=cctx, server_hostname="localhost")
        writer.write(b"still serving\\n")
        print((await reader.readline()).decode().strip())
        writer.close()
        server.close()
        await server.wait_closed()

    with accelerated(latency=0.3) as libctx:
        asyncio.run(main(libctx))
        gc.collect()
    print("exit")
    """, timeout=90)
    assert out == "still serving\nexit\n", out


@needs_enlarged_stacks
def test_a_callback_that_starts_offloaded_crypto_on_another_connection():
    out = run_scenario("""
    with accelerated(latency=0.05) as libctx:
        sctx = server_context(libctx=libctx, async_mode=True)
        results = []
        def info(conn, where, ret):
            if where & SSL.SSL_CB_HANDSHAKE_START and not results:
                results.append("started")
                c2, s2 = tls_pair(sctx)            # another MODE_ASYNC connection, signing on the device
                results.append(drive(c2, s2, wait_async=wait_async))
        sctx.set_info_callback(info)
        client, server = tls_pair(sctx)
        print(drive(client, server, wait_async=wait_async), results)
    print("exit")
    """)
    assert out == "done ['started', 'done']\nexit\n", out


@needs_enlarged_stacks
def test_the_reaper_survives_callbacks_of_the_jobs_it_resumes():
    # A resumed handshake calls Python callbacks; one that makes or closes Connections
    # reaches the reaper again (a nested reap, a new park): no deadlock, no double free.
    out = run_scenario("""
    from asyncssl.offload.mode_async import reap_abandoned_connections
    with accelerated(latency=0.05) as libctx:
        sctx = server_context(libctx=libctx, async_mode=True)
        made = []
        def info(conn, where, ret):
            made.append(SSL.Connection(sctx, None))   # Connection() is a reap point
            if len(made) % 3 == 0:
                made.pop().close()
        sctx.set_info_callback(info)
        for _ in range(3):
            client, server = tls_pair(sctx)
            print(run_until_async(server.do_handshake, client, server), end=" ")
            server.close()
        deadline = time.monotonic() + 10
        while (left := reap_abandoned_connections()) and time.monotonic() < deadline:
            time.sleep(0.02)
        print(left)
    print("exit")
    """)
    assert out == "paused " * 3 + "0\nexit\n", out
