"""On an OpenSSL without QUIC (the system 3.0 leg) every QUIC entry point raises
NotSupportedError naming the call, the version it needs and the version linked."""

from __future__ import annotations

import socket

import pytest

from asyncssl import SSL, capabilities

CAPS = capabilities()


def _check(exc: SSL.NotSupportedError, call: str, version: str) -> None:
    text = str(exc)
    assert call in text and f"OpenSSL {version}" in text and "linked against OpenSSL" in text


@pytest.mark.parametrize("method, call, version", [
    ("QUIC_CLIENT_METHOD", "OSSL_QUIC_client_method", "3.2"),
    ("QUIC_CLIENT_THREAD_METHOD", "OSSL_QUIC_client_thread_method", "3.2"),
    ("QUIC_SERVER_METHOD", "OSSL_QUIC_server_method", "3.5"),
])
def test_quic_methods(method, call, version):
    present = CAPS["quic_server"] if version == "3.5" else CAPS["quic_client"]
    if present:
        assert SSL.Context(getattr(SSL, method)).method_kind.startswith("quic")
        return
    with pytest.raises(SSL.NotSupportedError) as info:
        SSL.Context(getattr(SSL, method))
    _check(info.value, call, version)


def test_listener_and_poll():
    ctx = SSL.Context(SSL.TLS_METHOD)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(SSL.Error) as info:
            SSL.Listener(ctx, s)
        if CAPS["quic_server"]:
            assert "QUIC_SERVER_METHOD" in str(info.value)
        else:
            assert isinstance(info.value, SSL.NotSupportedError)
            _check(info.value, "SSL_new_listener", "3.5")
    finally:
        s.close()
    if not capabilities()["ssl_poll"]:
        with pytest.raises(SSL.NotSupportedError) as info:
            SSL.poll([(None, SSL.POLL_EVENT_R)], timeout=0)
        _check(info.value, "SSL_poll", "3.3")


def test_constants_exist_everywhere():
    # The names are part of the module on every build; only the calls are missing.
    assert SSL.STREAM_TYPE_BIDI == 3 and SSL.POLL_EVENT_IC == 1 << 8 and SSL.VALUE_QUIC_IDLE_TIMEOUT == 5
