"""The simulated accelerator (C sources in ./simaccel/): load it, configure it, build its module.

Two builds of the same C sources:
- compiled into asyncssl's extension: ``load_simulated_accelerator(libctx)`` registers it
  as the builtin provider "simaccel" of `libctx` (``OSSL_PROVIDER_add_builtin``), loads
  it with the default provider and makes the context prefer its signatures;
- a loadable provider module: ``build_simulated_accelerator_module(dir)`` compiles
  ``simaccel.so`` against the OpenSSL the extension was built with, for
  ``LibraryContext.load_provider(path)`` or ``openssl s_server -provider-path dir
  -provider simaccel -provider default -propquery PREFERENCE -async``; it reads its
  settings from SIMACCEL_LATENCY, SIMACCEL_FAIL_EVERY, SIMACCEL_EAGAIN_EVERY and
  SIMACCEL_TRACE when the provider is initialised.

Why the builtin copy is part of the production extension: a provider only serves the
libcrypto it runs in. The wheels link OpenSSL statically with its symbols hidden, so the
extension's libcrypto exists only inside ``asyncssl._openssl``, and a provider built
separately (the module above) would bind to another libcrypto and never be used by the
extension's library contexts. So the provider is compiled into the same binary; it is
inert until ``load_simulated_accelerator`` registers it.

The C sources are package data (``asyncssl/testing/simaccel/*.c, *.h``), so the module can
be built from an installed package; no path of the machine that built asyncssl is used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .._binding import check, ffi, lib, openssl_prefix
from .._binding.errors import Error
from ..offload.provider import LibraryContext, Provider

#: The property query that makes a library context prefer simaccel's signatures (and
#: not its key managers, which only import keys exported to it).
PREFERENCE: str = ffi.string(lib.ASYNCSSL_SIMACCEL_PREFERENCE).decode()
NAME: str = ffi.string(lib.ASYNCSSL_SIMACCEL_NAME).decode()

_default_ctx_registered = False
_fork_hook_registered = False


def configure_simulated_accelerator(*, latency: float = 0.001, fail_every: int = 0, eagain_every: int = 0) -> None:
    """Set the builtin device's latency (seconds) and failure injection.

    Process-wide: the builtin simulates one device shared by every library context.
    ``fail_every=n``: every n-th operation fails (status ERR, the signature fails);
    ``eagain_every=n``: every n-th operation is first refused with status EAGAIN and a
    wakeup, and submitted again when the application retries.
    """
    latency = float(latency)
    if not latency >= 0:
        raise ValueError("latency must be a number of seconds >= 0")
    for name, value in (("fail_every", fail_every), ("eagain_every", eagain_every)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**32:
            raise ValueError(f"{name} must be an int >= 0 (0: never)")
    lib.asyncssl_simaccel_configure(latency, fail_every, eagain_every)


def load_simulated_accelerator(libctx: LibraryContext | None, *, latency: float = 0.001, fail_every: int = 0,
                               eagain_every: int = 0) -> Provider:
    """Load the simulated accelerator into `libctx` (None: the process's default context) and
    make it preferred for the signatures it offers (ECDSA, RSA PKCS#1 v1.5 and PSS)."""
    global _default_ctx_registered, _fork_hook_registered
    if not _fork_hook_registered:
        # the device's worker thread does not survive fork(): the child gets a new one
        os.register_at_fork(after_in_child=lib.asyncssl_simaccel_after_fork_child)
        _fork_hook_registered = True
    if libctx is not None and not isinstance(libctx, LibraryContext):
        raise TypeError("libctx must be an asyncssl.LibraryContext or None")
    configure_simulated_accelerator(latency=latency, fail_every=fail_every, eagain_every=eagain_every)
    if libctx is None:
        if not _default_ctx_registered:
            check(lib.asyncssl_simaccel_register(ffi.NULL), "OSSL_PROVIDER_add_builtin(simaccel)")
            _default_ctx_registered = True
        # The default context keeps its providers for the life of the process.
        for name in (b"default", NAME.encode()):
            if lib.OSSL_PROVIDER_load(ffi.NULL, name) == ffi.NULL:
                check(False, f"OSSL_PROVIDER_load({name.decode()!r})")
        check(lib.EVP_set_default_properties(ffi.NULL, PREFERENCE.encode()), "EVP_set_default_properties")
        ptr = lib.OSSL_PROVIDER_load(ffi.NULL, NAME.encode())
        return Provider(ptr, None)
    if libctx.closed:
        raise Error("this LibraryContext is closed")
    if not libctx._simaccel_registered:
        check(lib.asyncssl_simaccel_register(libctx._libctx), "OSSL_PROVIDER_add_builtin(simaccel)")
        libctx._simaccel_registered = True
    # Loading a provider explicitly turns off the automatic fallback to "default", and
    # simaccel delegates everything else (digests, key exchange, ciphers) to it.
    libctx.load_provider("default")
    provider = libctx.load_provider(NAME)
    libctx.set_default_properties(PREFERENCE)
    return provider


def simulated_accelerator_stats() -> dict[str, int]:
    """Counters of the builtin device since the process started (or the last reset), e.g. to
    check that handshakes really paused on it.

    Keys: ``operations`` (sign/verify operations submitted), ``completed`` (those that finished,
    successfully or not), ``failures`` (those that failed, injected by ``fail_every`` or real),
    ``eagains`` (submissions refused with ``ASYNC_STATUS_EAGAIN``), ``pauses`` (async jobs
    paused while the device worked), ``spurious_resumes`` (resumes that found the operation
    unfinished), ``fd_notifications`` and ``callback_notifications`` (completions signalled
    through the wait fd / the ``ASYNC_WAIT_CTX`` callback), ``sync_operations`` (operations run
    outside an async job, which block for the latency). Process-wide, like the device.
    """
    stats = ffi.new("struct simaccel_stats *")
    lib.asyncssl_simaccel_stats(stats)
    return {name: int(getattr(stats, name)) for name in dir(stats)}


def reset_simulated_accelerator_stats() -> None:
    """Set every counter of ``simulated_accelerator_stats()`` back to 0."""
    lib.asyncssl_simaccel_reset_stats()


def simulated_accelerator_source_dir() -> Path:
    """Where the provider's C sources are: $ASYNCSSL_SIMACCEL_SRC (when it holds them), else the
    copy shipped in this package (``asyncssl/testing/simaccel``)."""
    candidates = []
    if os.environ.get("ASYNCSSL_SIMACCEL_SRC"):
        candidates.append(Path(os.environ["ASYNCSSL_SIMACCEL_SRC"]))
    # Relative to the installed package, never to the build machine's checkout.
    candidates.append(Path(__file__).resolve().parent / "simaccel")
    for d in candidates:
        if (d / "simaccel_module.c").is_file():
            return d
    raise Error("the simulated accelerator's C sources were not found (looked in "
                + ", ".join(map(str, candidates)) + "); set ASYNCSSL_SIMACCEL_SRC to a directory with "
                "simaccel_module.c (src/asyncssl/testing/simaccel in a source checkout)")


def build_simulated_accelerator_module(dest_dir: str | os.PathLike[str], *, extra_cflags: list[str] | None = None) -> Path:
    """Compile the loadable provider module ``dest_dir/simaccel.so`` against the OpenSSL the
    extension was built with (``_binding.openssl_prefix()``; '' = the system's headers and
    libcrypto), with the C compiler from $CC (else cc)."""
    if lib.ASYNCSSL_STATIC_OPENSSL:
        raise Error("this asyncssl links a static OpenSSL (a wheel): a provider module would load a different "
                    "libcrypto. Use load_simulated_accelerator() (the builtin), or build asyncssl against a shared "
                    "OpenSSL.")
    src = simulated_accelerator_source_dir()
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise Error("no C compiler found: set CC")
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / "simaccel.so"
    cmd = [*cc.split(), "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-fvisibility=hidden", "-pthread",
           *(extra_cflags or [])]
    prefix = openssl_prefix()
    if prefix:
        libdir = next((Path(prefix) / d for d in ("lib", "lib64") if (Path(prefix) / d).is_dir()), Path(prefix) / "lib")
        cmd += [f"-I{prefix}/include", f"-L{libdir}", f"-Wl,-rpath,{libdir}"]
    cmd += sorted(str(path) for path in src.glob("simaccel_*.c"))  # the provider's parts and its module entry
    cmd += ["-o", str(out), "-lcrypto"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise Error(f"building the simaccel provider module failed:\n$ {' '.join(cmd)}\n{proc.stderr}")
    return out
