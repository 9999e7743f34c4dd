"""Randomized QUIC crash-safety scenarios for tests/stress/test_quic_stress.py (each run in its own
interpreter by a test, through ``helpers.subproc.run_scenario``).

``run(name, seed)`` replays the same choices for the same seed (thread timing aside). Every
operation may raise an asyncssl ``Error`` (closed, re-entered, want-*, the UDP socket closed) or a
callback's exception: that is the documented outcome; anything else escaping, a hang, a
deadlock or a signal is a failure. Real UDP sockets on 127.0.0.1, real OpenSSL, no mocks.
"""

from __future__ import annotations

import gc
import random
import select
import sys
import threading
import time
import weakref
from pathlib import Path

from asyncssl import SSL

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "quic"))
import crashkit  # noqa: E402

ALPN = crashkit.ALPN
EXPECTED = (SSL.Error, ValueError, TypeError, KeyError)
IN_CALLBACK = "inside an OpenSSL callback"
ZERO_STEPS = 40   # quic_aio_cancel: cancel after 0..ZERO_STEPS loop iterations, then after more time
MAX_STEPS = 100


class Boom(KeyError):
    """What a raising callback raises (a KeyError: also expected from the operations)."""


def attempt(func, *args, **kw):
    try:
        return func(*args, **kw)
    except EXPECTED:
        return None


# --- building blocks ----------------------------------------------------------------------
# The QUIC regression tests' (tests/quic/crashkit.py): contexts, sockets, a Listener, a client.
server_context = crashkit.server_context
client_context = crashkit.client_context
udp_socket = crashkit.udp_socket
new_listener = crashkit.listener
new_client = crashkit.client


def tick(objs, wait=0.005):
    """One round of select() on the objects' descriptors + handle_events(); errors are outcomes."""
    fds = []
    for o in objs:
        fd = attempt(o.get_rpoll_descriptor)
        if fd is not None and fd >= 0:
            fds.append(fd)
    try:
        select.select(fds, [], [], wait)
    except (OSError, ValueError):
        time.sleep(wait)   # a descriptor closed under us: not this helper's business
    for o in objs:
        attempt(o.handle_events)


