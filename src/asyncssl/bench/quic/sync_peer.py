"""The "asyncssl sync" contender: ``SSL.Connection`` / ``SSL.Listener`` / ``SSL.Stream``,
non-blocking, driven by ``select`` on the poll descriptors up to ``get_event_timeout()``.

This is the application-driven loop of openssl-quic(7), written against asyncssl's public
API only, and it mirrors ``asyncssl/bench/csrc/quic_bench_{client,server}.c`` call for call
(same write offers, same read size, same waits), so the ratio to C is the binding's cost.
"""

from __future__ import annotations

import select
import socket
import time
from typing import TYPE_CHECKING

from .common import ALPN, HOST, READ_SIZE, SERVER_NAME, Ready, Result, Window, pattern_block

if TYPE_CHECKING:
    from ...quic.listener import Listener
    from ...quic.stream import Stream
    from ...tls.connection import Connection


def wait_for_network(obj: Connection | Listener) -> None:
    """Sleep until `obj`'s socket or timer needs attention, then ``handle_events()``.

    A listener (or connection) has one descriptor pair and one timer for everything under
    it, so the server waits on its listener and the client on its connection.
    """
    timeout = obj.get_event_timeout()
    rlist = [obj.get_rpoll_descriptor()] if obj.net_read_desired() else []
    wlist = [obj.get_wpoll_descriptor()] if obj.net_write_desired() else []
    if rlist or wlist:
        select.select(rlist, wlist, [], timeout)
    elif timeout is not None:
        time.sleep(timeout)
    else:  # nothing can wake us: waiting would hang, so say so
        raise RuntimeError("the QUIC object wants neither the network nor a timer")
    obj.handle_events()


def client(port: int, cafile: str, total: int, chunk: int) -> Result:
    from ..._binding.errors import WantReadError, WantWriteError, ZeroReturnError
    from ...tls.connection import Connection
    from .common import asyncssl_client_context, openssl_version

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((HOST, port))  # connected: OpenSSL finds the peer address itself
    sock.setblocking(False)  # so the Connection starts in non-blocking mode
    conn = Connection(asyncssl_client_context(cafile), sock)
    conn.set_alpn_protos([ALPN])
    conn.set_tlsext_host_name(SERVER_NAME.encode())
    conn.set1_host(SERVER_NAME)
    conn.set_connect_state()
    while True:
        try:
            conn.do_handshake()
            break
        except (WantReadError, WantWriteError):
            wait_for_network(conn)
    while True:
        try:
            stream = conn.new_stream(block=False)
            break
        except WantReadError:  # the peer's stream limit: wait for credit
            wait_for_network(conn)

    view = memoryview(pattern_block(chunk))
    window = Window()
    window.start()
    sent = 0
    while sent < total:
        offset = sent % chunk  # offer the rest of the current block, as the C client does
        size = min(chunk - offset, total - sent)
        try:
            sent += stream.send(view[offset:offset + size])
        except (WantWriteError, WantReadError):
            wait_for_network(conn)
    stream.conclude()
    reply = bytearray(8)
    got = 0
    while got < len(reply):
        try:
            got += stream.recv_into(memoryview(reply)[got:])
        except WantReadError:
            wait_for_network(conn)
        except ZeroReturnError:
            break
    window.stop()
    count = int.from_bytes(reply[:got], "big")
    if got != 8 or count != total:
        raise RuntimeError(f"the server received {count} bytes, {total} were sent")
    result = {"bytes": total, "seconds": window.wall, "cpu": window.cpu, "cipher": conn.get_cipher_name(),
              "openssl": openssl_version(), "mode": "non-blocking, select()"}
    _close_client(conn, stream)
    sock.close()
    return result


def _close_client(conn: Connection, stream: Stream) -> None:
    """Not timed: send CONNECTION_CLOSE and stop once it is on its way (bounded)."""
    stream.close()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if conn.shutdown_ex(block=False) or conn.get_conn_close_info() is not None:
            break
        wait_for_network(conn)
    conn.handle_events()
    conn.close()


def server(certfile: str, keyfile: str, ready: Ready) -> Result:
    from ..._binding.errors import WantReadError, WantWriteError, ZeroReturnError
    from ...quic.listener import Listener
    from .common import asyncssl_server_context, openssl_version

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    sock.setblocking(False)
    listener = Listener(asyncssl_server_context(certfile, keyfile), sock)
    ready(sock.getsockname()[1])
    while (conn := listener.accept_connection(block=False)) is None:
        wait_for_network(listener)
    while (stream := conn.accept_stream(block=False)) is None:
        wait_for_network(listener)

    buf = bytearray(READ_SIZE)
    window = Window()
    window.start()
    received = 0
    while True:
        try:
            received += stream.recv_into(buf)
        except WantReadError:
            wait_for_network(listener)
        except ZeroReturnError:
            break
    window.stop()

    reply = memoryview(received.to_bytes(8, "big"))
    while reply:
        try:
            reply = reply[stream.send(reply):]
        except (WantWriteError, WantReadError):
            wait_for_network(listener)
    stream.conclude()  # also puts the reply on the wire
    deadline = time.monotonic() + 3.0  # not timed: wait for the client's close (bounded)
    while conn.get_conn_close_info() is None and time.monotonic() < deadline:
        wait_for_network(listener)
    result = {"bytes": received, "seconds": window.wall, "cpu": window.cpu, "cipher": conn.get_cipher_name(),
              "openssl": openssl_version(), "mode": "non-blocking, select()", "alpn": ALPN.decode()}
    listener.close()
    sock.close()
    return result
