"""Object lifetimes, SSL.poll, the value API, listener details and misuse: every wrong call
gets a clear Python exception, none crashes."""

from __future__ import annotations

import gc
import queue
import socket
import threading
import time

import pytest
from scenario import pattern

from asyncssl import SSL


def test_stream_after_connection_close_raises_clearly(asyncssl_server, connect_client):
    srv = asyncssl_server()
    conn = connect_client(srv.port)
    s = conn.new_stream()
    conn.close()
    with pytest.raises(SSL.Error, match="stream is closed.*connection was closed"):
        s.send(b"x")
    with pytest.raises(SSL.Error, match="closed"):
        conn.new_stream()
    with pytest.raises(SSL.Error, match="closed"):
        conn.accept_stream()
    s.close()   # idempotent, no crash
    conn.close()


def test_connection_close_closes_the_streams_opened_after_others_were_closed(asyncssl_server, connect_client):
    # A connection keeps its set of live streams only while it has some: the set is dropped
    # when the last one closes (on any thread) and made again for the next.
    srv = asyncssl_server()
    conn = connect_client(srv.port)
    handed: queue.Queue[SSL.Stream | None] = queue.Queue()

    def closer():
        while (stream := handed.get()) is not None:
            stream.close()

    worker = threading.Thread(target=closer)
    worker.start()
    try:
        for _ in range(200):
            handed.put(conn.new_stream())   # closed on the worker while the next one opens
    finally:
        handed.put(None)
        worker.join()
    last = conn.new_stream()
    conn.close()
    with pytest.raises(SSL.Error, match="stream is closed.*connection was closed"):
        last.send(b"x")


def test_objects_collected_in_any_order(asyncssl_server, connect_client):
    srv = asyncssl_server()
    for order in ("conn_first", "streams_first"):
        conn = connect_client(srv.port)
        streams = [conn.new_stream() for _ in range(3)]
        streams[0].sendall(b"echo\nx")
        assert streams[0].recv(10) == b"x"
        if order == "conn_first":
            del conn
            gc.collect()
            streams[1].sendall(b"echo\ny")   # the stream keeps its connection alive
            assert streams[1].recv(10) == b"y"
            del streams
        else:
            del streams
            gc.collect()
            conn.close()
        gc.collect()


def test_listener_close_closes_its_connections(server_context, udp_socket, client_context):
    lsock = udp_socket()
    listener = SSL.Listener(server_context(), lsock)
    port = lsock.getsockname()[1]
    result = {}

    def client():
        c = SSL.Connection(client_context(), udp_socket())
        c.set_tlsext_host_name(b"localhost")
        c.set1_host("localhost")
        c.set_initial_peer_addr(("127.0.0.1", port))
        st = c.new_stream()
        st.sendall(b"hi")
        try:
            st.recv(10)
        except SSL.Error as exc:
            result["client"] = exc
        c.close()

    t = threading.Thread(target=client)
    t.start()
    conn = listener.accept_connection()
    assert conn is not None and listener.get_accept_connection_queue_len() == 0
    stream = conn.accept_stream()
    assert stream.recv(10) == b"hi"
    listener.close()
    t.join(10)
    assert isinstance(result.get("client"), SSL.Error)   # our close reached the client
    with pytest.raises(SSL.Error, match="its listener was closed"):
        conn.new_stream()
    with pytest.raises(SSL.Error, match="closed"):
        stream.recv(10)
    with pytest.raises(SSL.Error, match="listener is closed"):
        listener.accept_connection()


def test_non_blocking_listener_accept_returns_none(server_context, udp_socket):
    with SSL.Listener(server_context(), udp_socket(blocking=False)) as listener:
        assert listener.accept_connection() is None
        assert listener.get_blocking_mode() is False
        assert listener.fileno() == listener.get_rpoll_descriptor()
        t = listener.get_event_timeout()
        assert t is None or t >= 0
        listener.handle_events()


def test_poll_reports_incoming_connection_stream_and_data(asyncssl_server, server_context, udp_socket,
                                                          client_context):
    lsock = udp_socket(blocking=False)
    listener = SSL.Listener(server_context(), lsock)
    port = lsock.getsockname()[1]
    assert SSL.poll([(listener, SSL.POLL_EVENT_IC)], timeout=0) == [0]
    assert SSL.poll([(None, SSL.POLL_EVENT_R), (listener, SSL.POLL_EVENT_IC)], timeout=0) == [0, 0]

    def client():
        c = SSL.Connection(client_context(), udp_socket())
        c.set_tlsext_host_name(b"localhost")
        c.set1_host("localhost")
        c.set_initial_peer_addr(("127.0.0.1", port))
        st = c.new_stream()
        st.sendall(b"data")
        st.conclude()
        time.sleep(1)
        c.close()

    t = threading.Thread(target=client)
    t.start()
    try:
        revents = SSL.poll([(listener, SSL.POLL_EVENT_IC)], timeout=10)
        assert revents[0] & SSL.POLL_EVENT_IC
        conn = listener.accept_connection()
        assert SSL.poll([(conn, SSL.POLL_EVENT_ISB)], timeout=10)[0] & SSL.POLL_EVENT_ISB
        stream = conn.accept_stream()
        got = b""
        deadline = time.monotonic() + 10
        while len(got) < 4 and time.monotonic() < deadline:
            if SSL.poll([(stream, SSL.POLL_EVENT_R)], timeout=5)[0] & SSL.POLL_EVENT_R:
                got += stream.recv(10)
        assert got == b"data"
    finally:
        t.join(10)
        listener.close()


