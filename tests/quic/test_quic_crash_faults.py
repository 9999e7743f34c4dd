"""Issue 10's QUIC faults, each in a child interpreter (they used to crash or hang it)."""

from __future__ import annotations

import sys

import pytest
from crashkit import assert_ok, run_scenario

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and fork")


def test_quic_fault3_pending_connection_outlives_listener():
    """A server connection stored from the ALPN callback before accept is owned: after
    Listener.close() it raises a clear Error, close() works, nothing reads freed memory."""
    proc = run_scenario("""
        import gc, crashkit
        from asyncssl import SSL
        seen = []
        def alpn(conn, offered):
            seen.append(conn)
            return crashkit.ALPN
        lst, server, conn, socks = crashkit.connected_pair(server_ctx=crashkit.server_context(alpn))
        c2, s2 = crashkit.client(socks[0].getsockname()[1])
        crashkit.pump([lst, c2], lambda: crashkit._done(c2) or len(seen) >= 2)
        lst.close()
        for c in seen:
            try:
                c.get_event_timeout()
            except SSL.Error as e:
                print("Error:", e)
            c.close()
        del lst, server, seen
        gc.collect()
        print("done")
    """)
    assert_ok(proc, "Error: this QUIC connection is closed (its listener was closed)", "done")


def test_quic_fault3_pending_connection_dropped_by_listener_gc():
    proc = run_scenario("""
        import gc, crashkit
        seen = []
        def alpn(conn, offered):
            seen.append(conn)
            return crashkit.ALPN
        lst, server, conn, socks = crashkit.connected_pair(server_ctx=crashkit.server_context(alpn))
        del lst, server
        gc.collect()
        conn.close()
        print(seen[0].closed)
        seen.clear()
        gc.collect()
        print("done")
    """)
    assert_ok(proc, "done")


def test_quic_fault4_engine_calls_inside_alpn_callback_raise():
    proc = run_scenario("""
        import gc, crashkit
        from asyncssl import SSL
        results = []
        holder = {}
        def alpn(conn, offered):
            lst = holder["lst"]
            for name, call in [("get_event_timeout", conn.get_event_timeout), ("handle_events", conn.handle_events),
                               ("close", conn.close), ("poll", lambda: SSL.poll([(conn, SSL.POLL_EVENT_R)], 0)),
                               ("new_stream", conn.new_stream), ("listener.close", lst.close)]:
                try:
                    call()
                    results.append(name + ": returned")
                except SSL.Error as e:
                    results.append(name + ": " + ("clear" if "inside an OpenSSL callback" in str(e) else str(e)))
            gc.collect()   # frees of QUIC objects in here are deferred, not deadlocked
            return crashkit.ALPN
        lst, lsock = crashkit.listener(crashkit.server_context(alpn))
        holder["lst"] = lst
        conn, csock = crashkit.client(lsock.getsockname()[1])
        acc = []
        def step():
            d = crashkit._done(conn)
            c = lst.accept_connection(block=False)
            if c: acc.append(c)
            return d and acc
        crashkit.pump([lst, conn], step)
        print("\\n".join(results))
        s = conn.new_stream(); s.send(b"hi")
        crashkit.pump([lst, conn], lambda: acc[0].get_accept_stream_queue_len() > 0)
        print(acc[0].accept_stream().recv(10))
    """)
    assert_ok(proc, *[f"{n}: clear" for n in ("get_event_timeout", "handle_events", "close", "poll",
                                             "new_stream", "listener.close")], "b'hi'")


def test_quic_fault4_io_on_another_connection_inside_a_callback_raises():
    """Default-stream and stream I/O on another connection of the same listener, from the ALPN
    callback of a new handshake: each took the engine lock OpenSSL already held (a deadlock)."""
    proc = run_scenario("""
        import crashkit
        from asyncssl import SSL
        results = []
        holder = {}
        def alpn(conn, offered):
            other, stream = holder.get("server"), holder.get("stream")
            if other is not None:
                for name, call in [("send", lambda: other.send(b"x")), ("recv", lambda: other.recv(10)),
                                   ("sendall", lambda: other.sendall(b"x")),
                                   ("recv_into", lambda: other.recv_into(bytearray(10))),
                                   ("pending", other.pending), ("do_handshake", other.do_handshake),
                                   ("stream.send", lambda: stream.send(b"x")),
                                   ("stream.recv", lambda: stream.recv(10))]:
                    try:
                        call()
                        results.append(name + ": returned")
                    except SSL.Error as e:
                        results.append(name + ": " + ("clear" if "inside an OpenSSL callback" in str(e) else str(e)))
            return crashkit.ALPN
        lst, server, conn, socks = crashkit.connected_pair(server_ctx=crashkit.server_context(alpn))
        s = conn.new_stream(); s.send(b"x")
        crashkit.pump([lst, conn], lambda: server.get_accept_stream_queue_len() > 0)
        holder["server"], holder["stream"] = server, server.accept_stream()
        conn2, s2 = crashkit.client(socks[0].getsockname()[1])
        crashkit.pump([lst, conn2], lambda: crashkit._done(conn2) or bool(results))
        print("\\n".join(results))
        print(holder["stream"].recv(10))   # usable again once the callback returned
    """)
    assert_ok(proc, *[f"{n}: clear" for n in ("send", "recv", "sendall", "recv_into", "pending", "do_handshake",
                                             "stream.send", "stream.recv")], "b'x'")


