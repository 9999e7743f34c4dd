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
