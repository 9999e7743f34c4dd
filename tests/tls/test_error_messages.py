"""Errors a newcomer can act on: why verification failed, and a dead socket as SysCallError."""

from __future__ import annotations

import errno
import socket
import ssl
import threading

import pytest
import trustme
from helpers.memory import handshake, make_pair

from asyncssl import SSL


def _failed_handshake(cert_files, **client_kwargs):
    client, server = make_pair(SSL, cert_files, **client_kwargs)
    with pytest.raises(SSL.Error) as info:
        handshake(client, server, module=SSL)
    return client, info.value


def test_verify_failure_names_the_reason(cert_files, tmp_path):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    sctx = SSL.Context(SSL.TLS_METHOD)
    sctx.use_certificate_chain_file(str(cert_files["server_chain"]))
    sctx.use_privatekey_file(str(cert_files["server_key"]))
    cctx = SSL.Context(SSL.TLS_METHOD)
    cctx.load_verify_locations(str(other))
    cctx.set_verify(SSL.VERIFY_PEER)
    client, server = SSL.Connection(cctx, None), SSL.Connection(sctx, None)
    client.set_connect_state()
    server.set_accept_state()
    with pytest.raises(SSL.Error) as info:
        handshake(client, server, module=SSL)
    message = str(info.value)
    assert "the peer's certificate was rejected: unable to get local issuer certificate" in message, message
    assert "verify result 20" in message
    assert client.get_verify_result() == 20
    assert client.get_verify_result_string() == "unable to get local issuer certificate"
    assert ("SSL routines", "", "certificate verify failed") in [(a, "", c) for a, _b, c in info.value.args[0]]


def test_hostname_mismatch_names_the_name(cert_files):
    client, exc = _failed_handshake(cert_files, client_conn_setup=lambda conn: conn.set1_host("example.org"))
    message = str(exc)
    assert "hostname mismatch: the certificate is not valid for 'example.org'" in message.lower(), message
    assert client.get_verify_result() == 62


def test_a_successful_handshake_reads_ok(cert_files):
    client, server = make_pair(SSL, cert_files)
    handshake(client, server, module=SSL)
    assert client.get_verify_result_string() == "ok"


def test_writing_to_a_socket_the_peer_closed_is_syscallerror_with_errno(cert_files):
    """pyOpenSSL: SysCallError(EPIPE/ECONNRESET, name), not Error([('system library', ...)])."""
    ours, theirs = socket.socketpair()
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert_files["server_chain"], cert_files["server_key"])
    done = threading.Event()

    def serve():
        with sctx.wrap_socket(theirs, server_side=True) as tls:
            tls.recv(10)
        done.set()

    thread = threading.Thread(target=serve)
    thread.start()
    cctx = SSL.Context(SSL.TLS_METHOD)
    cctx.load_verify_locations(str(cert_files["ca"]))
    conn = SSL.Connection(cctx, ours)
    conn.set_connect_state()
    conn.do_handshake()
    conn.sendall(b"x")
    assert done.wait(10)
    thread.join(10)
    with pytest.raises(SSL.SysCallError) as info:
        for _ in range(100):
            conn.sendall(b"y" * 65536)
    assert info.value.args[0] in (errno.EPIPE, errno.ECONNRESET), info.value.args
    assert info.value.args[1] in ("EPIPE", "ECONNRESET")
    ours.close()
