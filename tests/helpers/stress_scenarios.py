"""Randomized crash-safety scenarios for tests/stress (each run in its own interpreter by a test).

``run(name, seed)`` replays the same operations for the same seed. Every operation may
raise an asyncssl ``Error`` (closed, busy, re-entered, want-*) or a callback's exception:
that is the documented outcome; anything else escaping, a hang or a signal is a failure.
"""

from __future__ import annotations

import gc
import random
import threading
import time

from asyncssl import SSL
from asyncssl._binding import async_stacks_enlarged
from asyncssl.offload.mode_async import reap_abandoned_connections
from helpers.kit import accelerated, client_context, drive, dtls_contexts, server_context, tls_pair, wait_async
from helpers.memory import pump

EXPECTED = (SSL.Error, ValueError, TypeError, KeyError)


class Boom(KeyError):
    """What a raising callback raises (a KeyError: also expected from the operations)."""


def attempt(func, *args):
    try:
        return func(*args)
    except EXPECTED:
        return None


# --- random objects ---------------------------------------------------------------------


def _new_pair(rng, libctx):
    kind = rng.choice(["tls", "tls-done", "dtls", "async", "async-paused"] if libctx else ["tls", "tls-done", "dtls"])
    if kind == "dtls":
        sctx, cctx = dtls_contexts()
        pair = tls_pair(sctx, cctx)
    elif kind.startswith("async"):
        pair = tls_pair(server_context(libctx=libctx, async_mode=True))
    else:
        pair = tls_pair()
    client, server = pair
    if kind == "tls-done":
        drive(client, server)
    elif kind == "async-paused":
        for _ in range(20):
            attempt(client.do_handshake)
            pump(client, server, module=SSL)
            try:
                server.do_handshake()
            except SSL.WantAsyncError:
                break
            except EXPECTED:
                pass
    return kind, client, server


def _random_op(rng, conn):
    ops = [
        lambda: conn.do_handshake(),
        lambda: conn.send(b"x" * rng.randint(1, 3000)),
        lambda: conn.sendall(memoryview(bytearray(rng.randint(1, 3000)))),
        lambda: conn.recv(rng.randint(1, 5000)),
        lambda: conn.recv_into(bytearray(rng.randint(1, 5000))),
        lambda: conn.bio_read(rng.randint(1, 70000)),
        lambda: conn.bio_write(bytes(rng.randint(0, 200))),
        lambda: conn.get_peer_certificate(as_cryptography=True),
        lambda: conn.get_cipher_name(),
        lambda: conn.pending(),
        lambda: conn.shutdown(),
        lambda: conn.get_session(),
        lambda: conn.waiting_for_async(),
        lambda: conn.get_all_async_fds(),
        lambda: conn.close(),
    ]
    return rng.choice(ops)


def lifetimes(rng):
    """Random mixes of TLS, DTLS and MODE_ASYNC objects, closed, dropped and collected in random orders."""
    with accelerated(latency=rng.choice([0.01, 0.05])) as libctx:
        objects = []
        for _ in range(rng.randint(3, 8)):
            kind, client, server = _new_pair(rng, libctx)
            if rng.random() < 0.3:
                server.set_app_data(server)          # a cycle only the cyclic GC breaks
            if rng.random() < 0.2:
                client.set_app_data((server, client))
            objects += [client, server, client.get_context(), server.get_context()]
            session = attempt(client.get_session)
            if session is not None:
                objects.append(session)
        for _ in range(rng.randint(10, 60)):
            action = rng.random()
            if action < 0.25 and objects:
                objects.pop(rng.randrange(len(objects)))
            elif action < 0.35:
                gc.collect()
            elif action < 0.45:
                reap_abandoned_connections()
            else:
                conns = [o for o in objects if isinstance(o, SSL.Connection)]
                if conns:
                    attempt(_random_op(rng, rng.choice(conns)))
        rng.shuffle(objects)
        while objects:
            obj = objects.pop()
            if isinstance(obj, SSL.Connection) and rng.random() < 0.5:
                obj.close()
            del obj
            if rng.random() < 0.3:
                gc.collect()
        gc.collect()
        time.sleep(0.06)
        reap_abandoned_connections()


CALLBACKS = ["sni", "alpn", "keylog", "info", "verify", "cookie_generate", "cookie_verify"]
ACTIONS = ["close", "reenter", "raise", "read", "close-and-raise", "offload-other"]


def _install(kind, sctx, body):
    if kind == "sni":
        sctx.set_tlsext_servername_callback(lambda conn: body(conn))
    elif kind == "alpn":
        sctx.set_alpn_select_callback(lambda conn, protos: body(conn) or protos[0])
    elif kind == "keylog":
        sctx.set_keylog_callback(lambda conn, line: body(conn))
    elif kind == "info":
        sctx.set_info_callback(lambda conn, where, ret: body(conn))
    elif kind == "verify":
        sctx.set_verify(SSL.VERIFY_PEER, lambda conn, cert, err, depth, ok: body(conn) or True)
    elif kind == "cookie_generate":
        sctx.set_cookie_generate_callback(lambda conn: body(conn) or b"cookie")
    else:
        sctx.set_cookie_verify_callback(lambda conn, cookie: body(conn) or True)


