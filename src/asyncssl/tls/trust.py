"""Where CA certificates are looked up, with fallbacks for wheels.

A wheel's OpenSSL has its OPENSSLDIR baked in at build time (a directory of the build
machine), so its default CA file and directory usually do not exist on the user's machine.
When the library's defaults have no certificates, the usual locations of the common
distributions are tried, in order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .._binding import lib, text

# The usual CA bundle files and hashed directories of Linux distributions and macOS.
FALLBACK_CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Gentoo, Arch, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL, CentOS
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # Fedora, RHEL (extracted)
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # macOS, Alpine, FreeBSD
    "/usr/local/etc/openssl/cert.pem",  # macOS Homebrew layout
)
FALLBACK_CA_DIRS = (
    "/etc/ssl/certs",  # Debian, Ubuntu, SUSE
    "/etc/pki/tls/certs",  # Fedora, RHEL
)


@dataclass(frozen=True)
class CALocation:
    source: str  # where the path came from
    kind: str  # "file" or "dir"
    path: str
    usable: bool


def _usable(kind: str, path: str) -> bool:
    if kind == "file":
        return os.path.isfile(path) and os.path.getsize(path) > 0
    return os.path.isdir(path) and any(name.endswith(".0") for name in os.listdir(path))


def default_locations() -> list[CALocation]:
    """The library's own defaults, honouring SSL_CERT_FILE / SSL_CERT_DIR like OpenSSL does."""
    found = []
    for kind, default_fn, env_fn in (
        ("file", lib.X509_get_default_cert_file, lib.X509_get_default_cert_file_env),
        ("dir", lib.X509_get_default_cert_dir, lib.X509_get_default_cert_dir_env),
    ):
        env_name = text(env_fn())
        if os.environ.get(env_name):
            for path in os.environ[env_name].split(os.pathsep) if kind == "dir" else [os.environ[env_name]]:
                found.append(CALocation(f"${env_name}", kind, path, _usable(kind, path)))
        else:
            path = text(default_fn())
            found.append(CALocation("OpenSSL default", kind, path, _usable(kind, path)))
    return found


def fallback_locations() -> list[CALocation]:
    return [CALocation("distribution fallback", "file", p, _usable("file", p)) for p in FALLBACK_CA_FILES] + [
        CALocation("distribution fallback", "dir", p, _usable("dir", p)) for p in FALLBACK_CA_DIRS
    ]


def lookup_plan() -> list[CALocation]:
    """Every location considered, in order (what `python -m asyncssl info` shows)."""
    return default_locations() + fallback_locations()


def verify_locations() -> tuple[str | None, str | None]:
    """(cafile, capath) to load when the library's defaults have nothing usable; (None, None) otherwise."""
    if any(loc.usable for loc in default_locations()):
        return None, None
    cafile = next((loc.path for loc in fallback_locations() if loc.kind == "file" and loc.usable), None)
    capath = next((loc.path for loc in fallback_locations() if loc.kind == "dir" and loc.usable), None)
    return cafile, capath
