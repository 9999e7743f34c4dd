"""Connection.recv_available / send_available: all a non-blocking socket allows in one call."""

from __future__ import annotations

import hashlib
import os
import select
import socket

import pytest
from helpers.kit import client_context, server_context

from asyncssl import SSL


def _socket_pair(*, small_buffers: bool = False):
    """(client, server) Connections on a connected non-blocking socket pair, handshake done."""
    a, b = socket.socketpair()
    for s in (a, b):
        if small_buffers:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.setblocking(False)
    client, server = SSL.Connection(client_context(), a), SSL.Connection(server_context(), b)
    client.set_connect_state()
    server.set_accept_state()
    done = set()
    for _ in range(100):
        for conn in (client, server):
            if conn in done:
                continue
            try:
                conn.do_handshake()
                done.add(conn)
            except SSL.WantReadError:
                pass
        if len(done) == 2:
            return client, server, (a, b)
        select.select([a, b], [], [], 1)
    raise AssertionError("no handshake")


def _readable(sock) -> None:
    assert select.select([sock], [], [], 5)[0], "nothing came"


def test_nothing_yet_is_empty_not_an_exception():
    client, server, _ = _socket_pair()
    assert server.recv_available() == b""
    assert server.recv_available_into(bytearray(10)) == 0


def test_one_call_reads_every_record_that_arrived():
    client, server, (_a, b) = _socket_pair()
    server.set_read_ahead(True)
    for i in range(20):
        client.sendall(b"%02d" % i * 50)   # 20 records of 100 bytes
    _readable(b)
    data = b""
    while len(data) < 2000:
        data += server.recv_available()
        if len(data) < 2000:
            _readable(b)
    assert data == b"".join(b"%02d" % i * 50 for i in range(20))


def test_a_full_buffer_says_more_may_be_there():
    client, server, (_a, b) = _socket_pair()
    client.sendall(b"z" * 1000)
    _readable(b)
    first = server.recv_available(100)
    assert first == b"z" * 100   # len == bufsiz: call again without waiting
    rest = bytearray(2000)
    n = server.recv_available_into(rest)
    assert n == 900 and rest[:n] == b"z" * 900


def test_send_available_takes_what_fits_and_the_rest_follows_intact():
    client, server, (a, b) = _socket_pair(small_buffers=True)
    payload = os.urandom(2 << 20)
    pending = memoryview(payload)
    got = bytearray()
    partial_seen = False
    for _ in range(100_000):
        if pending:
            n = client.send_available(bytes(pending))   # a new buffer object each retry
            partial_seen |= n < len(pending)
            pending = pending[n:]
        got += server.recv_available()
        if not pending and len(got) == len(payload):
            break
        select.select([b], [a] if pending else [], [], 1)
    assert partial_seen, "the socket never filled up: the test did not test a partial write"
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()


def test_the_peers_close_after_data_comes_after_the_data():
    client, server, (_a, b) = _socket_pair()
    client.sendall(b"last words")
    client.shutdown()   # close_notify right behind the data
    _readable(b)
    data = server.recv_available()
    while not data:
        _readable(b)
        data = server.recv_available()
    assert data == b"last words"
    if server.failure_pending:   # both came in one read: the close is raised by the next call
        with pytest.raises(SSL.ZeroReturnError):
            server.recv_available()
    else:
        _readable(b)
        with pytest.raises(SSL.ZeroReturnError):
            server.recv_available()
    assert not server.failure_pending


def test_a_write_to_a_dead_peer_is_a_syscall_error():
    client, server, (a, b) = _socket_pair()
    server.close()
    b.close()
    with pytest.raises(SSL.SysCallError):
        for _ in range(100):
            client.send_available(b"x" * 65536)


def test_refused_under_mode_async_with_what_to_use_instead():
    a, b = socket.socketpair()
    with a, b:
        conn = SSL.Connection(client_context(async_mode=True), a)
        conn.set_connect_state()
        for call in (conn.recv_available, lambda: conn.recv_available_into(bytearray(8)),
                     lambda: conn.send_available(b"x")):
            with pytest.raises(SSL.Error, match="not available under SSL_MODE_ASYNC"):
                call()


def test_bad_arguments_are_clear():
    client, server, _ = _socket_pair()
    with pytest.raises(TypeError):
        server.recv_available_into(b"read-only")
    with pytest.raises(TypeError):
        client.send_available("text")
    with pytest.raises((TypeError, ValueError)):
        server.recv_available(-1)
