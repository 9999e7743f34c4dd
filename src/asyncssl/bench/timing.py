"""How a rate is measured, and how contenders share the machine fairly.

- ``measure_rate``: batches of operations grow (doubling) until one batch takes at least
  1/20 of the time budget; batches then continue uncounted until 1/5 of the budget has
  gone into warming up (caches, allocator, lazily initialised tables — a C contender
  starts cold in a fresh process, so this keeps it fair); then whole batches run, timed,
  until the budget is spent.  The clock is read once per batch, so its
  cost vanishes even for 1-µs operations.  ``asyncssl/bench/csrc/tls_bench.c`` does the same in C,
  so Python and C are timed alike.
- ``round_robin``: every repetition runs every contender once, in an order rotated by the
  repetition, so slow drifts (thermal, another process) hit all contenders equally and
  no contender always runs first or last.
- Ratios are paired: contender A over contender B within the same repetition, then the
  median over repetitions; that cancels drift that a ratio of two medians would keep.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def measure_rate(run: Callable[[int], float], seconds: float) -> tuple[float, float]:
    """Run ``run(n)`` (n operations, returns the work done) for about ``seconds``.

    Returns ``(work, elapsed)`` of the timed part; the rate is ``work / elapsed``.
    """
    clock = time.perf_counter
    batch = 1
    started = clock()
    while True:  # calibration, the first part of the warm-up
        t0 = clock()
        run(batch)
        if clock() - t0 >= seconds / 20 or batch >= 1 << 40:
            break
        batch *= 2
    while clock() - started < seconds / 5:  # the rest of the warm-up
        run(batch)
    work = elapsed = 0.0
    while elapsed < seconds:
        t0 = clock()
        work += run(batch)
        elapsed += clock() - t0
    return work, elapsed


def round_robin(items: Sequence[T], repetition: int) -> list[T]:
    """``items`` rotated by ``repetition``: each item takes every position in turn."""
    if not items:
        return []
    k = repetition % len(items)
    return list(items[k:]) + list(items[:k])


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def paired_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """Median over repetitions of numerator/denominator from the same repetition."""
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True) if b > 0]
    return median(ratios)


def spread(values: Sequence[float]) -> float:
    """(max - min) / median, a plain-language noise figure for the table."""
    if len(values) < 2:
        return 0.0
    m = median(values)
    return (max(values) - min(values)) / m if m else float("nan")


def steps(repetitions: int, groups: Sequence[str], contenders: Sequence[T]) -> Iterator[tuple[int, str, T]]:
    """The interleaved schedule: for each repetition, each group (test), each contender (rotated)."""
    for rep in range(repetitions):
        for group in groups:
            for contender in round_robin(contenders, rep):
                yield rep, group, contender
