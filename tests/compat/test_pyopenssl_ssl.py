"""pyOpenSSL 26.4.0's own ``tests/test_ssl.py``, run against ``asyncssl.SSL``.

The module is fetched from the pinned sdist (``_upstream.py``), imported with ``OpenSSL.SSL``
swapped for ``asyncssl.SSL`` (``_swap.py``), and its test classes, functions and fixtures are
re-exported here, so pytest collects them under this file. Every test that fails on purpose is
listed, with the reason, in ``pyopenssl_differences.py`` and marked xfail(strict=True) by
``conftest.py``: the run is green, and a fix or a new failure shows.
"""

from __future__ import annotations

import sys

from compat._swap import import_upstream
from compat._upstream import PACKAGE, suite_root

_root = str(suite_root())  # raises (and fails the run) when the sdist cannot be fetched
if _root not in sys.path:
    sys.path.insert(0, _root)

_test_ssl = import_upstream(PACKAGE, "test_ssl")
_conftest = sys.modules[f"{PACKAGE}.conftest"]

# Everything test_ssl defines or imports (test classes and functions, its fixtures), and the
# fixture its conftest supplies.
globals().update({k: v for k, v in vars(_test_ssl).items() if not k.startswith("__")})
tmpfile = _conftest.tmpfile
