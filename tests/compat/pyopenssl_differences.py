"""Every pyOpenSSL test_ssl test that fails against asyncssl, on purpose, and why.

``conftest.py`` marks each as xfail(strict=True): a fix (the test passes) or a failure not
listed here fails the run. README's "Porting from pyOpenSSL" lists the same differences.
Keys are test names as pytest shows them under this directory (``Class::test[param]``).
"""

from __future__ import annotations

DIFFERENCES: dict[str, str] = {
}