def callbacks(rng):
    """Every callback type closing, re-entering and raising, on TLS, DTLS and MODE_ASYNC connections."""
    with accelerated(latency=0.01) as libctx:
        for _ in range(rng.randint(4, 8)):
            kind = rng.choice(CALLBACKS)
            action = rng.choice(ACTIONS)
            # OpenSSL 3.0/3.1 refuse Python callbacks with MODE_ASYNC (32 KiB job stacks)
            use_async = (kind not in ("cookie_generate", "cookie_verify") and async_stacks_enlarged()
                         and rng.random() < 0.4)
            budget = [rng.randint(1, 3)]   # how often the callback acts (some fire many times)

            def body(conn, action=action, budget=budget):
                if budget[0] <= 0:
                    return None
                budget[0] -= 1
                if action == "close":
                    conn.close()
                elif action == "reenter":
                    _random_op(rng, conn)()
                elif action == "raise":
                    raise Boom("from the callback")
                elif action == "read":
                    conn.get_servername(), conn.get_cipher_list(), conn.pending()
                elif action == "close-and-raise":
                    conn.close()
                    raise Boom("closed, then raised")
                else:
                    c2, s2 = tls_pair(server_context(libctx=libctx, async_mode=True))
                    drive(c2, s2, wait_async=wait_async)
                return None

            if kind.startswith("cookie"):
                sctx, cctx = dtls_contexts()
            else:
                sctx, cctx = server_context(libctx=libctx, async_mode=use_async), client_context(client_cert=True)
                sctx.load_verify_locations(client_context.__globals__["CERTS"]["ca.pem"])
                cctx.set_alpn_protos([b"h2"])
            _install(kind, sctx, body)
            client, server = tls_pair(sctx, cctx)
            client.set_tlsext_host_name(b"localhost")
            attempt(drive, client, server, 40, wait_async)
            for conn in rng.sample([client, server], 2):
                attempt(_random_op(rng, conn))
                if rng.random() < 0.5:
                    conn.close()
            del client, server, sctx, cctx
            if rng.random() < 0.5:
                gc.collect()
        gc.collect()


def threads(rng):
    """Two to four threads on one TLS or DTLS Connection, one of them closing or dropping it."""
    for _ in range(rng.randint(2, 4)):
        if rng.random() < 0.3:
            sctx, cctx = dtls_contexts()
            client, server = tls_pair(sctx, cctx)
        else:
            client, server = tls_pair()
        attempt(drive, client, server)
        target = rng.choice([client, server])
        stop = time.monotonic() + rng.uniform(0.05, 0.3)
        seeds = [rng.random() for _ in range(rng.randint(2, 4))]

        def worker(seed, target=target, stop=stop):
            local = random.Random(seed)
            while time.monotonic() < stop:
                attempt(_random_op(local, target))
                if local.random() < 0.01:
                    attempt(target.close)

        workers = [threading.Thread(target=worker, args=(s,)) for s in seeds]
        for w in workers:
            w.start()
        if rng.random() < 0.5:
            time.sleep(rng.uniform(0, 0.1))
            target.close()
        for w in workers:
            w.join(30)
            assert not w.is_alive(), "a worker thread hung"
        del client, server, target
        gc.collect()


async def _tls_cancellations(rng, sctx):
    import asyncio

    from asyncssl import aio

    async def echo(reader, writer):
        try:
            writer.write(await reader.readline())
            await writer.drain()
        finally:
            writer.close()

    server = await aio.start_server(echo, "127.0.0.1", 0, context=sctx)
    port = server.sockets[0].getsockname()[1]
    cctx = client_context()

    async def client():
        reader, writer = await aio.open_connection("127.0.0.1", port, context=cctx, server_hostname="localhost")
        writer.write(b"ping\n")
        await writer.drain()
        line = await reader.readline()
        writer.close()
        return line

    tasks = [asyncio.ensure_future(client()) for _ in range(rng.randint(3, 12))]
    for task in tasks:
        loop = asyncio.get_running_loop()
        loop.call_later(rng.uniform(0, 0.4), task.cancel)
    await asyncio.gather(*tasks, return_exceptions=True)
    gc.collect()
    assert await asyncio.wait_for(client(), 20) == b"ping\n"   # the server still serves
    server.close()
    await server.wait_closed()


