"""``await aio.sign(...)``: a signature computed in an OpenSSL async job, off the event loop's back.

With an offloading provider (an accelerator, or ``asyncssl.testing``'s simulated one) the
job pauses while the device works; this coroutine then sleeps on the provider's wait fds
(``loop.add_reader``) and the loop keeps running other tasks.  Without one, the job
simply finishes on the first step.
"""

from __future__ import annotations

import asyncio

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..offload.provider import LibraryContext
from ..offload.sign_job import SignJob

# For a provider that pauses without publishing a wait fd (it would have to rely on a
# wait ctx callback we did not install): re-check with a growing delay.
_POLL_FIRST, _POLL_MAX = 0.0005, 0.02


async def sign(private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, data: bytes | bytearray | memoryview, *,
               algorithm: hashes.HashAlgorithm, libctx: LibraryContext | None = None) -> bytes:
    """Sign `data` with `private_key` (a cryptography EC or RSA private key) and `algorithm`
    (a cryptography hash instance) inside an OpenSSL async job of `libctx` (an
    ``asyncssl.LibraryContext``; None: the default context).

    Returns DER ECDSA or PKCS#1 v1.5 RSA signature bytes.  Cancelling the caller does not
    abandon a paused job (OpenSSL cannot cancel one): it is finished in the background.
    """
    job = SignJob(private_key, data, algorithm=algorithm, libctx=libctx)
    loop = asyncio.get_running_loop()
    try:
        await _drive(loop, job)
    except asyncio.CancelledError:
        if job.paused:
            loop.create_task(_drive(loop, job))
        raise
    return job.result()


async def _drive(loop: asyncio.AbstractEventLoop, job: SignJob) -> None:
    delay = _POLL_FIRST
    while not job.step():
        fds = job.wait_fds()
        if fds:
            await _readable(loop, fds)
        else:
            await asyncio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)


async def _readable(loop: asyncio.AbstractEventLoop, fds: list[int]) -> None:
    """Until one of `fds` is readable.  The fds belong to the provider: only watched, never read."""
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    for fd in fds:
        loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        for fd in fds:
            loop.remove_reader(fd)
