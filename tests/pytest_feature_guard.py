"""pytest plugin: a test may skip only where the linked OpenSSL really lacks the feature.

- ``@pytest.mark.requires("quic_server", ...)`` skips a test when
  ``asyncssl.capabilities()`` lacks a feature, and *fails* it instead when the leg is
  expected to have that feature (``ASYNCSSL_EXPECT_FEATURES``, set by the nox matrix).
- On a leg expected to have QUIC, any skip of a test under ``tests/quic/`` is turned into
  a failure, whatever its reason: no QUIC test may skip on the 3.5 and 4.0 builds.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

EXPECTED = {f for f in os.environ.get("ASYNCSSL_EXPECT_FEATURES", "").split(",") if f}
QUIC_DIR = Path(__file__).resolve().parent / "quic"


def _capabilities() -> dict[str, bool]:
    import asyncssl

    return asyncssl.capabilities()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requires(*features): needs these asyncssl.capabilities() features")
    if os.environ.get("LD_LIBRARY_PATH"):
        # It once hid that a build could not be imported after `import ssl`: the suite must load
        # OpenSSL as a user's process does.
        raise pytest.UsageError(f"LD_LIBRARY_PATH={os.environ['LD_LIBRARY_PATH']} is set: unset it; the tests "
                                "must see the libraries users' processes load")


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("requires")
    if marker is None:
        return
    caps = _capabilities()
    missing = [f for f in marker.args if not caps.get(f)]
    if not missing:
        return
    if EXPECTED & set(missing):
        pytest.fail(f"this OpenSSL leg must have {', '.join(sorted(EXPECTED & set(missing)))}, "
                    "but asyncssl.capabilities() says it does not")
    import asyncssl

    pytest.skip(f"the linked {asyncssl.openssl_version()} lacks {', '.join(missing)}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or "quic_client" not in EXPECTED:
        return
    if QUIC_DIR in Path(str(item.fspath)).resolve().parents and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"QUIC test skipped on an OpenSSL leg that has QUIC ({report.longrepr})"
