#!/usr/bin/env python3
"""Check an asyncssl installed from the sdist is built against the system OpenSSL, and says so.

    VENV/bin/python wheels/check_installed_sdist.py

Run from outside the source tree. Fails unless asyncssl is imported from this environment,
links the same OpenSSL as Python's own ssl module (the system library, found through
pkg-config or the compiler's defaults), dynamically, and its capabilities() match what that
version has: on Debian 12's 3.0, no QUIC, no SSL_handle_events, no SSL_poll.
"""

from __future__ import annotations

import ssl
import sys
import sysconfig
from pathlib import Path

import asyncssl
from asyncssl import _binding

# (capability, first OpenSSL version that has it), as in the README's table.
SINCE = {"handle_events": 0x30200000, "quic_client": 0x30200000, "ssl_poll": 0x30300000,
         "value_api": 0x30300000, "quic_server": 0x30500000}


def main() -> int:
    problems = []
    where = Path(asyncssl.__file__).resolve()
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    if site not in where.parents:
        problems.append(f"asyncssl comes from {where}, not from {site}")
    version, number, caps = asyncssl.openssl_version(), asyncssl.openssl_version_number(), asyncssl.capabilities()
    print(f"asyncssl from {where}: {version} (compiled {_binding.compiled_version()}); Python's ssl: {ssl.OPENSSL_VERSION}")
    print(f"capabilities: {caps}")
    if version != ssl.OPENSSL_VERSION:
        problems.append(f"asyncssl links {version!r}, Python's ssl {ssl.OPENSSL_VERSION!r}: not the system library")
    if caps["static_openssl"] or _binding.openssl_prefix():
        problems.append("built from a chosen OpenSSL (static or OPENSSL_DIR), not the system one")
    for name, since in SINCE.items():
        if caps[name] is not (number >= since):
            problems.append(f"capabilities()[{name!r}] is {caps[name]} on {version}")
    for problem in problems:
        print(f"check_installed_sdist: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
