"""The programs in examples/, run as a user runs them (``python examples/x.py ...``), against real peers:
the ``openssl s_server`` of the same build and Python's ``ssl`` for TLS, ``python -m asyncssl server
--quic`` for QUIC (OpenSSL 3.5's ``s_server`` has no QUIC server)."""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers.net import free_port, openssl_process

import asyncssl

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIMEOUT = 20  # each run takes well under a second; this only bounds a hang


def run_example(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args, "--timeout", "10"],
                          capture_output=True, timeout=TIMEOUT)


# --- TLS ------------------------------------------------------------------------------------------


def test_tls_example_fetches_from_openssl_s_server(openssl_cli, cert_files):
    port = free_port()
    args = [openssl_cli, "s_server", "-accept", f"127.0.0.1:{port}", "-naccept", "1", "-www",
            "-cert", str(cert_files["server_chain"]), "-key", str(cert_files["server_key"])]
    with openssl_process(args, wait_for=b"ACCEPT"):
        result = run_example("tls_client_nonblocking.py", "127.0.0.1", str(port), "--servername", "localhost",
                             "--cafile", str(cert_files["ca"]))
    assert result.returncode == 0, result.stderr.decode()
    # s_server -www answers GET / with a status page, then sends close_notify
    assert result.stdout.startswith(b"HTTP/1.0 200 ok"), result.stdout[:200]
    assert b"certificate verified for localhost" in result.stderr
    assert b"the server closed the connection cleanly" in result.stderr


class PythonSSLServer:
    """One connection served by Python's ``ssl`` in a thread: reads the request, answers, close_notify."""

    def __init__(self, cert_files, body: bytes, alpn: list[str] | None = None, close_notify: bool = True) -> None:
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(str(cert_files["server_chain"]), str(cert_files["server_key"]))
        if alpn:
            self.ctx.set_alpn_protocols(alpn)
        self.body = body
        self.close_notify = close_notify
        self.request = b""
        self.error: BaseException | None = None
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            raw, _ = self.listener.accept()
            raw.settimeout(TIMEOUT)
            with self.ctx.wrap_socket(raw, server_side=True) as tls:
                while not self.request.endswith(b"\r\n\r\n"):
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    self.request += chunk
                tls.sendall(self.body)
                if self.close_notify:
                    tls.unwrap()  # close_notify, then the client's
        except BaseException as exc:  # noqa: B036 - reported by join()
            self.error = exc
        finally:
            self.listener.close()

    def join(self) -> None:
        self.thread.join(TIMEOUT)


def test_tls_example_reads_a_large_response_from_python_ssl(cert_files):
    body = hashlib.sha256(b"example").digest() * 40000  # 1.25 MB: many WantReadError rounds
    server = PythonSSLServer(cert_files, body, alpn=["http/1.1"])
    result = run_example("tls_client_nonblocking.py", "127.0.0.1", str(server.port), "--servername", "localhost",
                         "--cafile", str(cert_files["ca"]), "--path", "/big", "--alpn", "h2,http/1.1")
    server.join()
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == body
    assert server.request == b"GET /big HTTP/1.0\r\nConnection: close\r\nHost: localhost\r\n\r\n"
    assert b"ALPN http/1.1" in result.stderr
    assert server.error is None, server.error


def test_tls_example_says_when_the_server_closes_without_close_notify(cert_files):
    server = PythonSSLServer(cert_files, b"HTTP/1.0 200 OK\r\n\r\npartial", close_notify=False)
    result = run_example("tls_client_nonblocking.py", "127.0.0.1", str(server.port), "--servername", "localhost",
                         "--cafile", str(cert_files["ca"]))
    server.join()
    assert result.returncode == 1
    assert result.stdout == b"HTTP/1.0 200 OK\r\n\r\npartial"
    assert b"without a TLS close_notify: the response may be cut short" in result.stderr, result.stderr.decode()


def test_tls_example_refuses_a_certificate_for_another_name(cert_files):
    server = PythonSSLServer(cert_files, b"never sent")
    result = run_example("tls_client_nonblocking.py", "127.0.0.1", str(server.port), "--servername", "example.org",
                         "--cafile", str(cert_files["ca"]))
    server.join()
    assert result.returncode == 1
    assert b"hostname mismatch" in result.stderr and b"'example.org'" in result.stderr, result.stderr.decode()
    assert result.stdout == b""


# --- QUIC -----------------------------------------------------------------------------------------


def start_quic_server(cert_files, count: int) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "asyncssl", "server", "--quic", "--port", "0", "--count", str(count),
                             "--cert", str(cert_files["server_chain"]), "--key", str(cert_files["server_key"])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()  # the first line says where it listens
    m = re.search(r"listening on [\d.]+:(\d+)", line)
    if not m:
        proc.kill()
        raise AssertionError(f"the QUIC server did not start: {line}{proc.communicate(timeout=10)[1]}")
    return proc, int(m.group(1))


@pytest.mark.requires("quic_server")
@pytest.mark.parametrize("stream", ["new_stream", "default_stream"])
def test_quic_example_fetches_from_an_asyncssl_quic_server(cert_files, stream):
    proc, port = start_quic_server(cert_files, count=1)
    try:
        result = run_example("quic_client_nonblocking.py", "127.0.0.1", str(port), "--servername", "localhost",
                             "--cafile", str(cert_files["ca"]), "--alpn", "hq-interop", "--path", "/300000",
                             *(["--default-stream"] if stream == "default_stream" else []))
        assert result.returncode == 0, result.stderr.decode()
        # the server generates /N as repetitions of sha256(b"asyncssl") (asyncssl/cli/_hq.py)
        assert len(result.stdout) == 300000
        assert result.stdout == (hashlib.sha256(b"asyncssl").digest() * 10000)[:300000]
        assert b"QUICv1" in result.stderr and b"ALPN hq-interop" in result.stderr
        assert b"received 300000 bytes on stream 0" in result.stderr
        # the client closed the connection with shutdown_ex, so the server counts it as finished
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        proc.kill()
        proc.communicate(timeout=10)


@pytest.mark.requires("quic_server")
def test_quic_example_refuses_an_unknown_ca(cert_files, tmp_path):
    other = tmp_path / "other-ca.pem"
    import trustme

    trustme.CA().cert_pem.write_to_path(str(other))
    proc, port = start_quic_server(cert_files, count=1)
    try:
        result = run_example("quic_client_nonblocking.py", "127.0.0.1", str(port), "--servername", "localhost",
                             "--cafile", str(other), "--path", "/10")
        assert result.returncode == 1
        assert b"certificate verify failed" in result.stderr, result.stderr.decode()
        assert b"certificate check failed: unable to get local issuer certificate" in result.stderr
        assert result.stdout == b""
    finally:
        proc.kill()
        proc.communicate(timeout=10)


@pytest.mark.skipif(asyncssl.capabilities()["quic_client"], reason="this build has a QUIC client")
def test_quic_example_says_what_it_needs_without_quic():
    result = run_example("quic_client_nonblocking.py", "127.0.0.1", "4433")
    assert result.returncode == 2
    assert b"has no QUIC client (OpenSSL 3.2 or newer has one)" in result.stderr
