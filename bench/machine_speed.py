"""How steady this machine's speed is: a fixed piece of Python timed over and over.

Usage: ``python -m bench.machine_speed [SECONDS]`` (default 20). The same loop
(pure Python, no I/O) runs back to back for SECONDS and each run is timed. The
shared 2-core machines these benchmarks run on switch between a fast and a
slow speed, for stretches of milliseconds to seconds, so a sample that lasts
15 ms lands in one speed where one that lasts a second averages both. Each
line groups the runs into consecutive windows of one length and gives the
spread of the windows' mean speed: p90 over p10 of the mean run time, and the
median. A window length whose spread is near 1 is one a sample must outlast
for its figure to depend on the code rather than on the moment.
"""

from __future__ import annotations

import statistics
import sys
import time

LOOP_ITERATIONS = 20_000


def _fixed_work() -> int:
    total = 0
    for i in range(LOOP_ITERATIONS):
        total += i * i
    return total


def run_times(seconds: float) -> list[float]:
    """The duration in seconds of each back-to-back run of the loop for ``seconds``."""
    times: list[float] = []
    clock = time.perf_counter
    end = clock() + seconds
    while True:
        start = clock()
        _fixed_work()
        stop = clock()
        times.append(stop - start)
        if stop >= end:
            return times


WINDOWS_SECONDS = (0.015, 0.15, 1.5)


def window_spread(times: list[float], window: float) -> tuple[int, float, float]:
    """For consecutive windows of ``window`` seconds of ``times``: how many, the
    median of their mean run time (seconds), and p90 over p10 of those means."""
    means: list[float] = []
    total, count = 0.0, 0
    for t in times:
        total += t
        count += 1
        if total >= window:
            means.append(total / count)
            total, count = 0.0, 0
    if len(means) < 2:
        raise ValueError(f"too few runs for {len(means)} window(s) of {window} s")
    deciles = statistics.quantiles(means, n=10)
    return len(means), statistics.median(means), deciles[-1] / deciles[0]


def main(argv: list[str]) -> None:
    seconds = float(argv[0]) if argv else 20.0
    times = run_times(seconds)
    for window in WINDOWS_SECONDS:
        count, median, spread = window_spread(times, window)
        print(
            f"window {window * 1e3:g} ms: {count} windows, median run {median * 1e3:.3f} ms,"
            f" p90/p10 {spread:.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
