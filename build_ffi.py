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
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))

from _cffi_src import MODULES  # noqa: E402

MIN_MAJOR = 3


def _load_elf_reader():
    # src/asyncssl/_binding/elf.py is stdlib-only; load it by path (importing the asyncssl package
    # would need the extension this script is about to build).
    spec = importlib.util.spec_from_file_location("_asyncssl_elf", ROOT / "src" / "asyncssl" / "_binding" / "elf.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


_elf = _load_elf_reader()


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
        if not static:
            static, message = link_plan(prefix, libdir)
            if message:
                print(f"\nasyncssl build: {message}\n", file=sys.stderr, flush=True)
        return {"prefix": str(prefix), "include_dirs": [str(include)], "library_dirs": [str(libdir)], "static": static}
    found = _pkg_config()
    if found and found[0]:
        return {"prefix": "", "include_dirs": found[0], "library_dirs": found[1], "static": False}
    return {"prefix": "", "include_dirs": [], "library_dirs": [], "static": False}


# --- one process, two OpenSSLs ----------------------------------------------------------------
# Python's _ssl and _hashlib load the system's libssl.so.3/libcrypto.so.3. A chosen OpenSSL whose
# shared libraries carry the same soname is never loaded beside them: the dynamic linker reuses
# the library already in the process, and asyncssl fails to import ("version `OPENSSL_3.2.0' not
# found") after `import ssl`, `hashlib`, `asyncio`, ... . Equal symbol-version names are a risk
# too (a library loaded RTLD_GLOBAL interposes). Such a prefix is linked statically instead.


def _system_libraries() -> dict[str, Path]:
    """soname -> file of the libssl/libcrypto that Python's ssl and hashlib modules load."""
    import sysconfig

    needed, search = [], []
    dynload = Path(sysconfig.get_path("platstdlib")) / "lib-dynload"
    for module in ("_ssl", "_hashlib"):
        for ext in dynload.glob(f"{module}.*"):
            info = _elf.read_dynamic(ext)
            if info:
                needed += [n for n in info.needed if n.startswith(("libssl", "libcrypto"))]
                search += info.runpath
    needed = needed or ["libssl.so.3", "libcrypto.so.3"]
    try:
        cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    except OSError:
        cache = ""
    found: dict[str, Path] = {}
    for soname in dict.fromkeys(needed):
        candidates = [Path(d) / soname for d in search]
        candidates += [Path(m.group(1)) for m in re.finditer(rf"^\s*{re.escape(soname)} .*=> (\S+)$", cache, re.M)]
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is not None:
            found[soname] = hit
    return found


def name_collisions(libdir: Path) -> list[str]:
    """How the shared libraries in `libdir` would clash with the system's, one line each ([] = none)."""
    system = _system_libraries()
    system_versions = {soname: set((_elf.read_dynamic(path) or _elf.DynamicInfo()).version_names)
                       for soname, path in system.items()}
    problems = []
    for name in ("libssl.so", "libcrypto.so"):
        lib_file = libdir / name
        info = _elf.read_dynamic(lib_file) if lib_file.is_file() else None
        if info is None or info.soname is None:
            continue
        if any(lib_file.resolve() == path.resolve() for path in system.values()):
            continue  # OPENSSL_DIR is the system's own OpenSSL
        if info.soname in system:
            problems.append(f"{lib_file} has the soname {info.soname}, as the system's {system[info.soname]}")
        shared = sorted(set(info.version_names) & set().union(*system_versions.values()))
        if shared:
            problems.append(f"{lib_file} defines the symbol versions {', '.join(shared[:3])}"
                            f"{', ...' if len(shared) > 3 else ''}, as the system's libraries do")
    return problems


def link_plan(prefix: Path, libdir: Path) -> tuple[bool, str | None]:
    """(link statically?, what to tell the builder) for a shared OPENSSL_DIR."""
    problems = name_collisions(libdir)
    if not problems:
        return False, None
    why = "; ".join(problems)
    archives = [libdir / "libssl.a", libdir / "libcrypto.a"]
    if all(a.is_file() for a in archives):
        return True, (f"OPENSSL_DIR={prefix}: {why}. Loaded as a shared library it could not sit beside the "
                      "system OpenSSL that Python's ssl module loads, so asyncssl links libssl.a and libcrypto.a "
                      "statically, with their symbols hidden.")
    return False, (f"warning: OPENSSL_DIR={prefix}: {why}, and it has no static libraries to link instead. asyncssl "
                   "built against it will fail to import in any process that loaded the system OpenSSL first "
                   "(import ssl, hashlib, asyncio, trustme, cryptography.x509, OpenSSL.crypto, ...). Rebuild that "
                   "OpenSSL with its own names (Configure's shlib_variant, as wheels/provision_openssl.py does) or "
                   "with static libraries (libssl.a, libcrypto.a).")


def check_version(where: dict) -> None:
    include = Path(where["include_dirs"][0]) if where["include_dirs"] else None
    major = _header_major(include)
    if major is None or major < MIN_MAJOR:
        raise OpenSSLNotFound(
            f"the OpenSSL headers found{' in ' + str(include) if include else ''} are older than 3.0. "
            "asyncssl needs OpenSSL 3.0 or newer: install OpenSSL 3 development files, or set "
            "OPENSSL_DIR to an OpenSSL 3.x prefix (`python wheels/provision_openssl.py 3.5` builds one)."
        )


# --- no build-machine path in the binary ------------------------------------------------------
# Sources compiled by absolute path leave that path in the extension: in __FILE__ (OpenSSL's
# OPENSSL_FILE, assert, simaccel's error debug info) and in the debug information's file and
# compilation-directory names. The prefix maps rewrite it to "." at compile time, so the same
# sources give the same strings on every machine (tests/foundation/test_build_paths.py).


def _compiler() -> list[str]:
    """The C compiler distutils will run: $CC, else the one Python was built with."""
    return shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")


def _compiler_accepts(flags: list[str]) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "probe.c"
        source.write_text("int asyncssl_probe(void) { return 0; }\n")
        try:
            proc = subprocess.run([*_compiler(), *flags, "-Werror", "-c", str(source), "-o", str(Path(tmp) / "probe.o")],
                                  capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return proc.returncode == 0


def prefix_map_flags(*directories: str | os.PathLike) -> list[str]:
    """Compiler flags that write each directory (as given and resolved) as "." into __FILE__ and the
    debug information; [] if the compiler knows none of them (gcc >= 8 and clang >= 10 know
    -ffile-prefix-map; older ones only the separate -fdebug-prefix-map/-fmacro-prefix-map)."""
    # Nested directories (the build directory inside the checkout) map to "." whichever of their
    # maps the compiler applies, so the order does not matter.
    dirs = list(dict.fromkeys(p for d in directories for p in (os.path.abspath(d), os.path.realpath(d))))
    for options in (["-ffile-prefix-map"], ["-fdebug-prefix-map", "-fmacro-prefix-map"], ["-fdebug-prefix-map"]):
        if _compiler_accepts([f"{option}=/asyncssl-probe=." for option in options]):
            return [f"{option}={d}=." for d in dirs for option in options]
    return []


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
        # the OpenSSL headers, then the modules' own C (the simulated accelerator's sources)
        "include_dirs": where["include_dirs"] + [d for m in modules for d in getattr(m, "INCLUDE_DIRS", [])],
        # The checkout, and the directory the build runs in (setuptools compiles there, in build/temp.*).
        "extra_compile_args": ["-Werror=implicit-function-declaration", *prefix_map_flags(ROOT, os.getcwd())],
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
