"""The swap: pyOpenSSL's test_ssl imports ``OpenSSL.SSL`` and gets ``asyncssl.SSL``.

Only while pyOpenSSL's test modules are imported is ``OpenSSL.SSL`` (in ``sys.modules`` and as
the attribute of the ``OpenSSL`` package) replaced by a module made of ``asyncssl.SSL``'s names;
the real one is put back at once, so the rest of the process (our benchmarks and coexistence
tests use pyOpenSSL itself) is untouched. test_ssl keeps the module it bound at import time.

``OpenSSL.crypto`` (X509, PKey, load_certificate, ...) stays pyOpenSSL's: asyncssl does not
reproduce it, and its objects are what test_ssl hands to ``use_certificate``/``use_privatekey``.
Two private names test_ssl imports from ``OpenSSL.SSL`` at module level are pyOpenSSL's own:
``_make_requires`` (its TestRequires tests test that pyOpenSSL helper, not asyncssl) and the
``_NoOverlappingProtocols`` type (an annotation only).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager

import OpenSSL
import OpenSSL.SSL

from asyncssl import SSL as asyncssl_SSL

PRIVATE_FROM_PYOPENSSL = ("_make_requires", "_NoOverlappingProtocols")


def swapped_module() -> types.ModuleType:
    module = types.ModuleType("OpenSSL.SSL", asyncssl_SSL.__doc__)
    module.__dict__.update({k: v for k, v in vars(asyncssl_SSL).items() if not k.startswith("__")})
    for name in PRIVATE_FROM_PYOPENSSL:
        setattr(module, name, getattr(OpenSSL.SSL, name))
    return module


@contextmanager
def openssl_ssl_is_asyncssl() -> Iterator[types.ModuleType]:
    real = sys.modules["OpenSSL.SSL"]
    swapped = swapped_module()
    sys.modules["OpenSSL.SSL"] = swapped
    OpenSSL.SSL = swapped  # type: ignore[misc]  # `from OpenSSL import SSL` reads the attribute
    try:
        yield swapped
    finally:
        sys.modules["OpenSSL.SSL"] = real
        OpenSSL.SSL = real  # type: ignore[misc]


def import_upstream(package: str, module: str) -> types.ModuleType:
    """Import ``package.module`` (pyOpenSSL's tests) with ``OpenSSL.SSL`` swapped."""
    with openssl_ssl_is_asyncssl() as swapped:
        imported = importlib.import_module(f"{package}.{module}")
    assert imported.SSL is swapped, "test_ssl did not get asyncssl.SSL"
    return imported
