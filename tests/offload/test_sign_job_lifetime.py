"""A paused sign job outlives whatever dropped it: a task cancelled mid-offload, a closed event
loop, a thread that ended, the garbage collector. Each scenario runs in its own interpreter and
must end normally (a crash here used to be SIGSEGV: the provider or a resume wrote into freed
memory, or a new thread with a dead thread's ident resumed the job).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.requires("async_mode")

SETUP = """
import asyncio, gc, threading, time
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
import asyncssl
from asyncssl import aio, testing
from asyncssl.offload.sign_job import SignJob

key = ec.generate_private_key(ec.SECP256R1())
libctx = asyncssl.LibraryContext()
testing.load_simulated_accelerator(libctx, latency=0.1)

def paused_job():
    job = SignJob(key, b"data", algorithm=hashes.SHA256(), libctx=libctx)
    assert job.step() is False, "the accelerator should pause the job"
    return job
"""


def run_scenario(body: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-c", SETUP + textwrap.dedent(body)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode >= 0, f"killed by signal {-result.returncode}: {result.stderr[-2000:]}"
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_dropping_a_paused_job_keeps_its_memory_until_the_device_is_done():
    run_scenario("""
        job = paused_job()
        del job
        gc.collect()
        time.sleep(0.3)  # the device finishes and writes its result
        gc.collect()
    """)


def test_a_job_is_never_resumed_by_a_new_thread_that_reuses_a_dead_threads_ident():
    result = run_scenario("""
        jobs = []
        for _ in range(5):
            t = threading.Thread(target=lambda: jobs.append(paused_job()))
            t.start(); t.join()  # the next thread often gets the same ident
        time.sleep(0.3)

        def resume_all():
            for job in jobs:
                try:
                    job.step()
                    print("resumed")
                except asyncssl.SSL.Error as exc:
                    print("refused:", exc)

        t = threading.Thread(target=resume_all); t.start(); t.join()
    """)
    assert result.stdout.splitlines() == ["refused: a paused async job must be resumed on the thread that started it"] * 5


def test_threads_that_end_with_a_paused_job():
    run_scenario("""
        for _ in range(10):
            t = threading.Thread(target=paused_job); t.start(); t.join()
        time.sleep(0.3)
        gc.collect()
    """)


def test_cancelled_signatures_and_a_closed_loop():
    run_scenario("""
        async def main():
            tasks = [asyncio.ensure_future(aio.sign(key, b"data", algorithm=hashes.SHA256(), libctx=libctx))
                     for _ in range(20)]
            await asyncio.sleep(0.02)
            for task in tasks:
                task.cancel()
            await asyncio.sleep(0)

        asyncio.run(main())  # closes the loop while the cancelled jobs are still paused
        gc.collect()
        time.sleep(0.3)
        gc.collect()
    """)


def test_a_cancelled_signature_is_still_finished_in_the_background():
    result = run_scenario("""
        from asyncssl.offload import sign_job as _sign_job

        async def main():
            task = asyncio.ensure_future(aio.sign(key, b"data", algorithm=hashes.SHA256(), libctx=libctx))
            await asyncio.sleep(0.02)
            task.cancel()
            await asyncio.sleep(0.3)
            print(len(_sign_job._PAUSED))

        asyncio.run(main())
    """)
    assert result.stdout.split() == ["0"]

