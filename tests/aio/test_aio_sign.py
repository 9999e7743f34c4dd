"""asyncssl.aio.sign: signatures computed in OpenSSL async jobs while the event loop keeps running."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from helpers.offload import accelerated, verify

import asyncssl
from asyncssl import SSL, aio, testing

pytestmark = pytest.mark.skipif(not asyncssl.is_async_capable(), reason="ASYNC_is_capable() is 0 here")

DATA = b"sign me, asynchronously"


async def _sign_while_ticking(key, libctx, algorithm):
    """Sign, and count how often another coroutine ran meanwhile."""
    ticks = 0
    signing = True

    async def ticker():
        nonlocal ticks
        while signing:
            ticks += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(ticker())
    try:
        signature = await aio.sign(key, DATA, algorithm=algorithm, libctx=libctx)
    finally:
        signing = False
        await other
    return signature, ticks


@pytest.mark.parametrize("key_name", ["ec_key", "rsa_key"])
def test_sign_verifies_and_the_loop_keeps_running(request, key_name):
    key = request.getfixturevalue(key_name)
    with accelerated(latency=0.05) as libctx:
        signature, ticks = asyncio.run(_sign_while_ticking(key, libctx, hashes.SHA256()))
        stats = testing.simulated_accelerator_stats()
    verify(key, signature, DATA)
    assert stats["operations"] == 1 and stats["pauses"] >= 1  # it really was offloaded
    assert ticks > 1  # another coroutine made progress during the device's latency


def test_sign_with_other_hashes(ec_key, rsa_key):
    async def main(libctx):
        return [(key, alg, await aio.sign(key, DATA, algorithm=alg, libctx=libctx))
                for key in (ec_key, rsa_key) for alg in (hashes.SHA384(), hashes.SHA512())]

    with accelerated(latency=0.001) as libctx:
        for key, alg, signature in asyncio.run(main(libctx)):
            verify(key, signature, DATA, alg)


def test_concurrent_signs_overlap(ec_key):
    async def main(libctx):
        return await asyncio.gather(*(aio.sign(ec_key, DATA + bytes([i]), algorithm=hashes.SHA256(), libctx=libctx)
                                      for i in range(8)))

    with accelerated(latency=0.02) as libctx:
        signatures = asyncio.run(main(libctx))
        stats = testing.simulated_accelerator_stats()
    for i, signature in enumerate(signatures):
        verify(ec_key, signature, DATA + bytes([i]))
    assert stats["completed"] == 8


def test_sign_without_an_accelerator_uses_the_default_context(ec_key):
    signature = asyncio.run(aio.sign(ec_key, DATA, algorithm=hashes.SHA256()))
    verify(ec_key, signature, DATA)


def test_injected_failure_raises_ssl_error(ec_key):
    with accelerated(latency=0.001, fail_every=1) as libctx:
        with pytest.raises(SSL.Error, match="injected failure"):
            asyncio.run(aio.sign(ec_key, DATA, algorithm=hashes.SHA256(), libctx=libctx))


def test_cancelling_finishes_the_paused_job_in_the_background(ec_key):
    async def main(libctx):
        task = asyncio.create_task(aio.sign(ec_key, DATA, algorithm=hashes.SHA256(), libctx=libctx))
        await asyncio.sleep(0.01)  # the job is paused in the device
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.2)  # the background finisher resumes it after the latency

    with accelerated(latency=0.05) as libctx:
        asyncio.run(main(libctx))
        stats = testing.simulated_accelerator_stats()
    assert stats["operations"] == stats["completed"] == 1


def test_bad_arguments_are_type_errors(ec_key):
    with pytest.raises(TypeError, match="EC or RSA"):
        asyncio.run(aio.sign(ed25519.Ed25519PrivateKey.generate(), DATA, algorithm=hashes.SHA256()))
    with pytest.raises(TypeError, match="hash instance"):
        asyncio.run(aio.sign(ec_key, DATA, algorithm=hashes.SHA256))
    with pytest.raises(TypeError, match="LibraryContext"):
        asyncio.run(aio.sign(ec_key, DATA, algorithm=hashes.SHA256(), libctx="default"))
