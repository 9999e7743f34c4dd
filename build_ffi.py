"""Build asyncssl._openssl: one cffi API-mode (out-of-line) module from src/_cffi_src.

Where OpenSSL is found, in order:
1. ``OPENSSL_DIR``: ``$OPENSSL_DIR/include`` and ``$OPENSSL_DIR/lib`` (or ``lib64``).
   A directory with only static libraries (``libssl.a``) is linked statically with its
   symbols hidden (wheels); otherwise the extension gets a RUNPATH to that lib dir.
2. ``pkg-config openssl``.
3. the compiler's default search paths (the system OpenSSL).
``CFLAGS``/``LDFLAGS`` from the environment are honoured by the compiler as usual.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))

from _cffi_src import MODULES  # noqa: E402

MIN_MAJOR = 3


class OpenSSLNotFound(SystemExit):
    def __init__(self, message: str):
        super().__init__(f"\nasyncssl build: {message}\n")


def _header_major(include_dir: Path | None) -> int | None:
    """The OPENSSL_VERSION_MAJOR of the headers (None: macro absent, i.e. before 3.0)."""
    candidates = [include_dir] if include_dir else []
    candidates += [Path("/usr/include"), Path("/usr/local/include")]
    for inc in candidates:
        header = inc / "openssl" / "opensslv.h"
        if header.is_file():
            m = re.search(r"#\s*define\s+OPENSSL_VERSION_MAJOR\s+(\d+)", header.read_text(errors="replace"))
            return int(m.group(1)) if m else None
    raise OpenSSLNotFound(
        "OpenSSL headers not found (openssl/opensslv.h). Install them (Debian/Ubuntu: "
        "`apt-get install libssl-dev`; Fedora: `dnf install openssl-devel`; macOS: build OpenSSL "
        "and set OPENSSL_DIR), or set OPENSSL_DIR to an OpenSSL 3.x prefix containing include/ and lib/."
    )


def _pkg_config() -> tuple[list[str], list[str]] | None:
    if shutil.which("pkg-config") is None:
        return None
    try:
        cflags = subprocess.run(["pkg-config", "--cflags-only-I", "openssl"], capture_output=True, text=True, check=True)
        libs = subprocess.run(["pkg-config", "--libs-only-L", "openssl"], capture_output=True, text=True, check=True)
    except (subprocess.CalledProcessError, OSError):
        return None
    incs = [a[2:] for a in cflags.stdout.split() if a.startswith("-I")]
    libdirs = [a[2:] for a in libs.stdout.split() if a.startswith("-L")]
    return incs, libdirs


def locate_openssl() -> dict:
    """Where to compile and link from, and how (shared with RUNPATH, static, or system)."""
    env_dir = os.environ.get("OPENSSL_DIR")
    if env_dir:
        prefix = Path(env_dir).expanduser().resolve()
        include = prefix / "include"
        if not (include / "openssl" / "opensslv.h").is_file():
            raise OpenSSLNotFound(
                f"OPENSSL_DIR={env_dir} has no include/openssl/opensslv.h. Point OPENSSL_DIR at an "
                "OpenSSL 3.x installation prefix (the --prefix it was configured with), e.g. the one "
                "printed by `python wheels/provision_openssl.py 3.5`, or unset it to use the system OpenSSL."
            )
        libdir = next((prefix / d for d in ("lib", "lib64") if any((prefix / d).glob("libssl.*"))), None)
        if libdir is None:
            raise OpenSSLNotFound(f"OPENSSL_DIR={env_dir} has no lib/ or lib64/ with libssl; point it at a built and installed OpenSSL 3.x.")
        static = not any(libdir.glob("libssl.so*")) and not any(libdir.glob("libssl*.dylib"))
        return {"prefix": str(prefix), "include_dirs": [str(include)], "library_dirs": [str(libdir)], "static": static}
    found = _pkg_config()
    if found and found[0]:
        include = Path(found[0][0])
        prefix = include.parent
        return {"prefix": "", "include_dirs": found[0], "library_dirs": found[1], "static": False}
    return {"prefix": "", "include_dirs": [], "library_dirs": [], "static": False}


def check_version(where: dict) -> None:
    include = Path(where["include_dirs"][0]) if where["include_dirs"] else None
    major = _header_major(include)
    if major is None or major < MIN_MAJOR:
        raise OpenSSLNotFound(
            f"the OpenSSL headers found{' in ' + str(include) if include else ''} are older than 3.0. "
            "asyncssl needs OpenSSL 3.0 or newer: install OpenSSL 3 development files, or set "
            "OPENSSL_DIR to an OpenSSL 3.x prefix (`python wheels/provision_openssl.py 3.5` builds one)."
        )


def build_ffi() -> FFI:
    where = locate_openssl()
    check_version(where)
    modules = [importlib.import_module(f"_cffi_src.{name}") for name in MODULES]

    ffi = FFI()
    cdef = "".join(m.TYPES + m.FUNCTIONS for m in modules)
    cdef += "\nstatic const char *const ASYNCSSL_OPENSSL_PREFIX;\nstatic const long ASYNCSSL_STATIC_OPENSSL;\n"
    ffi.cdef(cdef)

    prefix_literal = where["prefix"].replace("\\", "\\\\").replace('"', '\\"')
    source = "\n".join(m.INCLUDES for m in modules) + "\n".join(m.CUSTOMIZATIONS for m in modules)
    source += f'\nstatic const char *const ASYNCSSL_OPENSSL_PREFIX = "{prefix_literal}";\n'
    source += f"static const long ASYNCSSL_STATIC_OPENSSL = {1 if where['static'] else 0};\n"

    kwargs: dict = {
        "include_dirs": where["include_dirs"],
        "extra_compile_args": ["-Werror=implicit-function-declaration"],
    }
    if where["static"]:
        libdir = Path(where["library_dirs"][0])
        # Link the archives and hide their symbols, so the wheel's OpenSSL never
        # interposes on (or is interposed by) another libssl in the same process.
        kwargs["extra_objects"] = [str(libdir / "libssl.a"), str(libdir / "libcrypto.a")]
        if sys.platform.startswith("linux"):
            kwargs["extra_link_args"] = ["-Wl,--exclude-libs,ALL"]
        elif sys.platform == "darwin":
            # export only the module's init function: OpenSSL's symbols stay private
            kwargs["extra_link_args"] = ["-Wl,-exported_symbol,_PyInit__openssl"]
        else:
            kwargs["extra_link_args"] = []
        kwargs["libraries"] = ["pthread"] if sys.platform.startswith("linux") else []
    else:
        kwargs["libraries"] = ["ssl", "crypto"]
        kwargs["library_dirs"] = where["library_dirs"]
        if where["prefix"]:
            kwargs["runtime_library_dirs"] = where["library_dirs"]
    ffi.set_source("asyncssl._openssl", source, **kwargs)
    return ffi


ffibuilder = build_ffi()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
