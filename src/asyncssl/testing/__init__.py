"""Test support: the simulated crypto accelerator (an OpenSSL 3 provider written in C)::

    with asyncssl.LibraryContext() as libctx:
        asyncssl.testing.load_simulated_accelerator(libctx, latency=0.002)
        ctx = SSL.Context(SSL.TLS_SERVER_METHOD, libctx=libctx)
        ctx.set_mode(SSL.MODE_ASYNC)   # handshakes now raise WantAsyncError while "the device" signs

``simulated_accelerator_stats()`` counts what the device did (operations, pauses, notifications).
"""

from ._simaccel import (
    NAME,
    PREFERENCE,
    build_simulated_accelerator_module,
    configure_simulated_accelerator,
    load_simulated_accelerator,
    reset_simulated_accelerator_stats,
    simulated_accelerator_source_dir,
    simulated_accelerator_stats,
)

__all__ = [
    "NAME",
    "PREFERENCE",
    "build_simulated_accelerator_module",
    "configure_simulated_accelerator",
    "load_simulated_accelerator",
    "reset_simulated_accelerator_stats",
    "simulated_accelerator_source_dir",
    "simulated_accelerator_stats",
]
