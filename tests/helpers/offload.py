"""Helpers for the async-offload tests: keys, a library context with the simulated accelerator."""

from __future__ import annotations

import contextlib
import select

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

import asyncssl
from asyncssl import testing


@contextlib.contextmanager
def accelerated(**settings):
    """A LibraryContext with the simulated accelerator loaded (and its settings reset afterwards)."""
    libctx = asyncssl.LibraryContext()
    try:
        testing.load_simulated_accelerator(libctx, **settings)
        testing.reset_simulated_accelerator_stats()
        yield libctx
    finally:
        testing.configure_simulated_accelerator()
        libctx.close()


def verify(private_key, signature: bytes, data: bytes, algorithm=None) -> None:
    """Raise unless `signature` is a valid DER ECDSA / PKCS#1 v1.5 signature of `data`."""
    algorithm = algorithm or hashes.SHA256()
    if isinstance(private_key, rsa.RSAPrivateKey):
        private_key.public_key().verify(signature, data, padding.PKCS1v15(), algorithm)
    else:
        private_key.public_key().verify(signature, data, ec.ECDSA(algorithm))


def wait_readable(fds: list[int], timeout: float = 10.0) -> list[int]:
    assert fds, "the provider published no wait fd"
    ready, _, _ = select.select(fds, [], [], timeout)
    return ready


def async_fds(conn) -> list[int]:
    return conn.get_all_async_fds()


def complete_handshake(client, server, wait) -> int:
    """Finish a memory-BIO handshake, calling wait(conn) after each WantAsyncError.

    Returns how many times a side raised WantAsyncError.
    """
    from asyncssl import SSL

    from .memory import pump

    wants, done = 0, [False, False]
    for _ in range(100):
        for i, conn in enumerate((client, server)):
            if done[i]:
                continue
            try:
                conn.do_handshake()
                done[i] = True
            except SSL.WantReadError:
                pass
            except SSL.WantAsyncError:
                wants += 1
                wait(conn)
        pump(client, server, module=SSL)
        if all(done):
            return wants
    raise AssertionError("handshake did not complete")