def spin(objs, until, timeout=5.0):
    """tick() until `until()` (True) or the timeout (False)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if until():
                return True
        except EXPECTED:
            return False
        if time.monotonic() > deadline:
            return False
        tick(objs)


def handshake_done(conn):
    try:
        conn.do_handshake()
        return True
    except SSL.WantReadError:
        return False


def connect(lst, port, *, thread=False, ctx=None, timeout=5.0):
    """A non-blocking client and its accepted server connection, handshakes done (or None, None)."""
    conn, sock = new_client(port, ctx=ctx, thread=thread)
    accepted = []

    def step():
        if not accepted:
            c = lst.accept_connection(block=False)
            if c is not None:
                accepted.append(c)
        return handshake_done(conn) and bool(accepted)

    if not spin([lst, conn], step, timeout):
        return conn, sock, accepted[0] if accepted else None
    spin([lst, conn], lambda: handshake_done(accepted[0]), timeout)
    return conn, sock, accepted[0]


class ServerPump:
    """A thread ticking a listener (and so every connection of its port) and accepting, so the
    main thread may make blocking client calls. It stops on stop() or when the listener dies."""

    def __init__(self, lst):
        self.lst = lst
        self.accepted = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                fd = self.lst.get_rpoll_descriptor()
                select.select([fd], [], [], 0.005)
                self.lst.handle_events()
                c = self.lst.accept_connection(block=False)
                if c is not None:
                    self.accepted.append(c)
            except (SSL.Error, OSError, ValueError):
                if self.lst.closed:
                    return
                time.sleep(0.005)

    def stop(self):
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the server pump thread hung"


class Watchdog:
    """close() `obj` from another thread if a blocking call on it takes longer than `after` s
    (the peer may be gone: a documented way to end a blocked call)."""

    def __init__(self, obj, after=2.0):
        self._timer = threading.Timer(after, lambda: attempt(obj.close))
        self._timer.daemon = True

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()


def stream_ops(rng, s):
    return [
        lambda: s.send(b"s" * rng.randint(1, 3000)),
        lambda: s.recv(rng.randint(1, 5000)),
        lambda: s.recv_into(bytearray(rng.randint(1, 5000))),
        lambda: s.pending(),
        lambda: s.conclude(),
        lambda: s.reset(rng.randint(0, 9)),
        lambda: s.handle_events(),
        lambda: s.get_event_timeout(),
        lambda: (s.stream_id, s.read_state, s.write_state, s.read_error_code),
        lambda: SSL.poll([(s, SSL.POLL_EVENT_R | SSL.POLL_EVENT_W)], 0),
        lambda: s.close(),
    ]


def conn_ops(rng, c, streams):
    def new_stream():
        s = c.new_stream(uni=rng.random() < 0.3, block=False)
        streams.append(s)

    def accept_stream():
        s = c.accept_stream(block=False)
        if s is not None:
            streams.append(s)

    return [
        new_stream,
        accept_stream,
        lambda: c.handle_events(),
        lambda: c.get_event_timeout(),
        lambda: (c.net_read_desired(), c.net_write_desired(), c.get_conn_close_info()),
        lambda: c.get_accept_stream_queue_len(),
        lambda: c.do_handshake(),
        lambda: SSL.poll([(c, SSL.POLL_EVENT_R | SSL.POLL_EVENT_IS)], 0),
        lambda: c.shutdown_ex(app_error_code=rng.randint(0, 5), rapid=True, block=False),
        lambda: c.close(),
    ]


# --- quic_lifetimes ---------------------------------------------------------------------------


def _socket_closed_under(rng, conn, sock, peer_objs):
    """Close the UDP socket of a live connection: every call must raise a clear SSL.Error, and a
    socket that reuses the descriptor number must not be read or written by asyncssl."""
    num = sock.fileno()
    sock.close()
    other = udp_socket()
    sender = udp_socket()
    try:
        sender.sendto(b"not-for-quic", other.getsockname())
        time.sleep(0.01)
        for op in rng.sample(["handle_events", "new_stream", "do_handshake", "get_event_timeout",
                              "get_rpoll_descriptor"], 3):
            try:
                getattr(conn, op)()
            except SSL.Error as exc:
                assert "closed" in str(exc), f"{op} after the socket closed: unclear error {exc!r}"
            else:
                raise AssertionError(f"{op} worked on a connection whose UDP socket is closed")
        tick(peer_objs)
        other.setblocking(False)
        data = other.recv(100)   # the datagram is still there: nobody read the reused number
        assert data == b"not-for-quic", data
        try:
            other.recv(2000)
        except BlockingIOError:
            pass
        else:
            raise AssertionError("asyncssl wrote a datagram to a reused descriptor")
        if other.fileno() == num:
            print("reused", num)
    finally:
        other.close()
        sender.close()
    if rng.random() < 0.7:
        conn.close()


def _listener_socket_closed(lst, lsock, conns):
    """Close the listener's UDP socket under it: the listener and its connections raise clearly."""
    lsock.close()
    targets = [] if lst is None or lst.closed else [lst.handle_events, lambda: lst.accept_connection(block=False)]
    targets += [c.get_event_timeout for c in conns if c._quic is not None and c._quic.listener is lst
                and lst is not None and not c.closed]
    for op in targets:
        try:
            op()
        except SSL.Error as exc:
            assert "closed" in str(exc), f"unclear error once the listener's socket closed: {exc!r}"
        else:
            raise AssertionError("a call worked once the listener's UDP socket was closed")


def _exception_cycle(obj):
    try:
        obj.get_event_timeout()   # raises if closed; never waits
        raise SSL.Error("an error to hold")
    except EXPECTED as exc:
        exc.holder = (exc, obj)   # exception -> traceback -> frame -> obj, and back
        return exc


