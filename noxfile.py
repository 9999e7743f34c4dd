"""The test matrix and the other project sessions.

    nox -s tests            # all three OpenSSL legs: system 3.0, 3.5 LTS, 4.0
    nox -s "tests(openssl='3.5')"
    nox -s lint demo bench

Each leg gets its own virtualenv and builds asyncssl against that leg's OpenSSL
(3.5 and 4.0 are provisioned by wheels/provision_openssl.py into a cache outside
the work tree and reused).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
LEGS = ["3.0", "3.5", "4.0"]
# What each leg must really have; the test session fails, instead of skipping, when a
# feature the leg is known to have went missing (e.g. a build without QUIC).
EXPECTED_FEATURES = {
    "3.0": "dtls,async_mode",
    "3.5": "dtls,async_mode,handle_events,quic_client,quic_server,ssl_poll",
    "4.0": "dtls,async_mode,handle_events,quic_client,quic_server,ssl_poll",
}

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


def openssl_env(leg: str) -> dict[str, str]:
    """Environment that builds and runs asyncssl against one OpenSSL leg."""
    if leg == "3.0":
        # The system library: no OPENSSL_DIR, compiler defaults / pkg-config find it.
        return {"OPENSSL_DIR": "", "LD_LIBRARY_PATH": "", "ASYNCSSL_EXPECT_FEATURES": EXPECTED_FEATURES[leg]}
    prefix = subprocess.run(
        [sys.executable, str(ROOT / "wheels" / "provision_openssl.py"), leg],
        check=True, stdout=subprocess.PIPE, text=True,
    ).stdout.strip().splitlines()[-1]
    return {
        "OPENSSL_DIR": prefix,
        # Python's own _ssl loads libssl.so.3 by soname; on the 3.5 leg it must find this
        # build's, or the system one shadows it in the same process.
        "LD_LIBRARY_PATH": f"{prefix}/lib",
        "PATH": f"{prefix}/bin{os.pathsep}{os.environ.get('PATH', '')}",
        "ASYNCSSL_EXPECT_FEATURES": EXPECTED_FEATURES[leg],
    }


def install_against(session: nox.Session, env: dict[str, str], extras: str = "test") -> None:
    # --force-reinstall --no-cache-dir: the built extension depends on OPENSSL_DIR,
    # so a wheel built for another leg must never be reused.
    session.install("--force-reinstall", "--no-cache-dir", "--no-deps", ".", env=env)
    session.install(f".[{extras}]", env=env)


@nox.session
@nox.parametrize("openssl", LEGS)
def tests(session: nox.Session, openssl: str) -> None:
    """Build asyncssl against one OpenSSL leg and run the whole suite on it."""
    env = openssl_env(openssl)
    install_against(session, env)
    session.run("python", "-m", "asyncssl", "info", env=env)
    # Run from tests/'s parent but against the installed package: src/ is not on sys.path.
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "build_ffi.py", "noxfile.py", "wheels", "tools")


@nox.session
@nox.parametrize("openssl", ["3.5"])
def demo(session: nox.Session, openssl: str) -> None:
    """The main job, on the leg that has everything."""
    env = openssl_env(openssl)
    install_against(session, env)
    session.run("python", "-m", "asyncssl", "demo", *session.posargs, env=env)


@nox.session
@nox.parametrize("openssl", ["3.5"])
def bench(session: nox.Session, openssl: str) -> None:
    """Benchmarks with ratios against the anchors (C, Python's ssl, pyOpenSSL, aioquic)."""
    env = openssl_env(openssl)
    install_against(session, env, extras="test,bench")
    session.run("python", "-m", "asyncssl", "bench", *(session.posargs or ["all"]), env=env)
