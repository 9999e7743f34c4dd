"""What a QUIC or event-API call does on an OpenSSL that lacks it, and that it works where present."""

from __future__ import annotations

import socket

import pytest

import asyncssl
from asyncssl import SSL, _binding

CAPS = asyncssl.capabilities()
LINKED = _binding.linked_version_text()


def test_quic_client_method_names_the_call_and_versions():
    if CAPS["quic_client"]:
        ctx = SSL.Context(SSL.QUIC_CLIENT_METHOD)
        assert ctx.method_kind == "quic_client"
    else:
        with pytest.raises(SSL.NotSupportedError) as info:
            SSL.Context(SSL.QUIC_CLIENT_METHOD)
        assert "OSSL_QUIC_client_method needs OpenSSL 3.2" in str(info.value)
        assert LINKED in str(info.value)


def test_quic_server_method_names_the_call_and_versions():
    if CAPS["quic_server"]:
        assert SSL.Context(SSL.QUIC_SERVER_METHOD).method_kind == "quic_server"
    else:
        with pytest.raises(SSL.NotSupportedError, match=r"OSSL_QUIC_server_method needs OpenSSL 3\.5"):
            SSL.Context(SSL.QUIC_SERVER_METHOD)


def test_handle_events_on_a_quic_connection():
    if not CAPS["quic_client"]:
        # No QUIC Connection can exist here: the method itself is refused (above), and the
        # event calls that only QUIC gives meaning to say what they need.
        conn = SSL.Connection(SSL.Context(SSL.TLS_CLIENT_METHOD), None)
        with pytest.raises(SSL.NotSupportedError, match=r"SSL_net_read_desired needs OpenSSL 3\.2"):
            conn.net_read_desired()
        return
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("127.0.0.1", 9))
        conn = SSL.Connection(SSL.Context(SSL.QUIC_CLIENT_METHOD), sock)
        assert conn.handle_events() is None  # before connecting: allowed, nothing due
        assert conn.get_event_timeout() is None  # no timer before the first connect attempt
        conn.close()


def test_handle_events_on_tls_is_the_documented_no_op_everywhere():
    conn = SSL.Connection(SSL.Context(SSL.TLS_CLIENT_METHOD), None)
    assert conn.handle_events() is None
    assert conn.get_event_timeout() is None