def lifetimes(rng):
    """Listeners, accepted and client connections (plain and thread-assisted, blocking and not) and
    streams: used, closed, dropped and collected in random orders."""
    for _ in range(rng.randint(2, 4)):
        lst, lsock = new_listener()
        port = lsock.getsockname()[1]
        objects = [lst]
        clients = []           # (conn, sock)
        streams = []
        cycles = []
        for _ in range(rng.randint(1, 5)):
            thread = rng.random() < 0.4
            if rng.random() < 0.35:
                # blocking client: a thread serves the listener meanwhile
                pump = ServerPump(lst)
                conn, sock = new_client(port, thread=thread, blocking=True)
                with Watchdog(conn, 3.0):
                    attempt(conn.do_handshake)
                    s = attempt(conn.new_stream)
                    if s is not None:
                        attempt(s.send, b"hello")
                        streams.append(s)
                pump.stop()
                objects += pump.accepted
                server = pump.accepted[0] if pump.accepted else None
            else:
                conn, sock, server = connect(lst, port, thread=thread)
                if server is not None:
                    objects.append(server)
            clients.append((conn, sock))
            objects.append(conn)
            if rng.random() < 0.3:
                cycles.append(_exception_cycle(conn))
            if rng.random() < 0.2 and server is not None:
                conn.set_app_data((server, conn))   # a cycle only the cyclic GC breaks
        lref = weakref.ref(lst)   # from here on only `objects` keeps the listener alive
        del lst, conn, sock, server
        s = pump = None
        for _ in range(rng.randint(20, 60)):
            action = rng.random()
            lst = lref()
            conns = [o for o in objects if isinstance(o, SSL.Connection)]
            if action < 0.15 and objects:
                objects.pop(rng.randrange(len(objects)))   # the listener too, before its connections
            elif action < 0.22 and streams:
                streams.pop(rng.randrange(len(streams)))
            elif action < 0.30:
                gc.collect()
            elif action < 0.35 and objects + streams:
                cycles.append(_exception_cycle(rng.choice(objects + streams)))
            elif action < 0.40 and lst is not None and rng.random() < 0.3:
                attempt(lst.close)   # the listener before its connections
            elif action < 0.43 and lsock.fileno() >= 0 and rng.random() < 0.3:
                _listener_socket_closed(lst, lsock, conns)
            elif action < 0.47 and clients:
                conn, sock = rng.choice(clients)
                if sock.fileno() >= 0 and not conn.closed:
                    _socket_closed_under(rng, conn, sock, [lst] if lst is not None else [])
                del conn, sock
            elif action < 0.70 and conns:
                c = rng.choice(conns)
                if attempt(c.get_blocking_mode) is False:
                    attempt(rng.choice(conn_ops(rng, c, streams)))
                del c
            elif streams:
                s = rng.choice(streams)
                if attempt(s.get_blocking_mode) is not True:
                    attempt(rng.choice(stream_ops(rng, s)))
                s = None
            if rng.random() < 0.3:
                tick([o for o in objects if not getattr(o, "closed", False)][:6], 0.001)
            del lst, conns
        everything = objects + streams + [c for c, _ in clients]
        del objects, streams, clients
        rng.shuffle(everything)
        while everything:
            obj = everything.pop()
            if rng.random() < 0.5:
                attempt(obj.close)
            del obj
            if rng.random() < 0.3:
                gc.collect()
        if rng.random() < 0.5:
            cycles.clear()
        gc.collect()
        if not cycles:
            assert lref() is None, "nothing holds the listener any more, yet it is alive"
        lsock.close()
        cycles.clear()
        gc.collect()


# --- quic_threads -----------------------------------------------------------------------------


