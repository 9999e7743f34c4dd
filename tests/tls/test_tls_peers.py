"""asyncssl against peers nobody here wrote: the openssl CLI of the same build, and Python's ssl.

Each test arranges a real peer on 127.0.0.1, runs one exchange over non-blocking sockets
driven as an event loop would (``helpers.drive``), and checks the bytes and the protocol.
"""

from __future__ import annotations

import socket
import ssl
import threading

import pytest
from helpers.drive import drive, recv_exactly
from helpers.net import free_port, openssl_process, wait_output

from asyncssl import SSL

VERSIONS = {
    "tls1_2": ("-tls1_2", "TLSv1.2", SSL.TLS1_2_VERSION),
    "tls1_3": ("-tls1_3", "TLSv1.3", SSL.TLS1_3_VERSION),
}


def _client_context(cert_files, version=None, method=SSL.TLS_CLIENT_METHOD):
    ctx = SSL.Context(method)
    ctx.load_verify_locations(str(cert_files["ca"]))
    ctx.set_verify(SSL.VERIFY_PEER)
    if version is not None:
        ctx.set_min_proto_version(version)
        ctx.set_max_proto_version(version)
    return ctx


def _server_context(cert_files, method=SSL.TLS_SERVER_METHOD):
    ctx = SSL.Context(method)
    ctx.use_certificate_chain_file(str(cert_files["server_chain"]))
    ctx.use_privatekey_file(str(cert_files["server_key"]))
    ctx.check_privatekey()
    return ctx


@pytest.mark.parametrize("version", list(VERSIONS))
def test_client_against_openssl_s_server(openssl_cli, cert_files, version):
    flag, name, number = VERSIONS[version]
    port = free_port()
    args = [openssl_cli, "s_server", "-accept", f"127.0.0.1:{port}", "-naccept", "1", flag,
            "-cert", str(cert_files["server_chain"]), "-key", str(cert_files["server_key"])]
    with openssl_process(args, wait_for=b"ACCEPT") as (proc, output):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.setblocking(False)
        with sock:
            conn = SSL.Connection(_client_context(cert_files), sock)
            conn.set_connect_state()
            conn.set_tlsext_host_name(b"localhost")
            conn.set1_host("localhost")
            drive(conn, sock, conn.do_handshake)
            assert conn.get_protocol_version_name() == name
            assert conn.get_protocol_version() == number
            assert conn.get_peer_certificate(as_cryptography=True).subject == conn.get_peer_cert_chain(as_cryptography=True)[0].subject
            drive(conn, sock, conn.sendall, b"hello from asyncssl\n")
            wait_output(proc, output, b"hello from asyncssl")
            proc.stdin.write(b"hello from s_server\n")
            proc.stdin.flush()
            assert recv_exactly(conn, sock, 20) == b"hello from s_server\n"


def test_client_against_openssl_dtls_s_server(openssl_cli, cert_files):
    port = free_port(socket.SOCK_DGRAM)
    args = [openssl_cli, "s_server", "-dtls1_2", "-accept", f"127.0.0.1:{port}", "-naccept", "1",
            "-cert", str(cert_files["server_chain"]), "-key", str(cert_files["server_key"])]
    with openssl_process(args, wait_for=b"ACCEPT") as (proc, output):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        with sock:
            conn = SSL.Connection(_client_context(cert_files, method=SSL.DTLS_CLIENT_METHOD), sock)
            conn.set_connect_state()
            conn.set1_host("127.0.0.1")
            drive(conn, sock, conn.do_handshake)
            assert conn.get_protocol_version_name() == "DTLSv1.2"
            drive(conn, sock, conn.send, b"datagram from asyncssl\n")
            wait_output(proc, output, b"datagram from asyncssl")
            proc.stdin.write(b"datagram from s_server\n")
            proc.stdin.flush()
            assert drive(conn, sock, conn.recv, 1500) == b"datagram from s_server\n"


@pytest.mark.parametrize("version", list(VERSIONS))
def test_openssl_s_client_against_server(openssl_cli, cert_files, version):
    flag, name, _ = VERSIONS[version]
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    args = [openssl_cli, "s_client", "-connect", f"127.0.0.1:{port}", flag, "-CAfile", str(cert_files["ca"]),
            "-verify_return_error", "-servername", "localhost"]
    with listener, openssl_process(args, wait_for=None) as (proc, output):
        listener.settimeout(10)
        sock, _ = listener.accept()
        sock.setblocking(False)
        with sock:
            conn = SSL.Connection(_server_context(cert_files), sock)
            conn.set_accept_state()
            drive(conn, sock, conn.do_handshake)
            assert conn.get_protocol_version_name() == name
            assert conn.get_servername() == b"localhost"
            wait_output(proc, output, b"Verify return code: 0 (ok)")
            proc.stdin.write(b"ping\n")
            proc.stdin.flush()
            assert recv_exactly(conn, sock, 5) == b"ping\n"
            drive(conn, sock, conn.sendall, b"pong\n")
            wait_output(proc, output, b"pong")


def test_client_against_python_ssl_server(cert_files):
    pyctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pyctx.load_cert_chain(str(cert_files["server_chain"]), str(cert_files["server_key"]))
    pyctx.set_alpn_protocols(["echo"])
    listener = socket.create_server(("127.0.0.1", 0))
    errors = []

    def serve():
        try:
            raw, _ = listener.accept()
            raw.settimeout(10)
            with pyctx.wrap_socket(raw, server_side=True) as tls:
                data = tls.recv(100)
                tls.sendall(data.upper())
                tls.unwrap()
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with listener:
        ctx = _client_context(cert_files)
        ctx.set_alpn_protos([b"echo"])
        sock = socket.create_connection(listener.getsockname(), timeout=5)
        sock.setblocking(False)
        with sock:
            conn = SSL.Connection(ctx, sock)
            conn.set_connect_state()
            conn.set_tlsext_host_name(b"localhost")
            conn.set1_host("localhost")
            drive(conn, sock, conn.do_handshake)
            assert conn.get_alpn_proto_negotiated() == b"echo"
            drive(conn, sock, conn.sendall, b"shout")
            assert recv_exactly(conn, sock, 5) == b"SHOUT"
            drive(conn, sock, conn.shutdown)
            with pytest.raises(SSL.ZeroReturnError):
                drive(conn, sock, conn.recv, 10)
        thread.join(10)
    assert not errors


def test_python_ssl_client_against_server(cert_files):
    pyctx = ssl.create_default_context(cafile=str(cert_files["ca"]))
    listener = socket.create_server(("127.0.0.1", 0))
    result = {}

    def client():
        try:
            with socket.create_connection(listener.getsockname(), timeout=10) as raw:
                with pyctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"x" * 100_000)
                    result["echo"] = b"".join(iter(lambda: tls.recv(65536), b""))
                    result["version"] = tls.version()
        except Exception as exc:
            result["error"] = exc

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    with listener:
        listener.settimeout(10)
        sock, _ = listener.accept()
        sock.setblocking(False)
        with sock:
            conn = SSL.Connection(_server_context(cert_files), sock)
            conn.set_accept_state()
            drive(conn, sock, conn.do_handshake)
            got = recv_exactly(conn, sock, 100_000)
            assert got == b"x" * 100_000
            drive(conn, sock, conn.sendall, b"done")
            drive(conn, sock, conn.shutdown)
        thread.join(10)
    assert "error" not in result, result
    assert result == {"echo": b"done", "version": "TLSv1.3"}