@pytest.mark.parametrize("where", ["stream", "default_stream"])
def test_quic_fault8_close_while_another_thread_blocks_in_recv(where):
    proc = run_scenario(f"""
        import threading, time, crashkit
        from asyncssl import SSL
        lst, server, conn, socks = crashkit.connected_pair()
        if "{where}" == "stream":
            s = conn.new_stream(); s.send(b"x")
            crashkit.pump([lst, conn], lambda: server.get_accept_stream_queue_len() > 0)
            server.accept_stream()
            s.set_blocking_mode(True)
            target = s
        else:
            conn.set_blocking_mode(True)
            target = conn
        out = []
        def reader():
            try:
                out.append(target.recv(10))
            except SSL.Error as e:
                out.append("Error")
        t = threading.Thread(target=reader); t.start()
        time.sleep(0.3)
        conn.close()
        t.join(10)
        print("ended" if not t.is_alive() else "still blocked", out)
    """)
    assert_ok(proc, "ended ['Error']")


def test_quic_fault10_12_stream_argument_checks_and_buffer_release():
    proc = run_scenario("""
        import gc, crashkit
        from asyncssl import SSL
        lst, server, conn, socks = crashkit.connected_pair()
        s = conn.new_stream()
        for call in (lambda: s.recv("5"), lambda: s.recv_into(bytearray(4), -5), lambda: s.recv(-1)):
            try:
                call()
            except (TypeError, ValueError) as e:
                print(type(e).__name__, e)
        s.reset(7)
        def fail():
            try:
                s.send(memoryview(bytearray(b"A" * 3000)))
            except SSL.Error as e:
                e.me = e   # exception, traceback and the view in one cycle
                return e
        for _ in range(50):
            fail()
        gc.collect()
        print("done")
    """)
    assert_ok(proc, "TypeError bufsiz must be an integer, not str", "ValueError nbytes must not be negative",
              "ValueError bufsiz must not be negative", "done")


@pytest.mark.parametrize("blocking", [True, False])
def test_quic_fault11_closed_socket_with_reused_fd(blocking):
    proc = run_scenario(f"""
        import socket, crashkit
        from asyncssl import SSL
        lst, server, conn, (lsock, csock) = crashkit.connected_pair()
        s = conn.new_stream()
        s.send(b"hello")
        crashkit.pump([lst, conn], lambda: server.get_accept_stream_queue_len() > 0)
        num = csock.fileno()
        csock.close()
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.bind(("127.0.0.1", 0))
        other.setblocking({blocking})
        assert other.fileno() == num
        try:
            s.send(b"x" * 100)
        except SSL.Error as e:
            print("clear" if "UDP socket" in str(e) and "closed" in str(e) else e)
        other.setblocking(False)
        try:
            print(other.recv(2000))
        except BlockingIOError:
            print("nothing on the unrelated socket")
        conn.close()
    """)
    assert_ok(proc, "clear", "nothing on the unrelated socket")


@pytest.mark.parametrize("call", ["stream.recv", "accept_stream", "accept_connection", "poll"])
def test_quic_ctrl_c_interrupts_blocking_calls(call):
    proc = run_scenario(f"""
        import os, signal, threading, crashkit
        from asyncssl import SSL
        # A child started from a background job inherits SIGINT ignored (POSIX shells do
        # that), and Python then installs no KeyboardInterrupt handler: install it.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        lst, server, conn, socks = crashkit.connected_pair()
        s = conn.new_stream(); s.send(b"x")
        crashkit.pump([lst, conn], lambda: server.get_accept_stream_queue_len() > 0)
        server.accept_stream()
        conn.set_blocking_mode(True)
        s.set_blocking_mode(True)
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            if "{call}" == "stream.recv":
                s.recv(10)
            elif "{call}" == "accept_stream":
                conn.accept_stream(block=True)
            elif "{call}" == "accept_connection":
                lst.accept_connection(block=True)
            else:
                SSL.poll([(s, SSL.POLL_EVENT_R)], timeout=30)
            print("returned")
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
    """, timeout=20)
    assert_ok(proc, "KeyboardInterrupt")


def test_quic_fork_with_thread_assisted_connection():
    proc = run_scenario("""
        import os, crashkit
        lst, server, conn, socks = crashkit.connected_pair(thread=True)
        s = conn.new_stream(); s.send(b"x")
        pid = os.fork()
        if pid == 0:
            # the child drops what it inherited and exits normally
            del s, conn
            import gc; gc.collect()
            os._exit(7)
        _, status = os.waitpid(pid, 0)
        print("child", os.WIFEXITED(status) and os.WEXITSTATUS(status))
        pid = os.fork()
        if pid == 0:
            raise SystemExit(3)   # a normal interpreter exit with everything alive
        _, status = os.waitpid(pid, 0)
        print("child2", os.WIFEXITED(status) and os.WEXITSTATUS(status))
        conn.close()
    """)
    assert_ok(proc, "child 7", "child2 3")
