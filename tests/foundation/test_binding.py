"""The binding layer: version checks, stripping of missing calls, error queue, capabilities."""

from __future__ import annotations

import os

import pytest

import asyncssl
from asyncssl import _binding
from asyncssl._binding import ffi, lib
from asyncssl._binding.errors import Error, NotSupportedError

V3_2 = 0x30200000
V3_3 = 0x30300000
V3_5 = 0x30500000
RUNTIME = asyncssl.openssl_version_number()


def test_runtime_is_not_older_than_headers():
    assert RUNTIME >= _binding.COMPILED_VERSION_NUMBER
    assert asyncssl.openssl_version().startswith("OpenSSL ")


def test_capabilities_follow_the_linked_version():
    caps = asyncssl.capabilities()
    for key in ("quic_client", "quic_server", "ssl_poll", "handle_events", "async_mode", "dtls"):
        assert isinstance(caps[key], bool), key
    assert caps["handle_events"] is (RUNTIME >= V3_2)
    assert caps["quic_client"] is (RUNTIME >= V3_2)
    assert caps["ssl_poll"] is (RUNTIME >= V3_3)
    assert caps["quic_server"] is (RUNTIME >= V3_5)


def test_expected_features_of_this_leg_are_present():
    # The test matrix names what each leg must have; a build that lost QUIC fails here.
    expected = [f for f in os.environ.get("ASYNCSSL_EXPECT_FEATURES", "").split(",") if f]
    caps = asyncssl.capabilities()
    assert [f for f in expected if not caps.get(f)] == []


def test_call_missing_from_linked_openssl_is_stripped_and_explained():
    if RUNTIME < V3_2:
        assert "SSL_handle_events" not in dir(lib)
        with pytest.raises(NotSupportedError) as info:
            lib.SSL_handle_events  # noqa: B018 - the attribute access itself must raise
        message = str(info.value)
        assert "SSL_handle_events" in message
        assert "OpenSSL 3.2" in message
        assert _binding.linked_version_text() in message
        assert not _binding.has("SSL_handle_events")
    else:
        assert "SSL_handle_events" in dir(lib)
        assert _binding.has("SSL_handle_events")


def test_server_side_quic_is_stripped_exactly_below_3_5():
    assert ("SSL_new_listener" in dir(lib)) is (RUNTIME >= V3_5)
    assert ("SSL_poll" in dir(lib)) is (RUNTIME >= V3_3)


def test_not_supported_error_is_an_ssl_error_and_not_attribute_error():
    err = _binding.not_supported("SSL_new_listener", "3.5")
    assert isinstance(err, Error)
    assert not isinstance(err, AttributeError)
    assert "SSL_new_listener needs OpenSSL 3.5" in str(err)


def test_unknown_name_is_a_plain_attribute_error():
    with pytest.raises(AttributeError):
        lib.SSL_no_such_function  # noqa: B018


def test_error_queue_is_drained_into_structured_entries():
    ctx = ffi.gc(lib.SSL_CTX_new(lib.TLS_method()), lib.SSL_CTX_free)
    assert lib.SSL_CTX_set_cipher_list(ctx, b"NO-SUCH-CIPHER") == 0
    exc = _binding.error_from_queue()
    assert isinstance(exc, Error)
    assert exc.errors, "the failed call left entries in the queue"
    entry = exc.errors[-1]
    assert entry.lib == "SSL routines"
    assert "no cipher match" in entry.reason
    # pyOpenSSL's shape: args[0] is a list of (lib, func, reason) tuples
    assert exc.args[0][-1] == (entry.lib, entry.func, entry.reason)
    assert "no cipher match" in str(exc)
    assert _binding.drain_errors() == []  # the queue is empty afterwards


def test_error_from_empty_queue_uses_the_fallback_message():
    assert _binding.drain_errors() == []
    assert str(_binding.error_from_queue(Error, "SSL_CTX_new failed")) == "SSL_CTX_new failed"
