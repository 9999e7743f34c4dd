"""Handshake configuration: ALPN is mandatory, certificates and host names are verified,
cipher suites and Retry interoperate."""

from __future__ import annotations

import socket

import pytest
from aioquic_peers import CHACHA20_ONLY
from scenario import digest_reply

from asyncssl import SSL


def test_client_without_alpn_fails_before_sending_anything(client_context, udp_socket):
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(0.3)
    try:
        conn = SSL.Connection(client_context(alpn=None), udp_socket())
        conn.set_initial_peer_addr(sink.getsockname())
        with pytest.raises(SSL.Error, match="ALPN is required|requires ALPN"):
            conn.new_stream()
        with pytest.raises(socket.timeout):
            sink.recvfrom(2048)   # not one datagram left the client
    finally:
        sink.close()


def test_listener_without_alpn_select_callback_is_refused(certs, udp_socket):
    ctx = SSL.Context(SSL.QUIC_SERVER_METHOD)
    ctx.use_certificate_chain_file(certs.certfile)
    ctx.use_privatekey_file(certs.keyfile)
    with pytest.raises(SSL.Error, match="requires ALPN.*set_alpn_select_callback"):
        SSL.Listener(ctx, udp_socket())


def test_alpn_mismatch(any_server, client_context, connect_client):
    srv = any_server()
    conn = connect_client(srv.port, ctx=client_context(alpn=[b"not-offered"]), handshake=False)
    # OpenSSL and aioquic >= 1.4 close with CRYPTO_ERROR(no_application_protocol), which the
    # message names; aioquic 1.3 (Python 3.10) with handshake_failure and its own reason.
    with pytest.raises(SSL.Error, match=r"no application protocol \(ALPN\) in common|No common ALPN protocols") as info:
        conn.new_stream()   # connects first
    assert info.value.close_info is not None and info.value.close_info.is_transport


def test_unknown_ca_is_rejected(any_server, client_context, connect_client, certs):
    srv = any_server()
    with pytest.raises(SSL.Error, match="certificate verify failed") as info:
        connect_client(srv.port, ctx=client_context(cafile=certs.other_cafile))
    # the reason leads the message, as on TLS
    assert "the peer's certificate was rejected: unable to get local issuer certificate (verify result 20" \
        in str(info.value), str(info.value)


def test_hostname_mismatch_is_rejected(any_server, connect_client):
    srv = any_server()
    with pytest.raises(SSL.Error, match="certificate verify failed") as info:
        connect_client(srv.port, hostname="not-the-server.example")
    assert "the certificate is not valid for 'not-the-server.example'" in str(info.value), str(info.value)


def test_chacha20_only_server(aioquic_server, connect_client):
    srv = aioquic_server(cipher_suites=CHACHA20_ONLY)
    conn = connect_client(srv.port)
    assert conn.get_cipher_name() == "TLS_CHACHA20_POLY1305_SHA256"
    s = conn.new_stream()
    s.sendall(b"sha256\nabc")
    s.conclude()
    assert s.recv_all(timeout=10) == digest_reply(b"abc")


def test_chacha20_only_asyncssl_pair(asyncssl_server, server_context, connect_client):
    srv = asyncssl_server(server_context(ciphersuites=b"TLS_CHACHA20_POLY1305_SHA256"))
    conn = connect_client(srv.port)
    assert conn.get_cipher_name() == "TLS_CHACHA20_POLY1305_SHA256"


def test_aioquic_server_with_retry(aioquic_server, connect_client):
    srv = aioquic_server(retry=True)
    conn = connect_client(srv.port)
    s = conn.new_stream()
    s.sendall(b"send 1000\n")
    assert len(s.recv_all(timeout=10)) == 1000


def test_our_listener_without_address_validation(asyncssl_server, connect_client):
    srv = asyncssl_server(validate_address=False)
    conn = connect_client(srv.port)
    s = conn.new_stream()
    s.sendall(b"send 10\n")
    assert len(s.recv_all(timeout=10)) == 10
