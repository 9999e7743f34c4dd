"""``openssl s_client -quic`` of the same OpenSSL build against asyncssl's server."""

from __future__ import annotations

import subprocess

from scenario import ALPN


def test_s_client_quic_talks_to_our_listener(asyncssl_server, openssl_cli, openssl_env, certs):
    srv = asyncssl_server()
    cmd = [openssl_cli, "s_client", "-quic", "-alpn", ALPN.decode(), "-connect", f"127.0.0.1:{srv.port}",
           "-servername", "localhost", "-verify_hostname", "localhost", "-CAfile", certs.cafile,
           "-verify_return_error", "-quiet"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=openssl_env)
    try:
        proc.stdin.write(b"echo\nhello-from-s_client\n")
        proc.stdin.flush()
        seen = b""
        import select
        import time

        deadline = time.monotonic() + 15
        while b"hello-from-s_client" not in seen and time.monotonic() < deadline:
            r, _, _ = select.select([proc.stdout], [], [], 0.5)
            if r:
                chunk = proc.stdout.read1(4096)
                if not chunk:
                    break
                seen += chunk
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    assert b"hello-from-s_client" in seen, err.decode(errors="replace")
    assert srv.events.handshakes == [ALPN]