def threads(rng):
    """Two to four threads on one QUIC connection, stream or listener, one of them closing it."""
    lst, lsock = new_listener()
    port = lsock.getsockname()[1]
    for _ in range(rng.randint(3, 5)):
        if lst.closed:   # the last round's target
            lsock.close()
            lst, lsock = new_listener()
            port = lsock.getsockname()[1]
        conn, csock, server = connect(lst, port, thread=rng.random() < 0.4)
        if server is None:
            raise AssertionError("the handshake did not finish")
        s = conn.new_stream()
        s.send(b"x")
        spin([lst, conn], lambda server=server: server.get_accept_stream_queue_len() > 0)
        peer = server.accept_stream()
        where = rng.choice(["client", "server", "stream", "peer-stream", "listener"])
        target = {"client": conn, "server": server, "stream": s, "peer-stream": peer, "listener": lst}[where]
        if rng.random() < 0.3:
            target.set_blocking_mode(True)   # blocked calls must end when another thread closes
        streams = [s, peer]
        stop = time.monotonic() + rng.uniform(0.1, 0.4)
        seeds = [rng.random() for _ in range(rng.randint(2, 4))]
        closer = rng.randrange(len(seeds))
        errors = []

        def worker(seed, index, target=target, stop=stop, streams=streams, closer=closer, errors=errors,
                   conn=conn, lst=lst):
            local = random.Random(seed)
            try:
                while time.monotonic() < stop:
                    if isinstance(target, SSL.Stream):
                        ops = stream_ops(local, target)
                    elif isinstance(target, SSL.Listener):
                        ops = [lambda: target.accept_connection(block=local.random() < 0.5),
                               lambda: target.get_accept_connection_queue_len(), lambda: target.get_event_timeout(),
                               lambda: conn.handle_events(), lambda: target.close()]
                    else:
                        ops = conn_ops(local, target, streams)
                    ops += [lambda: lst.handle_events(),
                            lambda: SSL.poll([(target, SSL.POLL_EVENT_R), (lst, SSL.POLL_EVENT_IC)],
                                             local.choice([0, 0.01, 0.05]))]
                    op = local.choice(ops)
                    if isinstance(target, SSL.Listener) or attempt(target.get_blocking_mode):
                        with Watchdog(target, 1.0):   # a blocked call ends when it closes
                            attempt(op)
                    else:
                        attempt(op)
                    if index == closer and local.random() < 0.02:
                        attempt(target.close)
                    if local.random() < 0.05:
                        attempt(local.choice(streams).send, b"y" * 100)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        workers = [threading.Thread(target=worker, args=(seed, i)) for i, seed in enumerate(seeds)]
        for w in workers:
            w.start()
        if rng.random() < 0.5:
            time.sleep(rng.uniform(0, 0.1))
            attempt(target.close)
        for w in workers:
            w.join(30)
            assert not w.is_alive(), f"a worker thread hung on the {where}"
        assert not errors, errors
        for obj in rng.sample([conn, server, s, peer], 4):
            attempt(obj.close)
        csock.close()
        conn = server = s = peer = target = None
        streams.clear()
        workers.clear()
        gc.collect()
    # the listener still serves (unless it was the target and got closed: then a new one must)
    if lst.closed:
        lsock.close()
        lst, lsock = new_listener()
        port = lsock.getsockname()[1]
    conn, csock, server = connect(lst, port)
    assert server is not None, "the listener stopped serving"
    conn.close()
    lst.close()
    lsock.close()
    csock.close()


# --- quic_callbacks -----------------------------------------------------------------------------


CALLBACKS = ["alpn", "sni", "keylog", "info", "client-keylog", "client-info", "client-verify"]
ACTIONS = ["close", "reenter", "raise", "read", "close-and-raise", "listener-close", "collect"]


def _reenter_calls(conn, lst):
    calls = [
        ("handle_events", conn.handle_events),
        ("get_event_timeout", conn.get_event_timeout),
        ("new_stream", lambda: conn.new_stream(block=False)),
        ("accept_stream", lambda: conn.accept_stream(block=False)),
        ("poll", lambda: SSL.poll([(conn, SSL.POLL_EVENT_R)], 0)),
        ("close", conn.close),
    ]
    if lst is not None:
        calls += [("listener.close", lst.close), ("listener.handle_events", lst.handle_events),
                  ("accept_connection", lambda: lst.accept_connection(block=False))]
    return calls


