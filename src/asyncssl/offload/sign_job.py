"""``SignJob``: one signature computed inside an OpenSSL async job.

Everything Python does happens outside the job: converting the key, fetching and
initialising the signature, sizing the output.  The job itself runs a C function
(``asyncssl_start_sign_job`` in _cffi_src/offload.py) that calls ``EVP_DigestSign``,
so an offloading provider can pause it (``ASYNC_pause_job``) -- and no Python ever runs on
the job's small stack.  The owner (``aio.sign``) calls ``step()`` to start or resume the
job and, between steps, waits for ``wait_fds()`` (or the wait ctx callback).

Rules OpenSSL imposes, enforced here:

1. A paused job is resumed on the thread that started it. Threads are told apart by
   ``asyncssl_thread_tag()`` (a number never reused in the process), never by
   ``threading.get_ident()``: a new thread may get a dead thread's ident, and resuming a job
   there would jump into freed async state.
2. The buffers the job uses stay alive and unmoved until it finishes: they are attributes of
   this object, and while the job is paused the object is also held by ``_PAUSED`` — so an
   owner that drops it (a cancelled task, a finished thread, the garbage collector) cannot
   free memory the job or the provider's device still writes to. A job whose thread is gone
   can never be finished; it is kept, not freed (a leak the size of one signature's state,
   instead of a crash).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .._binding import CData, drain_errors, error_from_queue, ffi, lib
from .._binding.errors import Error
from .provider import LibraryContext
from .wait_ctx import AsyncWaitCtx

_PAUSED: set[Any] = set()  # jobs an OpenSSL async job is paused in (rule 2)


def _libctx_pointer(libctx: LibraryContext | None) -> CData:
    if libctx is None:
        return ffi.NULL
    ptr = getattr(libctx, "_libctx", None)
    if not isinstance(ptr, ffi.CData):
        raise TypeError("libctx must be an asyncssl.LibraryContext or None")
    return ptr


class SignJob:
    """``EVP_DigestSign`` of `data` with `private_key` and `algorithm`, run in an ``ASYNC_JOB``."""

    def __init__(self, private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, data: bytes | bytearray | memoryview,
                 *, algorithm: hashes.HashAlgorithm, libctx: LibraryContext | None = None,
                 wait_ctx: AsyncWaitCtx | None = None) -> None:
        if isinstance(private_key, rsa.RSAPrivateKey):
            is_rsa = True
        elif isinstance(private_key, ec.EllipticCurvePrivateKey):
            is_rsa = False
        else:
            raise TypeError(
                f"private_key must be a cryptography EC or RSA private key, not {type(private_key).__name__}")
        if not isinstance(algorithm, hashes.HashAlgorithm):
            raise TypeError("algorithm must be a cryptography hash instance, e.g. hashes.SHA256()")
        self._data = bytes(data)  # a private copy: the job reads it while paused
        # Held for the life of the job: this pointer keeps the OSSL_LIB_CTX alive while the
        # key and contexts below, which point into it, exist.
        self._libctx_ptr = libctx_ptr = _libctx_pointer(libctx)

        der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        drain_errors()
        der_buf = ffi.from_buffer(der)
        pp = ffi.new("const unsigned char **", ffi.cast("const unsigned char *", der_buf))
        pkey = lib.d2i_AutoPrivateKey_ex(ffi.NULL, pp, len(der), libctx_ptr, ffi.NULL)
        if pkey == ffi.NULL:
            raise error_from_queue(Error, "could not load the private key into OpenSSL")
        self._pkey = ffi.gc(pkey, lib.EVP_PKEY_free)

        md = lib.EVP_MD_CTX_new()
        if md == ffi.NULL:
            raise MemoryError("EVP_MD_CTX_new failed")
        self._md = ffi.gc(md, lib.EVP_MD_CTX_free)
        pctx = ffi.new("EVP_PKEY_CTX **")
        if lib.EVP_DigestSignInit_ex(self._md, pctx, algorithm.name.encode("ascii"), libctx_ptr, ffi.NULL,
                                     self._pkey, ffi.NULL) <= 0:
            raise error_from_queue(Error, f"EVP_DigestSignInit_ex failed for {algorithm.name!r}")
        if is_rsa and lib.EVP_PKEY_CTX_set_rsa_padding(pctx[0], lib.RSA_PKCS1_PADDING) <= 0:
            raise error_from_queue(Error, "EVP_PKEY_CTX_set_rsa_padding(RSA_PKCS1_PADDING) failed")

        siglen = ffi.new("size_t *")
        if lib.EVP_DigestSign(self._md, ffi.NULL, siglen, self._data, len(self._data)) <= 0:
            raise error_from_queue(Error, "EVP_DigestSign (size query) failed")
        self._sig = ffi.new("unsigned char[]", siglen[0])
        self._args = ffi.new("struct asyncssl_sign_job *")
        self._data_buf = ffi.from_buffer(self._data)
        self._args.mdctx = self._md
        self._args.data = self._data_buf
        self._args.datalen = len(self._data)
        self._args.sig = self._sig
        self._args.siglen = siglen[0]

        self.wait_ctx = wait_ctx if wait_ctx is not None else AsyncWaitCtx()
        self._job = ffi.new("ASYNC_JOB **")
        self._ret = ffi.new("int *")
        self._thread: int | None = None  # asyncssl_thread_tag() of the thread that started the job
        self.paused = False
        self.done = False
        self.pauses = 0

    def step(self) -> bool:
        """Start or resume the job (``ASYNC_start_job``); True once it has finished."""
        if self.done:
            raise Error("this sign job has already finished")
        me = lib.asyncssl_thread_tag()  # never reused, unlike a thread ident (see _cffi_src/guard.py)
        if self._thread is None:
            self._thread = me
            drain_errors()  # the job's errors end up on this thread's queue
        elif self._thread != me:
            raise Error("a paused async job must be resumed on the thread that started it")
        r = lib.asyncssl_start_sign_job(self._job, self.wait_ctx._ctx, self._ret, self._args)
        if r == lib.ASYNC_PAUSE:
            self.paused = True
            self.pauses += 1
            _PAUSED.add(self)
            return False
        self.paused = False
        _PAUSED.discard(self)
        if r == lib.ASYNC_FINISH:
            self.done = True
            return True
        if r == lib.ASYNC_NO_JOBS:
            self._thread = None
            raise Error("no async job is available on this thread (ASYNC_init_thread limit); retry later")
        raise error_from_queue(Error, "ASYNC_start_job failed")

    def wait_fds(self) -> list[int]:
        """The provider's wait fds: readable when the paused operation has completed."""
        return self.wait_ctx.get_all_fds()

    def result(self) -> bytes:
        """The signature (DER ECDSA, or PKCS#1 v1.5 RSA); raises the job's OpenSSL error."""
        if not self.done:
            raise Error("the sign job has not finished")
        if not self._args.ok:
            raise error_from_queue(Error, "signing failed in the async job")
        return bytes(ffi.buffer(self._sig, self._args.siglen))

    def run_synchronously(self) -> bytes:
        """The same ``EVP_DigestSign``, but outside any async job: an offloading provider then
        completes it synchronously (blocking this thread for the device's latency)."""
        if self._thread is not None or self.done:
            raise Error("this sign job was already started in an async job")
        drain_errors()
        self._args.ok = lib.EVP_DigestSign(self._md, self._sig, ffi.addressof(self._args, "siglen"),
                                           self._data_buf, len(self._data)) > 0
        self.done = True
        return self.result()

    def run_blocking(self) -> bytes:
        """Drive the job to completion on this thread, blocking on the wait fds (no event loop)."""
        import select

        while not self.step():
            fds = self.wait_fds()
            if fds:
                select.select(fds, [], [])
        return self.result()
