"""The hashing pool (bounded threads and queue, lower CPU priority) and the password hasher
(verification with rehashing of hashes made with other parameters). No timing is asserted:
jobs are held on events, and the tests look at what ran, what waited and what was refused."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pwdlib.hashers.argon2 import Argon2Hasher

from conduit.core.errors import ServiceUnavailable
from conduit.core.security import HashingPool, PasswordHasher, lower_thread_priority
from tests.conftest import make_settings

WAIT = 10.0  # seconds a test waits for a thread before it fails (never reached when it works)


class Gate:
    """Jobs that block until released, recording how many ran at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.started = 0
        self.running = 0
        self.most_at_once = 0

    def job(self, value: Any = None) -> Callable[[], Any]:
        def run() -> Any:
            with self._lock:
                self.started += 1
                self.running += 1
                self.most_at_once = max(self.most_at_once, self.running)
            try:
                assert self.release.wait(WAIT), "never released"
                return value
            finally:
                with self._lock:
                    self.running -= 1

        return run


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the loop until `condition` holds (a thread has reached a point)."""
    for _ in range(int(WAIT / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


@pytest.fixture
def pool() -> Iterator[HashingPool]:
    hashing = HashingPool(threads=2, queue=3)
    yield hashing
    hashing.close()


async def test_at_most_threads_jobs_run_and_the_rest_wait_in_order(pool: HashingPool) -> None:
    gate = Gate()
    done: list[int] = []

    async def submit(n: int) -> None:
        done.append(await pool.run(gate.job(n)))

    tasks = [asyncio.create_task(submit(n)) for n in range(5)]
    await until(lambda: gate.started == 2)
    await asyncio.sleep(0.05)  # room for a third job to start, if the bound let it
    assert gate.started == 2
    assert pool.pending == 5
    gate.release.set()
    await asyncio.gather(*tasks)
    assert gate.most_at_once == 2
    assert sorted(done) == [0, 1, 2, 3, 4]
    assert pool.pending == 0


async def test_a_job_beyond_the_queue_is_refused_with_retry_after(pool: HashingPool) -> None:
    gate = Gate()
    tasks = [asyncio.create_task(pool.run(gate.job())) for _ in range(5)]  # 2 run, 3 wait
    await until(lambda: pool.pending == 5)
    with pytest.raises(ServiceUnavailable) as refused:
        await pool.run(gate.job())
    assert refused.value.status_code == 503
    assert refused.value.errors == {"server": ["is busy, try again shortly"]}
    assert refused.value.retry_after >= 1
    assert pool.pending == 5  # the refused job took no place
    gate.release.set()
    await asyncio.gather(*tasks)
    assert gate.started == 5
    await pool.run(gate.job())  # room again
    assert pool.pending == 0


async def test_a_waiting_job_whose_caller_left_never_runs(pool: HashingPool) -> None:
    gate = Gate()
    running = [asyncio.create_task(pool.run(gate.job())) for _ in range(2)]
    await until(lambda: gate.started == 2)
    ran = threading.Event()
    waiting = asyncio.create_task(pool.run(ran.set))
    await until(lambda: pool.pending == 3)
    waiting.cancel()  # e.g. the client disconnected
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await until(lambda: pool.pending == 2)  # its place is free before the running jobs end
    assert gate.started == 2
    gate.release.set()
    await asyncio.gather(*running)
    await pool.run(lambda: None)  # a job submitted later runs after the cancelled one's turn
    assert not ran.is_set()
    assert pool.pending == 0


async def test_a_failing_job_raises_to_its_caller_and_frees_its_place(pool: HashingPool) -> None:
    def boom() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await pool.run(boom)
    assert pool.pending == 0


def _nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
async def test_the_hashing_threads_run_at_a_lower_priority() -> None:
    base = _nice_of_this_thread()
    niced = HashingPool(threads=1, queue=0, nice=5)
    plain = HashingPool(threads=1, queue=0, nice=0)
    try:
        assert await niced.run(_nice_of_this_thread) == min(19, base + 5)
        assert await plain.run(_nice_of_this_thread) == base
    finally:
        niced.close()
        plain.close()
    assert _nice_of_this_thread() == base  # the event loop's thread is left alone


def test_lowering_the_priority_is_capped_at_19() -> None:
    seen: list[int] = []

    def run() -> None:
        lower_thread_priority(15)
        lower_thread_priority(15)
        if sys.platform.startswith("linux"):
            seen.append(_nice_of_this_thread())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen in ([19], [])


def test_a_hash_lets_other_python_threads_run() -> None:
    """argon2-cffi releases the GIL while it hashes (cffi does around C calls): this is
    what lets the event loop's thread go on while a hashing thread works. Were the GIL
    held, this thread could not run a single turn until the hash was done."""
    hasher = Argon2Hasher(time_cost=3, memory_cost=65536)  # some 150-400 ms
    entering = threading.Event()

    def job() -> None:
        entering.set()
        hasher.hash("correct horse")

    thread = threading.Thread(target=job)
    thread.start()
    assert entering.wait(WAIT)
    turns = 0
    while thread.is_alive() and turns < 1000:
        turns += 1
    thread.join()
    assert turns == 1000  # all taken while the hash was in progress


# --- the password hasher ---------------------------------------------------------------


def hasher(**argon2: int) -> PasswordHasher:
    return PasswordHasher(make_settings("sqlite+aiosqlite://", **argon2))


async def test_verify_tells_right_from_wrong_and_never_opens_a_missing_account() -> None:
    passwords = hasher()
    try:
        stored = await passwords.hash("correct horse")
        assert await passwords.verify("correct horse", stored) == (True, None)
        assert await passwords.verify("wrong horse", stored) == (False, None)
        # No account: the dummy hash is checked (same work), and nothing opens.
        assert await passwords.verify("conduit-dummy-password", None) == (False, None)
    finally:
        passwords.close()


async def test_a_hash_made_with_other_parameters_verifies_and_is_renewed() -> None:
    old = hasher(argon2_time_cost=1, argon2_memory_cost=2048)
    current = hasher(argon2_time_cost=2, argon2_memory_cost=1024)
    try:
        legacy = await old.hash("correct horse")
        assert "m=2048,t=1" in legacy
        valid, renewed = await current.verify("correct horse", legacy)
        assert valid
        assert renewed is not None
        assert "m=1024,t=2,p=1" in renewed
        assert await current.verify("correct horse", renewed) == (True, None)
        # A wrong password against an old hash: refused, nothing renewed.
        assert await current.verify("wrong horse", legacy) == (False, None)
    finally:
        old.close()
        current.close()


async def test_the_hasher_refuses_beyond_its_queue() -> None:
    passwords = hasher(argon2_threads=1, argon2_queue=0)
    gate = Gate()
    try:
        blocked = asyncio.create_task(passwords.pool.run(gate.job()))
        await until(lambda: gate.started == 1)
        with pytest.raises(ServiceUnavailable):
            await passwords.hash("correct horse")
        with pytest.raises(ServiceUnavailable):
            await passwords.verify("correct horse", None)
        gate.release.set()
        await blocked
        assert (await passwords.verify("correct horse", await passwords.hash("correct horse")))[0]
    finally:
        passwords.close()
