"""The same behaviour, run on pyOpenSSL and on asyncssl: asyncssl.SSL must be a drop-in.

Each test takes `SSL` (either ``OpenSSL.SSL`` or ``asyncssl.SSL``) and runs one code path
on it, so any divergence shows up as one parameter failing.
"""

from __future__ import annotations

import socket

import pytest
from helpers.memory import handshake, make_pair, pump
from OpenSSL import SSL as pyopenssl_SSL

from asyncssl import SSL as asyncssl_SSL


@pytest.fixture(params=[pyopenssl_SSL, asyncssl_SSL], ids=["pyOpenSSL", "asyncssl"])
def SSL(request):
    return request.param


def test_exception_hierarchy_matches(SSL):
    for name in ("WantReadError", "WantWriteError", "WantX509LookupError", "ZeroReturnError", "SysCallError"):
        assert issubclass(getattr(SSL, name), SSL.Error)


def test_method_constants_have_pyopenssl_values(SSL):
    assert (SSL.TLS_METHOD, SSL.TLS_SERVER_METHOD, SSL.TLS_CLIENT_METHOD) == (7, 8, 9)
    assert (SSL.DTLS_METHOD, SSL.DTLS_SERVER_METHOD, SSL.DTLS_CLIENT_METHOD) == (10, 11, 12)
    assert SSL.SENT_SHUTDOWN == 1 and SSL.RECEIVED_SHUTDOWN == 2


def test_default_modes(SSL):
    ctx = SSL.Context(SSL.TLS_METHOD)
    # pyOpenSSL has no get_mode on Context: set_mode(0) returns the current mask.
    mode = ctx.set_mode(0)
    assert mode & 0x1  # SSL_MODE_ENABLE_PARTIAL_WRITE
    assert mode & 0x2  # SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
    assert mode & 0x4  # SSL_MODE_AUTO_RETRY (OpenSSL's default)


def test_context_frozen_after_first_connection(SSL):
    ctx = SSL.Context(SSL.TLS_METHOD)
    SSL.Connection(ctx, None)
    with pytest.raises(ValueError, match="Connection"):
        ctx.set_cipher_list(b"ALL")


