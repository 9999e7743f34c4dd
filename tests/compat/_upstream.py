"""pyOpenSSL's own test suite, fetched from its pinned sdist on PyPI.

The sdist is downloaded with pip (the machine's index settings, certificates and proxies
apply), checked against the pinned SHA-256 and unpacked into a cache outside the work tree
(``~/.cache/asyncssl/compat``, or ``$ASYNCSSL_COMPAT_CACHE``), so a second run reads it from
there. Any failure raises: the compat suite fails, it never skips.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PYOPENSSL_VERSION = "26.4.0"
SDIST = f"pyopenssl-{PYOPENSSL_VERSION}.tar.gz"
SDIST_SHA256 = "28dfcce0162b9211413e26dfbfdf1d24317fbeba18fc93c12400a1856b2a0bc7"
# The unpacked tests/ directory becomes this package (their modules use relative imports).
PACKAGE = "pyopenssl_tests_" + PYOPENSSL_VERSION.replace(".", "_")
# Only the suite's modules are unpacked; test_ssl imports conftest, util and test_crypto.
MODULES = ("__init__.py", "conftest.py", "util.py", "test_crypto.py", "test_ssl.py")


class FetchError(RuntimeError):
    """The pinned sdist could not be fetched or did not match its SHA-256."""


def cache_dir() -> Path:
    return Path(os.environ.get("ASYNCSSL_COMPAT_CACHE", Path.home() / ".cache" / "asyncssl" / "compat"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download(dest: Path) -> None:
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
               "--dest", tmp, f"pyopenssl=={PYOPENSSL_VERSION}"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        got = Path(tmp) / SDIST
        if done.returncode != 0 or not got.is_file():
            raise FetchError(f"could not download {SDIST} ({' '.join(cmd)} exited {done.returncode}):\n"
                             f"{done.stdout}{done.stderr}")
        digest = _sha256(got)
        if digest != SDIST_SHA256:
            raise FetchError(f"{SDIST}: SHA-256 {digest}, expected {SDIST_SHA256}")
        os.replace(got, dest)


def suite_root() -> Path:
    """The directory to put on sys.path: it holds the package ``PACKAGE`` (pyOpenSSL's tests/)."""
    root = cache_dir() / f"pyopenssl-{PYOPENSSL_VERSION}"
    package = root / PACKAGE
    done = package / ".unpacked"
    if done.is_file() and done.read_text() == SDIST_SHA256:
        return root
    cache_dir().mkdir(parents=True, exist_ok=True)
    tarball = cache_dir() / SDIST
    if not tarball.is_file() or _sha256(tarball) != SDIST_SHA256:
        _download(tarball)
    staging = Path(tempfile.mkdtemp(dir=cache_dir()))
    try:
        with tarfile.open(tarball) as tar:
            for name in MODULES:
                member = tar.getmember(f"pyopenssl-{PYOPENSSL_VERSION}/tests/{name}")
                source = tar.extractfile(member)
                assert source is not None
                (staging / name).write_bytes(source.read())
        (staging / ".unpacked").write_text(SDIST_SHA256)
        shutil.rmtree(package, ignore_errors=True)   # a partial or older unpacking
        package.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(staging, package)
        except OSError:
            # another run unpacked it meanwhile: fine if that copy is complete
            if not (done.is_file() and done.read_text() == SDIST_SHA256):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root
