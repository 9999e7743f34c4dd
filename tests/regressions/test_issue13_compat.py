"""Crashes the pyOpenSSL suite found (issue 13), each in its own interpreter."""

from __future__ import annotations

from helpers.subproc import run_scenario


def test_get_group_name_before_the_handshake_is_none():
    # OpenSSL 3.0's SSL_get_negotiated_group dereferenced the missing session: SIGSEGV.
    out = run_scenario("""
    for method in (SSL.TLS_METHOD, SSL.DTLS_METHOD):
        conn = SSL.Connection(SSL.Context(method), None)
        print(conn.get_group_name())
        conn.set_connect_state()
        print(conn.get_group_name())
    """)
    assert out.split() == ["None"] * 4


def test_send_over_2_gib_is_pyopenssls_value_error():
    out = run_scenario("""
    import mmap
    big = mmap.mmap(-1, 2**31 + 1)    # pages are never touched
    client, server = tls_pair()
    drive(client, server)
    print(outcome(client.send, big))
    print(outcome(client.send, memoryview(big)))
    print(client.send(b"still fine"))
    """)
    lines = out.splitlines()
    assert all(line.startswith("ValueError: Cannot send more than 2**31-1 bytes at once") for line in lines[:2]), out
    assert lines[2] == "10"