def callbacks(rng):
    """Callbacks of a QUIC server (and client) that close, re-enter the engine or raise: a clear
    error each time, then a fresh client still connects (unless the listener was closed)."""
    for _ in range(rng.randint(4, 8)):
        kind = rng.choice(CALLBACKS)
        action = rng.choice(ACTIONS)
        budget = [rng.randint(1, 3)]
        holder = {}
        problems = []

        def body(conn, action=action, budget=budget, holder=holder, problems=problems, kind=kind):
            if budget[0] <= 0:
                return
            budget[0] -= 1
            lst = holder.get("lst") if not kind.startswith("client") else None
            if action == "close":
                _must_refuse(problems, "close", conn.close)
            elif action == "reenter":
                for name, call in rng.sample(_reenter_calls(conn, holder.get("lst")), 3):
                    _must_refuse(problems, name, call)
            elif action == "raise":
                raise Boom("from the callback")
            elif action == "read":
                conn.get_servername(), conn.get_cipher_name(), conn.get_alpn_proto_negotiated()
            elif action == "close-and-raise":
                _must_refuse(problems, "close", conn.close)
                raise Boom("closed, then raised")
            elif action == "listener-close":
                if lst is not None:
                    _must_refuse(problems, "listener.close", lst.close)
            else:
                holder.setdefault("junk", []).append(new_listener())
                holder["junk"].pop()   # a QUIC object freed inside the callback: deferred
                gc.collect()

        sctx = server_context()
        cctx = client_context(thread=rng.random() < 0.3)
        if kind == "alpn":
            sctx.set_alpn_select_callback(lambda conn, offered: body(conn) or ALPN)
        elif kind == "sni":
            sctx.set_tlsext_servername_callback(lambda conn: body(conn))
        elif kind == "keylog":
            sctx.set_keylog_callback(lambda conn, line: body(conn))
        elif kind == "info":
            sctx.set_info_callback(lambda conn, where, ret: body(conn))
        elif kind == "client-keylog":
            cctx.set_keylog_callback(lambda conn, line: body(conn))
        elif kind == "client-info":
            cctx.set_info_callback(lambda conn, where, ret: body(conn))
        else:
            cctx.set_verify(SSL.VERIFY_PEER, lambda conn, cert, err, depth, ok: body(conn) or bool(ok))
        lst, lsock = new_listener(sctx)
        holder["lst"] = lst
        port = lsock.getsockname()[1]
        conn, csock, server = connect(lst, port, ctx=cctx, timeout=2.0)
        for obj in rng.sample([x for x in (conn, server) if x is not None], 1 if server is None else 2):
            for _ in range(3):
                attempt(rng.choice(conn_ops(rng, obj, [])))
        assert not problems, f"{kind}/{action}: {problems}"
        budget[0] = 0   # quiet now: a fresh client must connect
        conn2, csock2, server2 = connect(lst, port, ctx=cctx, timeout=5.0)
        if lst.closed:
            assert server2 is None
        else:
            assert server2 is not None, f"{kind}/{action}: the listener stopped serving"
            s = conn2.new_stream()
            s.send(b"ping")
            spin([lst, conn2], lambda server2=server2: server2.get_accept_stream_queue_len() > 0)
            assert server2.accept_stream().recv(10) == b"ping"
        for obj in rng.sample([conn, server, conn2, server2, lst], 5):
            if obj is not None and rng.random() < 0.6:
                attempt(obj.close)
        csock.close()
        csock2.close()
        lsock.close()
        conn = server = conn2 = server2 = lst = None
        holder.clear()
        if rng.random() < 0.5:
            gc.collect()
    gc.collect()


def _must_refuse(problems, name, call):
    """An engine call from inside a callback must raise a clear SSL.Error, not run (or deadlock)."""
    try:
        call()
    except SSL.Error as exc:
        if not any(clear in str(exc) for clear in (IN_CALLBACK, "own callback", "closed")):
            problems.append(f"{name}: unclear {exc!r}")
    else:
        problems.append(f"{name}: returned inside a callback")


