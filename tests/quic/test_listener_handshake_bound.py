"""``SSL.Listener(max_handshaking=)``: the bound on half-open connections a non-blocking
accept hands out. Real OpenSSL on both sides over 127.0.0.1; the clients are driven by
hand so that the first handshake stays open while the second arrives."""

from __future__ import annotations

import time

import pytest

from asyncssl import SSL

pytestmark = pytest.mark.requires("quic_server")


def _pump(listener, clients, until, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "condition not reached"
        listener.handle_events()
        for c in clients:
            c.handle_events()
        time.sleep(0.002)


def _start(conn):
    try:
        conn.do_handshake()
    except SSL.WantReadError:
        pass


def test_a_connection_beyond_max_handshaking_is_refused_and_later_ones_are_served(
        server_context, connect_client, udp_socket):
    sock = udp_socket(blocking=False)
    port = sock.getsockname()[1]
    listener = SSL.Listener(server_context(), sock, validate_address=False, max_handshaking=1)
    try:
        first = connect_client(port, blocking=False, handshake=False)
        _start(first)
        accepted = []
        # Only the listener runs: the first client never gets to send its Finished.
        _pump(listener, [], lambda: accepted.append(listener.accept_connection(block=False)) or accepted[-1])
        held = accepted[-1]
        assert not held.get_conn_close_info()
        second = connect_client(port, blocking=False, handshake=False)
        _start(second)
        got = []
        _pump(listener, [second], lambda: listener.refused_handshakes == 1 or got.append(
            listener.accept_connection(block=False)) or False)
        assert [c for c in got if c is not None] == []
        _pump(listener, [second], lambda: second.get_conn_close_info() is not None)
        info = second.get_conn_close_info()
        # Closed by the server during its handshake: an application close is sent there as a
        # transport APPLICATION_ERROR (0x0c) that hides the code (RFC 9000 10.2.3).
        assert info.error_code == 0x0C and info.is_transport and not info.is_local
        # The held handshake completes; then a new client is served again.
        _pump(listener, [first], lambda: _done(first))
        third = connect_client(port, blocking=False, handshake=False)
        _start(third)
        fresh = []
        _pump(listener, [first, third], lambda: fresh.append(listener.accept_connection(block=False)) or fresh[-1])
        _pump(listener, [third], lambda: _done(third))
        assert listener.refused_handshakes == 1
    finally:
        listener.close()


def _done(conn):
    try:
        conn.do_handshake()
        return True
    except SSL.WantReadError:
        return False


@pytest.mark.parametrize("bound", [0, -1, 1.5, True])
def test_bad_max_handshaking_is_a_clear_error(server_context, udp_socket, bound):
    with pytest.raises(ValueError, match="max_handshaking"):
        SSL.Listener(server_context(), udp_socket(blocking=False), max_handshaking=bound)