def test_memory_handshake_and_data(SSL, cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    assert client.send(b"hello") == 5
    pump(client, server, module=SSL)
    assert server.pending() == 0  # nothing decrypted until read
    assert server.recv(2) == b"he"
    assert server.pending() == 3
    assert server.recv(100) == b"llo"
    assert client.get_protocol_version_name() == "TLSv1.3"
    assert client.get_cipher_name() == server.get_cipher_name()


def test_recv_with_no_data_raises_want_read(SSL, cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    with pytest.raises(SSL.WantReadError):
        server.recv(10)
    with pytest.raises(SSL.WantReadError):
        server.bio_read(10)


def test_msg_peek_does_not_consume(SSL, cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    client.sendall(b"peekaboo")
    pump(client, server, module=SSL)
    assert server.recv(4, socket.MSG_PEEK) == b"peek"
    assert server.recv(100) == b"peekaboo"


def test_recv_into_with_nbytes_and_peek(SSL, cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    client.sendall(b"0123456789")
    pump(client, server, module=SSL)
    buf = bytearray(16)
    assert server.recv_into(buf, 3, socket.MSG_PEEK) == 3
    assert server.recv_into(buf, 4) == 4
    assert bytes(buf[:4]) == b"0123"
    assert server.recv_into(memoryview(buf)[4:]) == 6
    assert bytes(buf[:10]) == b"0123456789"


def test_clean_shutdown_gives_zero_return(SSL, cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    assert client.shutdown() is False  # close_notify sent, peer's not yet received
    pump(client, server, module=SSL)
    with pytest.raises(SSL.ZeroReturnError):
        server.recv(10)
    assert server.get_shutdown() & SSL.RECEIVED_SHUTDOWN
    assert server.shutdown() is True
    assert client.get_shutdown() == SSL.SENT_SHUTDOWN


def test_eof_without_close_notify_is_unexpected_eof(SSL, cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    server.bio_shutdown()
    with pytest.raises(SSL.SysCallError) as info:
        server.recv(10)
    assert info.value.args == (-1, "Unexpected EOF")


def test_alpn_negotiation(SSL, cert_files):
    offered = []

    def select(conn, protos):
        offered.append(protos)
        return b"h2"

    client, server = make_pair(
        SSL, cert_files,
        client_setup=lambda c: c.set_alpn_protos([b"http/1.1", b"h2"]),
        server_setup=lambda c: c.set_alpn_select_callback(select),
    )
    handshake(client, server, module=SSL)
    assert offered == [[b"http/1.1", b"h2"]]
    assert client.get_alpn_proto_negotiated() == b"h2"
    assert server.get_alpn_proto_negotiated() == b"h2"


def test_alpn_no_overlap(SSL, cert_files):
    client, server = make_pair(
        SSL, cert_files,
        client_setup=lambda c: c.set_alpn_protos([b"h2"]),
        server_setup=lambda c: c.set_alpn_select_callback(lambda conn, p: SSL.NO_OVERLAPPING_PROTOCOLS),
    )
    handshake(client, server, module=SSL)
    assert client.get_alpn_proto_negotiated() == b""


def test_alpn_callback_exception_is_raised_from_handshake(SSL, cert_files):
    def select(conn, protos):
        raise KeyError("from the callback")

    client, server = make_pair(
        SSL, cert_files,
        client_setup=lambda c: c.set_alpn_protos([b"h2"]),
        server_setup=lambda c: c.set_alpn_select_callback(select),
    )
    with pytest.raises(KeyError, match="from the callback"):
        handshake(client, server, module=SSL)


def test_sni_callback_sees_server_name(SSL, cert_files):
    seen = []
    client, server = make_pair(
        SSL, cert_files,
        server_setup=lambda c: c.set_tlsext_servername_callback(lambda conn: seen.append(conn.get_servername())),
        client_conn_setup=lambda conn: conn.set_tlsext_host_name(b"localhost"),
    )
    handshake(client, server, module=SSL)
    assert seen == [b"localhost"]
    assert server.get_servername() == b"localhost"


def test_verify_callback_arguments(SSL, cert_files):
    calls = []

    def verify(conn, cert, errnum, depth, ok):
        calls.append((type(conn).__name__, errnum, depth, ok))
        return ok

    client, server = make_pair(SSL, cert_files, client_setup=lambda c: c.set_verify(SSL.VERIFY_PEER, verify))
    handshake(client, server, module=SSL)
    assert [c[2] for c in calls] == [1, 0]  # CA first, then the leaf
    assert all(c[0] == "Connection" and c[1] == 0 and c[3] == 1 for c in calls)


def test_verify_failure_is_an_ssl_error(SSL, cert_files):
    def setup(ctx):
        ctx.set_verify(SSL.VERIFY_PEER, lambda *a: False)

    client, server = make_pair(SSL, cert_files, client_setup=setup)
    with pytest.raises(SSL.Error) as info:
        handshake(client, server, module=SSL)
    assert "certificate verify failed" in str(info.value)


def test_session_resumption(SSL, cert_files):
    def server_setup(ctx):
        ctx.set_session_id(b"parity")
        ctx.set_options(SSL.OP_NO_TICKET)

    def both(cctx):
        cctx.set_max_proto_version(SSL.TLS1_2_VERSION)

    client, server = make_pair(SSL, cert_files, server_setup=server_setup, client_setup=both)
    handshake(client, server, module=SSL)
    session = client.get_session()
    assert session is not None
    sctx, cctx = server.get_context(), client.get_context()
    client2 = SSL.Connection(cctx, None)
    client2.set_connect_state()
    client2.set_session(session)
    server2 = SSL.Connection(sctx, None)
    server2.set_accept_state()
    handshake(client2, server2, module=SSL)
    assert client2.get_session() is not None
    assert client2.master_key() == client.master_key()


def test_state_getters_after_handshake(SSL, cert_files):
    client, server = make_pair(SSL, cert_files)
    assert client.get_finished() is None
    assert client.get_cipher_name() is None
    handshake(client, server, module=SSL)
    assert client.get_finished() == server.get_peer_finished()
    assert client.client_random() == server.client_random()
    assert client.server_random() == server.server_random()
    assert len(client.export_keying_material(b"EXPORTER-test", 32)) == 32
    assert client.export_keying_material(b"x", 16, b"ctx") == server.export_keying_material(b"x", 16, b"ctx")
    assert isinstance(client.get_state_string(), bytes)
    assert client.get_protocol_version() == SSL.TLS1_3_VERSION
    assert client.get_cipher_bits() >= 128
    assert client.get_cipher_version() == "TLSv1.3"


def test_dtls_memory_handshake(SSL, cert_files):
    client, server = make_pair(SSL, cert_files, method=SSL.DTLS_METHOD)
    handshake(client, server, module=SSL)
    client.send(b"datagram")
    pump(client, server, module=SSL)
    assert server.recv(100) == b"datagram"
    assert client.get_protocol_version_name() == "DTLSv1.2"


def test_bio_calls_need_memory_mode(SSL):
    ctx = SSL.Context(SSL.TLS_METHOD)
    with socket.socket() as s:
        conn = SSL.Connection(ctx, s)
        with pytest.raises(TypeError):
            conn.bio_read(10)
        with pytest.raises(TypeError):
            conn.bio_write(b"x")


def test_makefile_not_implemented(SSL):
    conn = SSL.Connection(SSL.Context(SSL.TLS_METHOD), None)
    with pytest.raises(NotImplementedError):
        conn.makefile()


def test_keylog_and_info_callbacks(SSL, cert_files):
    lines, infos = [], []

    def setup(ctx):
        ctx.set_keylog_callback(lambda conn, line: lines.append(line))
        ctx.set_info_callback(lambda conn, where, ret: infos.append(where))

    client, server = make_pair(SSL, cert_files, client_setup=setup)
    handshake(client, server, module=SSL)
    assert any(line.startswith(b"CLIENT_HANDSHAKE_TRAFFIC_SECRET") for line in lines)
    assert any(w & SSL.SSL_CB_HANDSHAKE_DONE for w in infos)


def test_dtls_cookie_callbacks_and_listen_want_read(SSL):
    ctx = SSL.Context(SSL.DTLS_METHOD)
    ctx.set_cookie_generate_callback(lambda conn: b"cookie")
    ctx.set_cookie_verify_callback(lambda conn, cookie: cookie == b"cookie")
    conn = SSL.Connection(ctx, None)
    conn.set_accept_state()
    with pytest.raises(SSL.WantReadError):
        conn.DTLSv1_listen()
