"""Compile a C contender against the very OpenSSL asyncssl is linked with.

A C reference only means something on the same build: its prefix comes from
``asyncssl._binding.openssl_prefix()`` ('' = the system library, found by the compiler's
default paths).  A non-system build is linked with an RPATH to its ``lib`` directory, so
the binary cannot silently pick up the system libssl.so.3; the binary also prints
``OpenSSL_version()`` at run time, and the suite shows it, so nobody has to trust this.

Binaries are cached under ``$XDG_CACHE_HOME/asyncssl/bench`` keyed by the source, the
prefix, the flags and the compiler's version, so a re-run does not recompile.
The compiler is ``$CC`` (default ``cc``); ``$CFLAGS`` and ``$LDFLAGS`` are honoured.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from pathlib import Path


class CCompileError(RuntimeError):
    """The C contender could not be built; the message says what to install or set."""


def c_source(name: str) -> Path:
    """``<name>`` from the C contenders' sources: ``asyncssl/bench/csrc/`` (package data, so
    an installed package has them too), or ``$ASYNCSSL_BENCH_C_DIR`` to try other sources."""
    env = os.environ.get("ASYNCSSL_BENCH_C_DIR")
    directory = Path(env) if env else Path(__file__).resolve().parent / "csrc"
    path = directory / name
    if not path.is_file():
        where = "$ASYNCSSL_BENCH_C_DIR" if env else "the package (a build that left out its package data?)"
        raise CCompileError(f"{path} not found in {where}: the C contenders are compiled from asyncssl/bench/csrc/")
    return path


def linked_prefix() -> str:
    """The OpenSSL prefix asyncssl's extension was built against ('' = system)."""
    from .. import _binding

    return _binding.openssl_prefix()


def openssl_flags(prefix: str) -> tuple[list[str], list[str], str | None]:
    """``(cflags, ldflags, libdir)`` for compiling and linking against ``prefix``."""
    if not prefix:
        return [], ["-lssl", "-lcrypto"], None
    root = Path(prefix)
    libdir = next((root / d for d in ("lib64", "lib") if any((root / d).glob("libssl.so*"))), None)
    if libdir is not None:
        return [f"-I{root / 'include'}"], [f"-L{libdir}", f"-Wl,-rpath,{libdir}", "-lssl", "-lcrypto"], str(libdir)
    # A static-only prefix (how the wheels are built): link the same archives statically.
    # There is then no shared library for Python's ssl to load; the report flags that.
    static = next((root / d for d in ("lib64", "lib") if (root / d / "libssl.a").is_file()), None)
    if static is None:
        raise CCompileError(f"no libssl (shared or static) under {prefix}/lib or lib64: the OpenSSL asyncssl "
                            "was built against is not on this machine (a wheel?); the C contender needs it")
    return ([f"-I{root / 'include'}"],
            [str(static / "libssl.a"), str(static / "libcrypto.a"), "-ldl", "-pthread"], None)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "asyncssl" / "bench"


def compile_c(source: Path, prefix: str, *, extra_cflags: list[str] | None = None) -> Path:
    """Compile ``source`` into an executable linked with the OpenSSL at ``prefix``; return its path."""
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise CCompileError(f"no C compiler ({cc!r} not on PATH): install one (Debian: apt-get install gcc) or set CC")
    cflags, ldflags, _ = openssl_flags(prefix)
    command_flags = (["-O2", "-Wall"] + (extra_cflags or []) + shlex.split(os.environ.get("CFLAGS", ""))
                     + cflags)
    link_flags = shlex.split(os.environ.get("LDFLAGS", "")) + ldflags
    try:
        version = subprocess.run([cc, "--version"], capture_output=True, text=True, check=False).stdout
    except OSError as exc:
        raise CCompileError(f"cannot run the C compiler {cc!r}: {exc}") from exc
    # the local headers a source includes are part of what gets compiled
    headers = [h.read_text() for h in sorted(source.parent.glob("*.h"))]
    key = hashlib.sha256("\0".join([source.read_text(), *headers, prefix, cc, version, *command_flags, *link_flags])
                         .encode()).hexdigest()[:16]
    output = _cache_dir() / f"{source.stem}-{key}"
    if output.is_file():
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + f".{os.getpid()}.tmp")
    command = [cc, *command_flags, "-o", str(tmp), str(source), *link_flags]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        hint = ("the OpenSSL headers are missing (Debian: apt-get install libssl-dev)"
                if "openssl/" in result.stderr and "No such file" in result.stderr else "see the compiler output")
        raise CCompileError(f"compiling {source.name} failed ({hint}):\n$ {shlex.join(command)}\n{result.stderr}")
    os.replace(tmp, output)  # atomic: two concurrent runs never see a half-written binary
    return output


def compile_linked(name: str) -> tuple[str | None, str | None]:
    """``(binary, None)`` for ``csrc/<name>`` compiled against the linked OpenSSL, or
    ``(None, why it cannot be built)``: for a contender that is then "not measured"."""
    try:
        return str(compile_c(c_source(name), linked_prefix())), None
    except CCompileError as exc:
        return None, str(exc)