# --- quic_aio_cancel ----------------------------------------------------------------------------


async def _aio_cancellations(rng):
    import asyncio

    from asyncssl import aio

    loop = asyncio.get_running_loop()
    handler_tasks = []

    async def stream_handler(reader, writer):
        handler_tasks.append(asyncio.current_task())
        data = await reader.read(100)
        if data == b"wait":
            await asyncio.sleep(30)
        writer.write(data)
        await writer.drain()
        writer.write_eof()
        await reader.read()   # until the peer's FIN
        writer.close()
        await writer.wait_closed()

    async def connection_handler(qconn):
        handler_tasks.append(asyncio.current_task())
        r, w = await qconn.open_stream()   # the client may accept it
        w.write(b"from-server")
        await w.drain()
        w.write_eof()

    server = await aio.quic_serve("127.0.0.1", 0, context=server_context(), alpn=[ALPN],
                                  stream_handler=stream_handler, connection_handler=connection_handler)
    port = server.sockets[0].getsockname()[1]
    cctx = client_context()

    async def connect_():
        return await aio.quic_connect("127.0.0.1", port, alpn=[ALPN], context=cctx, server_hostname="localhost")

    async def echo(qconn, payload=b"ping"):
        r, w = await qconn.open_stream()
        w.write(payload)
        w.write_eof()
        await w.drain()
        data = await r.read()
        w.close()
        await w.wait_closed()
        return data

    async def step(what, aw, timeout=5):
        try:
            return await asyncio.wait_for(aw, timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"the server no longer serves a fresh client: {what} hung") from None

    async def fresh_client():
        qconn = await step("quic_connect", connect_())
        try:
            assert await step("a stream's echo", echo(qconn)) == b"ping"
            r, w = await step("accept_stream (the connection_handler's stream)", qconn.accept_stream())
            assert await step("reading the connection_handler's stream", r.read()) == b"from-server"
        finally:
            qconn.close()
            await step("wait_closed", qconn.wait_closed())

    # --- what gets cancelled: each a coroutine factory (setup done outside the cancelled task)
    shared = {}

    async def setup_conn():
        if shared.get("conn") is None or shared["conn"]._closed.done() or shared["conn"]._closing:
            shared["conn"] = await connect_()
        return shared["conn"]

    async def target_connect():
        qconn = await connect_()
        qconn.close()
        await qconn.wait_closed()

    async def target_open_stream(qconn):
        r, w = await qconn.open_stream()
        w.close()

    async def target_accept_stream(qconn):
        await qconn.accept_stream()

    async def target_read(qconn, how):
        r, w = await qconn.open_stream()
        w.write(b"wait" if how == "wait_closed" else b"echo!")
        if how == "read":
            await r.read(3)
        elif how == "readexactly":
            await r.readexactly(5)
        elif how == "drain":
            w.write(b"z" * 2_000_000)   # above the write-buffer limit: drain waits
            await w.drain()
        else:
            w.close()
            await w.wait_closed()

    async def target_echo(qconn):
        assert await echo(qconn, b"whole") == b"whole"

    async def target_async_with():
        async with aio.quic_connect("127.0.0.1", port, alpn=[ALPN], context=cctx,
                                    server_hostname="localhost") as qconn:
            assert await echo(qconn, b"with") == b"with"

    async def target_connection_handler():
        qconn = await connect_()
        try:
            r, w = await qconn.accept_stream()
            assert await r.read() == b"from-server"
        finally:
            qconn.close()

    targets = [
        ("quic_connect", None, lambda c: target_connect()),
        ("open_stream", setup_conn, target_open_stream),
        ("accept_stream", setup_conn, target_accept_stream),
        ("read", setup_conn, lambda c: target_read(c, "read")),
        ("readexactly", setup_conn, lambda c: target_read(c, "readexactly")),
        ("drain", setup_conn, lambda c: target_read(c, "drain")),
        ("wait_closed", setup_conn, lambda c: target_read(c, "wait_closed")),
        ("handler", setup_conn, target_echo),   # while the server's handlers run: cancel those
        ("connection_handler", None, lambda c: target_connection_handler()),
        ("async_with", None, lambda c: target_async_with()),
    ]
    rng.shuffle(targets)
    for name, setup, make in targets:
        k = 0
        finished = 0
        # k loop iterations before the cancel, until the operation twice ended by itself first;
        # past ZERO_STEPS, each step also lets 2 ms more pass (timers: retransmits, closes)
        while finished < 2 and k < MAX_STEPS:
            qconn = await setup() if setup else None
            task = loop.create_task(make(qconn))
            before = len(handler_tasks)
            for _ in range(min(k, ZERO_STEPS)):
                await asyncio.sleep(0)
            if k > ZERO_STEPS:
                await asyncio.sleep(0.002 * (k - ZERO_STEPS))
            if name in ("handler", "connection_handler"):
                for t in handler_tasks[before:]:
                    t.cancel()
            if task.done():
                finished += 1
            task.cancel()
            try:
                await asyncio.wait_for(task, 10)
            except (asyncio.CancelledError, ConnectionError, SSL.Error, EOFError, asyncio.IncompleteReadError,
                    RuntimeError):
                pass
            except asyncio.TimeoutError:
                raise AssertionError(f"{name}: cancelled at step {k}, never ended") from None
            if rng.random() < 0.2:
                gc.collect()
            if rng.random() < 0.1 and shared.get("conn") is not None:
                shared["conn"].close()   # a fresh connection for the next step
            k += 1
        print(name, "steps", k)
        qconn = shared.get("conn")
        if qconn is not None and not qconn._closing and not qconn._closed.done():
            # the cancellations left the connection usable
            assert await step(f"an echo on the connection after the {name} cancels", echo(qconn)) == b"ping"
        del qconn
        assert finished == 2, f"{name} never completed within {k} steps"

    if shared.get("conn") is not None:
        shared["conn"].close()
        await shared["conn"].wait_closed()
    gc.collect()
    await fresh_client()   # the server still serves

    # random-time cancels of whole clients
    async def random_client():
        qconn = await connect_()
        try:
            for _ in range(rng.randint(1, 3)):
                await echo(qconn, b"r" * rng.randint(1, 5000))
        finally:
            qconn.close()
            await qconn.wait_closed()

    tasks = [loop.create_task(random_client()) for _ in range(rng.randint(3, 8))]
    for task in tasks:
        loop.call_later(rng.uniform(0, 0.05), task.cancel)
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)
    gc.collect()
    await fresh_client()

    server.close()
    await asyncio.wait_for(server.wait_closed(), 10)

    # server.close()/wait_closed() while connections handshake, k loop iterations after they started
    for k in sorted(rng.sample(range(12), 3)):
        server = await aio.quic_serve("127.0.0.1", 0, context=server_context(), alpn=[ALPN],
                                      stream_handler=stream_handler, connection_handler=connection_handler)
        port = server.sockets[0].getsockname()[1]
        tasks = [loop.create_task(random_client()) for _ in range(rng.randint(2, 5))]
        for _ in range(k):
            await asyncio.sleep(0)
        server.close()
        await asyncio.wait_for(server.wait_closed(), 10)
        for task in tasks:
            loop.call_later(rng.uniform(0, 0.3), task.cancel)   # a client of a closed server waits for its timeout
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)
        tasks.clear()
        gc.collect()
    handler_tasks.clear()
    gc.collect()


def aio_cancel(rng):
    """asyncio cancellation at every await of the QUIC adapter (client and server handlers)."""
    import asyncio

    asyncio.run(asyncio.wait_for(_aio_cancellations(rng), 100))
    gc.collect()


SCENARIOS = {"quic_lifetimes": lifetimes, "quic_threads": threads, "quic_callbacks": callbacks,
             "quic_aio_cancel": aio_cancel}


def run(name: str, seed: int) -> None:
    SCENARIOS[name](random.Random(seed))
    print(f"{name} {seed} ok")