def test_poll_argument_errors(asyncssl_server, connect_client):
    srv = asyncssl_server()
    conn = connect_client(srv.port)
    with pytest.raises(TypeError, match="QUIC Connection, Stream or Listener"):
        SSL.poll([(socket.socket(), SSL.POLL_EVENT_R)], timeout=0)
    with pytest.raises(ValueError):
        SSL.poll([(conn, SSL.POLL_EVENT_R)], timeout=-1)
    with pytest.raises(ValueError, match="wait forever"):
        SSL.poll([])
    assert SSL.poll([(conn, SSL.POLL_EVENT_OS)], timeout=0)[0] & SSL.POLL_EVENT_OSB


def test_value_api(asyncssl_server, client_context, udp_socket, connect_client):
    srv = asyncssl_server()
    conn = connect_client(srv.port, handshake=False)
    conn.set_value_uint(SSL.VALUE_QUIC_IDLE_TIMEOUT, 5000)
    assert conn.get_value_uint(SSL.VALUE_QUIC_IDLE_TIMEOUT) == 5000
    s = conn.new_stream()
    assert conn.get_value_uint(SSL.VALUE_QUIC_IDLE_TIMEOUT, value_class=SSL.VALUE_CLASS_FEATURE_NEGOTIATED) == 5000
    assert conn.get_value_uint(SSL.VALUE_QUIC_STREAM_BIDI_LOCAL_AVAIL) > 0
    assert s.get_value_uint(SSL.VALUE_STREAM_WRITE_BUF_AVAIL) > 0
    with pytest.raises(SSL.Error, match="SSL_set_value_uint"):
        conn.set_value_uint(SSL.VALUE_QUIC_IDLE_TIMEOUT, 1000)   # too late once connected


def test_misuse_errors(asyncssl_server, connect_client, client_context, server_context, udp_socket):
    srv = asyncssl_server()
    conn = connect_client(srv.port)
    with pytest.raises(SSL.Error, match="Listener method"):
        conn.accept_connection()
    with pytest.raises(TypeError, match="new_stream"):
        SSL.Stream(conn)
    with pytest.raises(SSL.Error, match="MODE_ASYNC"):
        client_context().set_mode(SSL.MODE_ASYNC)
    with pytest.raises(SSL.Error, match="QUIC_SERVER_METHOD"):
        SSL.Listener(client_context(), udp_socket())
    with pytest.raises(TypeError, match="SOCK_DGRAM|UDP"):
        SSL.Listener(server_context(), socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    with pytest.raises(ValueError, match="2\\*\\*62"):
        conn.new_stream().reset(1 << 62)
    with pytest.raises(ValueError, match="NUL"):
        conn.shutdown_ex(reason=b"a\0b")
    with pytest.raises(ValueError, match="mode must be"):
        conn.set_default_stream_mode(99)
    uni = conn.new_stream(uni=True)
    assert uni.stream_type == SSL.STREAM_TYPE_WRITE
    with pytest.raises(SSL.Error, match="send-only"):
        uni.recv(10)
    with pytest.raises(SSL.Error, match="initial peer|SSL_set1_initial_peer_addr"):
        conn.set_initial_peer_addr(("127.0.0.1", 9))     # already connected
    tls = SSL.Connection(SSL.Context(SSL.TLS_METHOD), None)
    with pytest.raises(SSL.Error, match="not a QUIC connection"):
        tls.new_stream()


def test_stream_conclude_twice_and_reset_after_conclude(asyncssl_server, connect_client):
    srv = asyncssl_server()
    conn = connect_client(srv.port)
    s = conn.new_stream()
    s.sendall(b"echo\n" + pattern(10))
    s.conclude()
    with pytest.raises(SSL.Error, match="already concluded"):
        s.conclude()
    assert s.recv_all(timeout=10) == pattern(10)
    with pytest.raises(SSL.Error, match="concluded|FIN"):
        s.send(b"late")


def test_connection_on_a_server_context_says_to_use_a_listener(server_context, udp_socket):
    # Needs Connection.__init__ to call quic.connection.check_client_context before SSL_new.
    with pytest.raises(SSL.Error, match="Listener"):
        SSL.Connection(server_context(), udp_socket())
