"""``python -m stress [--quick] [--seed N] [--only NAME ...]``: run the stress suites.

Each suite prints what it checked, its counts and any violation; the exit
status is non-zero when any suite found a violation (or crashed).
"""

from __future__ import annotations

import argparse
import importlib
import random
import sys
import time
import traceback
from collections.abc import Callable

from stress.report import Report

Suite = Callable[..., Report]


SUITES = {
    "batcher": "stress.batcher_flush",
    "batch": "stress.batch_storm",
    "faults": "stress.faults",
    "crashes": "stress.crashes",
    "unruly": "stress.unruly",
    "store": "stress.store_faults",
    "flood": "stress.flood",
}


def _suite(name: str) -> Suite:
    run: Suite = importlib.import_module(SUITES[name]).run
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stress", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    parser.add_argument("--seed", type=int, help="random seed (default: random, printed)")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(SUITES),
        help="run only this suite (repeatable)",
    )
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    print(f"stress: seed {seed}{' (quick)' if args.quick else ''}", flush=True)
    failed: list[str] = []
    for name in SUITES:
        if args.only and name not in args.only:
            continue
        started = time.monotonic()
        try:
            report = _suite(name)(quick=args.quick, seed=seed)
        except Exception:
            traceback.print_exc()
            report = Report(name)
            report.violations.append("the suite crashed (traceback above)")
        report.counts["seconds"] = round(time.monotonic() - started)
        report.print()
        if not report.passed:
            failed.append(name)
    if failed:
        print(f"stress: FAILED: {', '.join(failed)} (seed {seed})", file=sys.stderr)
        return 1
    print("stress: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
