"""``python -m bench [--quick] [--json PATH] [--only NAME ...] [--reps N] [--min-sample S]``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bench import our_side
from bench.harness import TARGETS_NOTE, failures, format_table, run_workloads, write_json
from bench.workloads import SCALINGS, WORKLOADS

QUICK_TIME_LIMIT_SECONDS = 60.0
MIN_SAMPLE_SECONDS = 1.0
"""A full run's shortest sample: shorter runs are repeated and averaged (``run_workloads``)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, 1 rep")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this workload (repeatable)"
    )
    parser.add_argument("--reps", type=int, help="repetitions per side (overrides defaults)")
    parser.add_argument(
        "--min-sample",
        type=float,
        metavar="SECONDS",
        help=f"repeat a shorter run within its sample, averaged (default {MIN_SAMPLE_SECONDS:g}; "
        "0 with --quick)",
    )
    args = parser.parse_args(argv)

    known = {wl.name for wl in WORKLOADS}
    unknown = sorted(set(args.only or ()) - known)
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if args.reps is not None and args.reps < 1:
        parser.error("--reps must be at least 1")
    if args.min_sample is not None and args.min_sample < 0:
        parser.error("--min-sample must not be negative")
    min_sample = args.min_sample
    if min_sample is None:
        min_sample = 0.0 if args.quick else MIN_SAMPLE_SECONDS
    selected = [wl for wl in WORKLOADS if not args.only or wl.name in args.only]

    # Both local runners talk boto3 to local endpoints; they need some credentials.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    logging.disable(logging.WARNING)  # the runners log failed-invocation noise at WARNING

    if args.quick:
        our_side.REAL_TIME_LIMIT_SECONDS = QUICK_TIME_LIMIT_SECONDS
    pairs = [(scaling.small, scaling.large) for scaling in SCALINGS]
    rows = run_workloads(
        selected, quick=args.quick, reps=args.reps, alternate=pairs, min_sample_seconds=min_sample
    )

    print()
    if args.quick:
        print("(--quick: reduced sizes, not comparable with a full run)")
    print(format_table(rows))
    for row in rows:
        if row.workload.note:
            print(f"  {row.workload.name}: {row.workload.note}")
    print("scaling (ours on the larger workload in multiples of the smaller):")
    for scaling in SCALINGS:
        line = scaling.report(rows)
        if line is not None:
            print(line)
    print(TARGETS_NOTE)
    if args.json is not None:
        write_json(rows, args.json)
        print(f"wrote {args.json}")
    failed = failures(rows)
    for failure in failed:
        print(f"bench: FAILED {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
