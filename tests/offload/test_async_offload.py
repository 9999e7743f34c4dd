"""SSL_MODE_ASYNC on Context/Connection with the simulated accelerator (server handshakes over memory BIOs)."""

from __future__ import annotations

import os
import select
import threading
import time

import pytest
import trustme
from helpers.memory import pump
from helpers.offload import accelerated, complete_handshake, wait_readable

import asyncssl
from asyncssl import SSL, testing
from asyncssl.offload.mode_async import reap_abandoned_connections

pytestmark = pytest.mark.skipif(not asyncssl.is_async_capable(), reason="ASYNC_is_capable() is 0 here")


@pytest.fixture(scope="module")
def pem_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("offload-certs")
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost")
    leaf.private_key_pem.write_to_path(str(d / "key.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(d / "cert.pem"))
    return d


def server_context(libctx, pem_files):
    ctx = SSL.Context(SSL.TLS_METHOD, libctx=libctx)
    ctx.use_certificate_file(str(pem_files / "cert.pem"))
    ctx.use_privatekey_file(str(pem_files / "key.pem"))
    ctx.set_mode(SSL.MODE_ASYNC)
    return ctx


def pair(sctx):
    server = SSL.Connection(sctx, None)
    server.set_accept_state()
    client = SSL.Connection(SSL.Context(SSL.TLS_METHOD), None)
    client.set_connect_state()
    return client, server


def run_until_async(client, server):
    """Drive the handshake until the server raises WantAsyncError (the signature is offloaded)."""
    for _ in range(20):
        try:
            client.do_handshake()
        except SSL.WantReadError:
            pass
        pump(client, server, module=SSL)
        try:
            server.do_handshake()
        except SSL.WantReadError:
            pump(client, server, module=SSL)
            continue
        except SSL.WantAsyncError:
            return
    raise AssertionError("the server never raised WantAsyncError")


def finish(client, server, wait):
    """Complete the handshake, calling wait(conn) after each WantAsyncError."""
    complete_handshake(client, server, wait)


def test_handshake_pauses_exposes_readable_fds_and_completes(pem_files):
    with accelerated(latency=0.02) as libctx:
        client, server = pair(server_context(libctx, pem_files))
        assert server.get_async_status() is asyncssl.AsyncStatus.UNSUPPORTED  # no job yet
        assert server.get_all_async_fds() == []
        run_until_async(client, server)
        assert server.waiting_for_async()
        fds = server.get_all_async_fds()
        assert len(fds) == 1
        assert server.get_changed_async_fds() == (fds, [])
        assert wait_readable(fds) == fds
        finish(client, server, lambda conn: wait_readable(conn.get_all_async_fds()))
        assert not server.waiting_for_async()
        assert server.get_async_status() is asyncssl.AsyncStatus.OK
        client.send(b"hello")
        pump(client, server, module=SSL)
        assert server.recv(100) == b"hello"


@pytest.mark.parametrize("where", ["context", "connection"])
def test_callback_style_completion(pem_files, where):
    with accelerated(latency=0.01) as libctx:
        sctx = server_context(libctx, pem_files)
        calls = []
        fired = threading.Event()

        def on_complete(conn):
            calls.append((conn, threading.get_ident(), conn.get_async_status()))
            fired.set()

        if where == "context":
            sctx.set_async_callback(on_complete)
        client, server = pair(sctx)
        if where == "connection":
            server.set_async_callback(on_complete)
        run_until_async(client, server)
        assert server.get_all_async_fds() == []  # the provider calls back instead

        def wait(conn):
            assert fired.wait(10)
            fired.clear()

        wait(server)
        finish(client, server, wait)
    assert calls and all(c[0] is server for c in calls)
    assert all(c[1] != threading.get_ident() for c in calls)  # the device's thread
    assert calls[0][2] is asyncssl.AsyncStatus.OK


def test_wakeup_fd_style_completion(pem_files):
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    try:
        with accelerated(latency=0.01) as libctx:
            client, server = pair(server_context(libctx, pem_files))
            server.set_async_wakeup_fd(w)

            def wait(conn):
                assert select.select([r], [], [], 10)[0] == [r]
                os.read(r, 64)

            run_until_async(client, server)
            wait(server)
            finish(client, server, wait)
            assert testing.simulated_accelerator_stats()["callback_notifications"] >= 1
    finally:
        os.close(r)
        os.close(w)


def test_injected_failure_fails_the_handshake_cleanly(pem_files):
    with accelerated(latency=0.001, fail_every=1) as libctx:
        client, server = pair(server_context(libctx, pem_files))
        run_until_async(client, server)
        wait_readable(server.get_all_async_fds())
        with pytest.raises(SSL.Error, match="injected failure") as info:
            server.do_handshake()
        assert not isinstance(info.value, SSL.WantError)
        assert server.get_async_status() is asyncssl.AsyncStatus.ERR
        assert not server.waiting_for_async()
        with pytest.raises(SSL.Error):  # unusable, but no crash
            server.do_handshake()
        server.close()


def test_completion_settings_must_come_before_the_first_job(pem_files):
    with accelerated(latency=0.001) as libctx:
        sctx = server_context(libctx, pem_files)
        client, server = pair(sctx)
        with pytest.raises(SSL.Error, match="before creating Connections"):
            sctx.set_async_callback(lambda conn: None)
        run_until_async(client, server)
        with pytest.raises(SSL.Error, match="before the first I/O call"):
            server.set_async_callback(lambda conn: None)
        with pytest.raises(SSL.Error, match="before the first I/O call"):
            server.set_async_wakeup_fd(1)
        with pytest.raises(TypeError):
            SSL.Connection(sctx, None).set_async_callback("not callable")
        finish(client, server, lambda conn: wait_readable(conn.get_all_async_fds()))


def test_a_different_call_after_want_async_is_refused(pem_files):
    with accelerated(latency=0.01) as libctx:
        client, server = pair(server_context(libctx, pem_files))
        run_until_async(client, server)
        with pytest.raises(SSL.Error, match=r"recv\(\) called while an async job started by do_handshake\(\)"):
            server.recv(10)
        with pytest.raises(SSL.Error, match="paused"):
            server.send(b"x")
        finish(client, server, lambda conn: wait_readable(conn.get_all_async_fds()))
        client.send(b"ok")
        pump(client, server, module=SSL)
        assert server.recv(10) == b"ok"  # the guard is lifted once the job finished


def test_dropping_a_connection_with_a_paused_job_parks_then_frees_it(pem_files):
    with accelerated(latency=0.02) as libctx:
        client, server = pair(server_context(libctx, pem_files))
        run_until_async(client, server)
        fds = server.get_all_async_fds()
        del server  # must not free the SSL* under the paused job
        wait_readable(fds)
        assert reap_abandoned_connections() == 0  # resumed, finished, freed
        stats = testing.simulated_accelerator_stats()
    assert stats["operations"] == stats["completed"] == 1


def test_async_mode_is_refused_on_quic(caps):
    if not caps["quic_client"]:
        pytest.skip("no QUIC client in this OpenSSL")
    ctx = SSL.Context(SSL.QUIC_CLIENT_METHOD)
    with pytest.raises(SSL.Error, match="QUIC"):
        ctx.set_mode(SSL.MODE_ASYNC)


def test_python_callbacks_with_async_mode(pem_files, caps):
    with accelerated(latency=0.001) as libctx:
        sctx = server_context(libctx, pem_files)
        if not caps["async_stack_enlarge"]:
            # OpenSSL 3.0/3.1: job stacks are 32 KiB; Python must not run on them.
            with pytest.raises(SSL.Error, match="cannot be combined with MODE_ASYNC"):
                sctx.set_info_callback(lambda conn, where, ret: None)
            plain = SSL.Context(SSL.TLS_METHOD)
            plain.set_info_callback(lambda conn, where, ret: None)
            with pytest.raises(SSL.Error, match="OpenSSL >= 3.2"):
                plain.set_mode(SSL.MODE_ASYNC)
            return
        # 3.2+: the stacks are enlarged, so a Python callback inside the job is fine.
        seen = []
        sctx.set_info_callback(lambda conn, where, ret: seen.append(where))
        client, server = pair(sctx)
        finish(client, server, lambda conn: wait_readable(conn.get_all_async_fds()))
        assert seen


def test_async_callback_exception_is_reported_not_raised(pem_files, monkeypatch):
    reported = []
    monkeypatch.setattr("sys.unraisablehook", lambda u: reported.append(u.exc_value))
    with accelerated(latency=0.001) as libctx:
        sctx = server_context(libctx, pem_files)
        fired = threading.Event()

        def bad(conn):
            fired.set()
            raise RuntimeError("bad callback")

        sctx.set_async_callback(bad)
        client, server = pair(sctx)

        def wait(conn):
            assert fired.wait(10)
            fired.clear()

        finish(client, server, wait)
    assert reported and isinstance(reported[0], RuntimeError)


def test_closing_a_connection_with_a_paused_job_defers_the_free(pem_files):
    with accelerated(latency=0.02) as libctx:
        client, server = pair(server_context(libctx, pem_files))
        run_until_async(client, server)
        fds = server.get_all_async_fds()
        server.close()  # no error, and the SSL* stays alive under the paused job
        assert server.closed
        with pytest.raises(SSL.Error, match="closed"):
            server.recv(10)
        wait_readable(fds)
        assert reap_abandoned_connections() == 0  # resumed, finished, released
        stats = testing.simulated_accelerator_stats()
    assert stats["operations"] == stats["completed"] == 1


def test_completion_signals_arrive_while_this_thread_is_busy_in_other_calls(pem_files):
    # The device thread calls back (Python, needs the GIL) and writes the wakeup byte (C)
    # while the main thread is inside other OpenSSL calls: cffi releases the GIL around them.
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    try:
        with accelerated(latency=0.005) as libctx:
            fired = threading.Event()
            with_callback = server_context(libctx, pem_files)
            with_callback.set_async_callback(lambda conn: fired.set())
            client1, server1 = pair(with_callback)
            client2, server2 = pair(server_context(libctx, pem_files))
            server2.set_async_wakeup_fd(w)
            run_until_async(client1, server1)
            run_until_async(client2, server2)
            plain = server_context(None, pem_files)
            plain.clear_mode(SSL.MODE_ASYNC)
            busy_handshakes = 0
            deadline = time.monotonic() + 10
            while not (fired.is_set() and select.select([r], [], [], 0)[0]) and time.monotonic() < deadline:
                c, s = pair(plain)  # other TLS work on this thread, no offload
                finish(c, s, lambda conn: None)
                busy_handshakes += 1
            assert fired.is_set(), "the async callback never ran"
            assert select.select([r], [], [], 0)[0] == [r], "the wakeup fd never became readable"
            assert busy_handshakes >= 1
            finish(client1, server1, lambda conn: fired.wait(10))
            os.read(r, 64)
            finish(client2, server2, lambda conn: select.select([r], [], [], 10))
    finally:
        os.close(r)
        os.close(w)
