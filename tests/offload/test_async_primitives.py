"""ASYNC_WAIT_CTX, AsyncStatus, LibraryContext and Provider, without any TLS."""

from __future__ import annotations

import threading

import pytest

import asyncssl
from asyncssl import SSL
from asyncssl._binding import lib

pytestmark = pytest.mark.skipif(not asyncssl.is_async_capable(), reason="ASYNC_is_capable() is 0 here")


def test_is_async_capable_matches_capabilities():
    assert asyncssl.is_async_capable() is asyncssl.capabilities()["async_mode"]


def test_async_status_has_openssl_values():
    assert [(s.name, int(s)) for s in asyncssl.AsyncStatus] == [
        ("UNSUPPORTED", 0), ("ERR", 1), ("OK", 2), ("EAGAIN", 3)]
    assert SSL.AsyncStatus is asyncssl.AsyncStatus


def test_fresh_wait_ctx_has_no_fds_and_no_status():
    w = asyncssl.AsyncWaitCtx()
    assert w.get_all_fds() == []
    assert w.get_changed_fds() == ([], [])
    assert w.get_status() is asyncssl.AsyncStatus.UNSUPPORTED
    assert w.get_callback() is None


def test_wait_ctx_status_round_trips_and_rejects_unknown_values():
    w = asyncssl.AsyncWaitCtx()
    w.set_status(asyncssl.AsyncStatus.EAGAIN)
    assert w.get_status() is asyncssl.AsyncStatus.EAGAIN
    w.set_status(2)
    assert w.get_status() is asyncssl.AsyncStatus.OK
    with pytest.raises(ValueError, match="AsyncStatus"):
        w.set_status(7)


def test_wait_ctx_callback_must_be_callable_and_can_be_removed():
    w = asyncssl.AsyncWaitCtx()
    with pytest.raises(TypeError, match="callable"):
        w.set_callback(42)
    w.set_callback(lambda ctx: None)
    assert w.get_callback() is not None
    w.set_callback(None)
    assert w.get_callback() is None


def test_wait_ctx_callback_exception_is_reported_not_propagated(monkeypatch):
    """The callback runs when a provider calls it (here: directly through the C pointer,
    from a foreign thread, as a device's completion thread would)."""
    from asyncssl._binding import ffi

    seen = []
    monkeypatch.setattr("sys.unraisablehook", lambda unraisable: seen.append(unraisable.exc_value))
    w = asyncssl.AsyncWaitCtx()

    def boom(ctx):
        raise RuntimeError("callback failed")

    w.set_callback(boom)
    cb = ffi.new("ASYNC_callback_fn *")
    arg = ffi.new("void **")
    assert lib.ASYNC_WAIT_CTX_get_callback(w._ctx, cb, arg) == 1
    results = []
    t = threading.Thread(target=lambda: results.append(cb[0](arg[0])))
    t.start()
    t.join()
    assert results == [0]  # the provider learns it failed; nothing raised into C
    assert len(seen) == 1 and isinstance(seen[0], RuntimeError)


def test_library_context_loads_and_unloads_a_provider_by_name():
    with asyncssl.LibraryContext() as libctx:
        provider = libctx.load_provider("default")
        assert provider.name == "default"
        assert libctx.provider_available("default")
        provider.unload()
        with pytest.raises(SSL.Error, match="already unloaded"):
            provider.unload()
    assert libctx.closed


def test_library_context_reports_a_missing_provider_clearly():
    with asyncssl.LibraryContext() as libctx:
        with pytest.raises(SSL.Error, match="OSSL_PROVIDER_load.*no-such-provider"):
            libctx.load_provider("no-such-provider")
        with pytest.raises(TypeError):
            libctx.load_provider(42)
        with pytest.raises(ValueError):
            libctx.load_provider("")


def test_library_context_default_properties_are_validated():
    with asyncssl.LibraryContext() as libctx:
        libctx.set_default_properties("?provider=default")
        with pytest.raises(SSL.Error):
            libctx.set_default_properties("provider=,,")
        with pytest.raises(TypeError):
            libctx.set_default_properties(b"provider=default")


def test_closed_library_context_is_unusable_but_close_is_idempotent():
    libctx = asyncssl.LibraryContext()
    libctx.close()
    libctx.close()
    with pytest.raises(SSL.Error, match="closed"):
        libctx.load_provider("default")
    with pytest.raises(SSL.Error, match="closed"):
        SSL.Context(SSL.TLS_METHOD, libctx=libctx)


def test_closing_while_a_context_uses_it_defers_the_free():
    libctx = asyncssl.LibraryContext()
    libctx.load_provider("default")
    ctx = SSL.Context(SSL.TLS_METHOD, libctx=libctx)
    libctx.close()
    # The SSL_CTX still works: its OSSL_LIB_CTX is freed only after it is gone.
    conn = SSL.Connection(ctx, None)
    conn.set_connect_state()
    with pytest.raises(SSL.WantReadError):
        conn.do_handshake()
    assert conn.bio_read(65536)
    del conn, ctx
    asyncssl.LibraryContext().close()  # a safe point: the deferred free happens here


def test_dropping_a_context_and_its_library_context_together_is_safe():
    for _ in range(3):
        libctx = asyncssl.LibraryContext()
        libctx.load_provider("default")
        ctx = SSL.Context(SSL.TLS_METHOD, libctx=libctx)
        del libctx, ctx  # whatever order Python frees them in
    asyncssl.LibraryContext().close()


def test_async_job_stacks_are_enlarged_where_openssl_allows_it():
    from asyncssl import _binding

    if asyncssl.capabilities()["async_stack_enlarge"]:
        assert _binding.async_stacks_enlarged()
        assert lib.asyncssl_async_stack_size() >= _binding.ASYNC_STACK_SIZE
    else:
        assert not _binding.async_stacks_enlarged()