async def _dtls_cancellations(rng):
    import asyncio

    from asyncssl import aio

    async def echo(endpoint):
        while True:
            try:
                endpoint.send(await endpoint.recv())
            except EOFError:
                return

    server = await aio.dtls_serve("127.0.0.1", 0, context=server_context(SSL.DTLS_SERVER_METHOD), handler=echo)
    address = server.sockets[0].getsockname()[:2]

    async def client():
        async with await aio.dtls_connect(*address, context=client_context(SSL.DTLS_CLIENT_METHOD),
                                          server_hostname="localhost", initial_timeout=0.1) as endpoint:
            endpoint.send(b"ping")
            return await endpoint.recv()

    tasks = [asyncio.ensure_future(client()) for _ in range(rng.randint(2, 6))]
    for task in tasks:
        asyncio.get_running_loop().call_later(rng.uniform(0, 0.2), task.cancel)
    await asyncio.gather(*tasks, return_exceptions=True)
    gc.collect()
    assert await asyncio.wait_for(client(), 20) == b"ping"
    server.close()
    await server.wait_closed()


def aio_cancel(rng):
    """asyncio clients cancelled at random points of the TLS (with and without MODE_ASYNC) and DTLS adapters."""
    import asyncio

    kind = rng.choice(["tls", "tls-async", "dtls"])
    if kind == "dtls":
        asyncio.run(_dtls_cancellations(rng))
        return
    with accelerated(latency=rng.choice([0.02, 0.1, 0.3])) as libctx:
        sctx = server_context(libctx=libctx, async_mode=kind == "tls-async")
        asyncio.run(_tls_cancellations(rng, sctx))
        gc.collect()


async def _native_chaos(rng):
    import asyncio
    import os

    from asyncssl import aio

    async def echo(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, SSL.Error):
            pass
        finally:
            writer.close()

    server = await aio.start_server(echo, "127.0.0.1", 0, context=server_context(), ssl_shutdown_timeout=2)
    port = server.sockets[0].getsockname()[1]
    cctx = client_context()
    fds_before = len(os.listdir("/proc/self/fd"))

    async def one(kind):
        if kind == "garbage":
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(os.urandom(rng.randint(1, 5000)))
            await asyncio.sleep(rng.uniform(0, 0.05))
            writer.close()
            return
        reader, writer = await aio.open_connection("127.0.0.1", port, context=cctx, server_hostname="localhost",
                                                   ssl_shutdown_timeout=2)
        payload = os.urandom(rng.choice([1, 100, 70_000, 1 << 20]))
        writer.write(payload)
        if kind == "abort":
            await asyncio.sleep(rng.uniform(0, 0.02))
            writer.transport.abort()
        elif kind == "close_pending":
            writer.close()
        elif kind == "eof":
            writer.write_eof()
            assert await reader.read() == payload
            writer.close()
        elif kind == "pause":
            writer.transport.pause_reading()
            await asyncio.sleep(rng.uniform(0, 0.1))
            writer.transport.resume_reading()
            assert await reader.readexactly(len(payload)) == payload
            writer.close()
        elif kind == "cancel":
            task = asyncio.ensure_future(reader.readexactly(len(payload) + 1))
            asyncio.get_running_loop().call_later(rng.uniform(0, 0.05), task.cancel)
            try:
                await task
            except asyncio.CancelledError:
                pass
            writer.close()

    kinds = ["garbage", "abort", "close_pending", "eof", "pause", "cancel"]
    tasks = [asyncio.ensure_future(one(rng.choice(kinds))) for _ in range(rng.randint(4, 16))]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        # a client's own abort or its peer's reset may surface as a connection error; nothing else may
        if isinstance(result, BaseException) and not isinstance(result, (ConnectionError, asyncio.IncompleteReadError)):
            raise result
    reader, writer = await aio.open_connection("127.0.0.1", port, context=cctx, server_hostname="localhost")
    writer.write(b"still serving")
    assert await asyncio.wait_for(reader.readexactly(13), 20) == b"still serving"
    writer.close()
    await writer.wait_closed()
    server.close()
    await asyncio.wait_for(server.wait_closed(), 20)   # every connection ended, none stuck
    gc.collect()
    await asyncio.sleep(0)
    fds_after = len(os.listdir("/proc/self/fd"))
    assert fds_after <= fds_before, f"file descriptors leaked: {fds_before} before, {fds_after} after"


def tls_native(rng):
    """The native asyncio TLS transport under random client behaviour: aborts, closes with data
    pending, half-closes, paused readers, cancelled reads, garbage instead of TLS."""
    import asyncio

    asyncio.run(_native_chaos(rng))


SCENARIOS = {"lifetimes": lifetimes, "callbacks": callbacks, "threads": threads, "aio_cancel": aio_cancel,
             "tls_native": tls_native}


def run(name: str, seed: int) -> None:
    SCENARIOS[name](random.Random(seed))
    print(f"{name} {seed} ok")
