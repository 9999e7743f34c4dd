"""python -m asyncssl client / server against each other and against the openssl CLI."""

from __future__ import annotations

import re
import subprocess
import sys
import threading

import pytest

import asyncssl

PY = [sys.executable, "-m", "asyncssl"]


def start_server(*args: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([*PY, "server", "--port", "0", "--count", "1", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(50):
        line = proc.stderr.readline()
        m = re.search(r"listening on [\d.]+:(\d+)", line)
        if m:
            return proc, int(m.group(1))
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"server did not start: {proc.stderr.read()}")


def client(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*PY, "client", *args], capture_output=True, timeout=timeout)


@pytest.fixture
def server_args(cert_files):
    return ["--cert", str(cert_files["server_chain"]), "--key", str(cert_files["server_key"])]


def test_tls_client_and_server(server_args, cert_files):
    proc, port = start_server(*server_args)
    try:
        result = client("127.0.0.1", str(port), "--cafile", str(cert_files["ca"]), "--servername", "localhost",
                        "--path", "/100000")
        assert result.returncode == 0, result.stderr
        assert len(result.stdout) == 100000
        assert b"TLSv1.3" in result.stderr
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()


def test_tls_client_refuses_an_unknown_ca(server_args):
    proc, port = start_server(*server_args)
    try:
        result = client("127.0.0.1", str(port), "--servername", "localhost")
        assert result.returncode == 1
        assert b"certificate verify failed" in result.stderr
        # why, and what to do about it
        assert b"the peer's certificate was rejected: unable to get local issuer certificate" in result.stderr
        assert b"pass --cafile FILE" in result.stderr and b"--insecure" in result.stderr
    finally:
        proc.kill()


def test_dtls_client_and_server(server_args, cert_files):
    proc, port = start_server("--dtls", *server_args)
    try:
        result = client("127.0.0.1", str(port), "--dtls", "--cafile", str(cert_files["ca"]), "--servername", "localhost",
                        "--message", "one", "--message", "two")
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"one\ntwo\n"
        assert b"DTLSv1.2" in result.stderr
    finally:
        proc.kill()


@pytest.mark.requires("quic_server")
def test_quic_client_and_server_with_parallel_streams(server_args, cert_files):
    proc, port = start_server("--quic", *server_args)
    try:
        result = client("127.0.0.1", str(port), "--quic", "--cafile", str(cert_files["ca"]), "--servername", "localhost",
                        "--path", "/300000", "--streams", "5", "--discard")
        assert result.returncode == 0, result.stderr
        assert b"on 5 stream(s)" in result.stderr and b"QUICv1" in result.stderr
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()


@pytest.mark.requires("quic_server")
def test_openssl_s_client_quic_against_the_cli_server(server_args, cert_files, openssl_cli):
    proc, port = start_server("--quic", *server_args)
    try:
        # s_client keeps the connection open after the stream's FIN: read the answer, then stop it
        s_client = subprocess.Popen(
            [openssl_cli, "s_client", "-quic", "-alpn", "hq-interop", "-connect", f"127.0.0.1:{port}",
             "-CAfile", str(cert_files["ca"]), "-servername", "localhost", "-verify_return_error", "-quiet"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        watchdog = threading.Timer(30, s_client.kill)  # bounded: a silent peer cannot hang the test
        watchdog.start()
        try:
            s_client.stdin.write(b"GET /5000\n")
            s_client.stdin.flush()
            received = b""
            while len(received) < 5000:
                chunk = s_client.stdout.read1(65536) if hasattr(s_client.stdout, "read1") else s_client.stdout.read(1)
                if not chunk:
                    break
                received += chunk
        finally:
            watchdog.cancel()
            s_client.kill()
            s_client.wait(timeout=10)
        assert len(received) == 5000, s_client.stderr.read()[-2000:]
    finally:
        proc.kill()


def test_openssl_s_client_against_the_cli_tls_server(server_args, cert_files, openssl_cli):
    proc, port = start_server(*server_args)
    try:
        result = subprocess.run(
            [openssl_cli, "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(cert_files["ca"]),
             "-servername", "localhost", "-verify_return_error", "-quiet"],
            input=b"GET /777\n", capture_output=True, timeout=30)
        assert len(result.stdout) == 777, result.stderr[-2000:]
    finally:
        proc.kill()


def test_demo_runs_the_parts_this_openssl_has():
    result = subprocess.run([*PY, "demo", "--quick", "--parts", "quic,dtls"], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DTLS" in result.stdout and "application datagrams echoed" in result.stdout
    if asyncssl.capabilities()["quic_server"]:
        assert "server checksum matches" in result.stdout and "MISMATCH" not in result.stdout
    else:
        assert "needs OpenSSL 3.5+" in result.stdout and "provision_openssl.py 3.5" in result.stdout
