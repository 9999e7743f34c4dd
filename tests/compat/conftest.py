"""The pyOpenSSL compat suite: marks the documented differences xfail(strict=True).

A listed test that passes (fixed), a failure not listed, and a listed name that matches no
collected test (renamed upstream, or a typo) all fail the run.
"""

from __future__ import annotations

import pytest

from compat.pyopenssl_differences import DIFFERENCES

SUITE = "test_pyopenssl_ssl.py"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seen = set()
    collected = False
    for item in items:
        if item.path.name != SUITE or item.path.parent.name != "compat":
            continue
        collected = True
        name = item.nodeid.split(f"{SUITE}::", 1)[1]
        reason = DIFFERENCES.get(name)
        if reason is not None:
            seen.add(name)
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
    # Only when the whole suite was collected (not under -k or a single node id).
    whole = collected and not config.option.keyword and not any("::" in str(a) for a in config.args)
    if whole and set(DIFFERENCES) - seen:
        raise pytest.UsageError(f"tests/compat/pyopenssl_differences.py lists tests that were not collected: "
                                f"{sorted(set(DIFFERENCES) - seen)}")
