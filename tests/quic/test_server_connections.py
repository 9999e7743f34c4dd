"""Connections accepted from a Listener behave like any Connection (same attributes inside)."""

from __future__ import annotations

import time

from asyncssl import SSL


def test_default_stream_io_on_an_accepted_connection(server_context, connect_client, udp_socket):
    # Accepted connections are created by OpenSSL, not by Connection(); a regression here
    # once left them without an attribute every recv/send reads.
    sock = udp_socket(blocking=False)
    listener = SSL.Listener(server_context(), sock)
    client = connect_client(sock.getsockname()[1], blocking=False, handshake=False)
    accepted = None
    deadline = time.monotonic() + 10
    sent = False
    while time.monotonic() < deadline:
        listener.handle_events()
        accepted = accepted or listener.accept_connection(block=False)
        if not sent:
            try:
                client.send(b"to the default stream")
                sent = True
            except SSL.WantReadError:
                pass  # handshake still running
        if accepted is not None:
            try:
                got = accepted.recv(100)
                break
            except SSL.WantReadError:
                pass
        time.sleep(0.002)
    else:
        raise AssertionError("no data reached the accepted connection's default stream")
    assert got == b"to the default stream"
    accepted.send(b"and back")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            assert client.recv(100) == b"and back"
            break
        except SSL.WantReadError:
            listener.handle_events()
            time.sleep(0.002)
    else:
        raise AssertionError("the reply never reached the client")
    accepted.close()
    listener.close()

