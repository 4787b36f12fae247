"""Measure workloads on both sides, alternately, and report them.

A ``Workload`` pairs two measurement functions (ours, theirs) that each run the
same workflow once at a given size and return one number in the workload's
unit. ``run_workloads`` warms each side up with one untimed size-1 run, then runs the
two sides alternately (ours first on even repetitions, theirs first on odd
ones) so that drift in the machine's load hits both alike, and keeps every
sample; the report gives the median and the spread. The two workloads of a
growth target (``Scaling``) are measured in turn, repetition by repetition, for
the same reason. A sample may be the mean of several runs: a full run repeats a
run shorter than a second (``min_sample_seconds``).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

Measure = Callable[[int], float]


class BenchError(Exception):
    """A workload produced a wrong result or hung: that side's measurement is void."""


class Unavailable(Exception):
    """This side cannot run the workload (yet); the reason is the message.

    ``ImportError`` and ``NotImplementedError`` from a measurement count as this too.
    """


def not_rerun(workload: str) -> Measure:
    """A side that is not measured again: it would run as in ``workload``."""

    def measure(n: int) -> float:
        raise Unavailable(f"not rerun: as in {workload}")

    return measure


@dataclass(frozen=True)
class Workload:
    """One row of the report: the same workflow written for both SDKs."""

    name: str
    unit: str
    size: int
    quick_size: int
    ours: Measure
    theirs: Measure
    reps: int = 5
    quick_reps: int = 1
    target: float | None = None  # minimum ratio theirs/ours the issue asks for
    target_cpus: int | None = None  # ``target`` is judged only on at most this many CPUs
    ours_at_most: float | None = None  # the most our median may be, in ``unit``
    note: str = ""
    warm_up: bool = True  # one untimed size-1 run per side first (imports, thread pools)
    repeat_short: bool = True  # a short sample is repeated (``run_workloads``' min_sample_seconds)


@dataclass
class Side:
    """The samples of one side of one workload, or why there are none."""

    samples: list[float] = field(default_factory=list)
    unavailable: str | None = None
    error: str | None = None  # a wrong result or a hang: the side's samples are void

    @property
    def stopped(self) -> str | None:
        """Why no more samples are taken, if so."""
        if self.error is not None:
            return f"FAILED: {self.error}"
        if self.unavailable is not None:
            return f"unavailable: {self.unavailable}"
        return None

    @property
    def median(self) -> float | None:
        if self.error is not None or not self.samples:
            return None
        return statistics.median(self.samples)

    def spread(self) -> str:
        """``min..max`` of the samples, or ``-`` with fewer than two."""
        if len(self.samples) < 2:
            return "-"
        return f"{_num(min(self.samples))}..{_num(max(self.samples))}"


@dataclass
class Row:
    workload: Workload
    size: int
    ours: Side
    theirs: Side

    @property
    def ratio(self) -> float | None:
        ours, theirs = self.ours.median, self.theirs.median
        if ours is None or theirs is None or ours <= 0:
            return None
        return theirs / ours

    def verdict(self, cpus: int | None = None) -> tuple[str, bool | None]:
        """The row's targets as text, and whether they were met (``None``: no
        target, or nothing to judge). ``cpus``: how many CPUs the run may use
        (default: this process's affinity); a target set for fewer is shown,
        not judged."""
        wl, ratio, ours = self.workload, self.ratio, self.ours.median
        parts: list[str] = []
        met: list[bool] = []
        if wl.target is not None:
            text, judge = f">={wl.target:g}x", True
            if wl.target_cpus is not None:
                cpus = len(os.sched_getaffinity(0)) if cpus is None else cpus
                text += " on one CPU" if wl.target_cpus == 1 else f" on {wl.target_cpus} CPUs"
                judge = cpus <= wl.target_cpus
                if not judge:
                    text += f" (this run: {cpus})"
            parts.append(text)
            if judge and ratio is not None:
                met.append(ratio >= wl.target)
        if wl.ours_at_most is not None:
            parts.append(f"ours <={wl.ours_at_most:g} {wl.unit}")
            if ours is not None:
                met.append(ours <= wl.ours_at_most)
        if not parts:
            return "", None
        if not met:
            return " ".join(parts), None
        return " ".join(parts), all(met)

    def to_json(self) -> dict[str, object]:
        ratio = self.ratio
        return {
            "workload": self.workload.name,
            "unit": self.workload.unit,
            "ours": self.ours.median,
            "theirs": self.theirs.median,
            "ratio": None if ratio is None else round(ratio, 3),
        }


MET = "met"
MISSED = "MISSED (informative)"
TARGETS_NOTE = (
    "Targets are informative: timings on a shared machine are noisy, so a missed target "
    "is reported and never fails the run; a wrong result or a hang (FAILED) does."
)


def judged(met: bool | None) -> str:
    """How a target reads in the report."""
    if met is None:
        return "not judged"
    return MET if met else MISSED


@dataclass(frozen=True)
class Scaling:
    """A target on growth: ours on ``large`` may cost at most ``at_most`` times
    ours on ``small`` (both medians, in their common unit); ``None``: the growth
    is reported, with no target."""

    small: str
    large: str
    at_most: float | None

    def report(self, rows: Sequence[Row]) -> str | None:
        """One line for both sides, or ``None`` if either workload did not run."""
        by_name = {row.workload.name: row for row in rows}
        small, large = by_name.get(self.small), by_name.get(self.large)
        if small is None or large is None:
            return None
        growth: dict[str, float | None] = {}
        for side in ("ours", "theirs"):
            a, b = getattr(small, side).median, getattr(large, side).median
            growth[side] = b / a if a and b else None
        ours, theirs = growth["ours"], growth["theirs"]
        line = f"  {self.large} / {self.small}: ours "
        line += "n/a" if ours is None else f"{ours:.2f}x"
        if self.at_most is None:
            line += " (no target)"
        else:
            met = None if ours is None else ours <= self.at_most
            line += f" (target <={self.at_most:g}x: {judged(met)})"
        line += ", theirs " + ("n/a" if theirs is None else f"{theirs:.2f}x")
        return line


def _measure(side: Side, fn: Measure, size: int, min_seconds: float = 0.0) -> int:
    """Take one sample: ``fn(size)``, run again until the runs have lasted
    ``min_seconds`` in all, their figures averaged. Returns how many runs it took."""
    if side.stopped is not None:
        return 0
    figures: list[float] = []
    spent = 0.0
    try:
        while not figures or spent < min_seconds:
            # Each run starts from a collected heap, so neither side pays for the
            # garbage the other (or its own previous run) left behind.
            gc.collect()
            started = time.perf_counter()
            figures.append(fn(size))
            spent += time.perf_counter() - started
    except BenchError as exc:
        side.error = str(exc)
    except Unavailable as exc:
        side.unavailable = str(exc)
    except (ImportError, NotImplementedError) as exc:  # a piece not written yet
        side.unavailable = f"{type(exc).__name__}: {exc}"
    else:
        side.samples.append(statistics.fmean(figures))
    return len(figures)


class _RowRun:
    """One workload's samples being taken: its warm-up, its repetitions, its summary."""

    def __init__(
        self,
        wl: Workload,
        *,
        quick: bool,
        reps: int | None,
        out: TextIO,
        min_sample_seconds: float,
    ) -> None:
        self.wl = wl
        self.out = out
        self.n_reps = reps if reps is not None else (wl.quick_reps if quick else wl.reps)
        self.min_seconds = min_sample_seconds if wl.repeat_short else 0.0
        self.row = Row(wl, wl.quick_size if quick else wl.size, Side(), Side())

    @property
    def header(self) -> str:
        return f"{self.wl.name} (n={self.row.size}, {self.n_reps} reps)"

    def warm_up(self) -> None:
        if self.wl.warm_up:
            _measure(self.row.ours, self.wl.ours, 1)
            _measure(self.row.theirs, self.wl.theirs, 1)
            self.row.ours.samples.clear()
            self.row.theirs.samples.clear()

    def rep(self, rep: int, *, tag: str = "") -> None:
        """Repetition ``rep``: ours first on even ones, theirs first on odd ones."""
        wl, row = self.wl, self.row
        order = [("ours", row.ours, wl.ours), ("theirs", row.theirs, wl.theirs)]
        if rep % 2:
            order.reverse()
        for label, side, fn in order:
            runs = _measure(side, fn, row.size, self.min_seconds)
            shown = side.stopped or f"{_num(side.samples[-1])} {wl.unit}"
            if runs > 1 and side.stopped is None:
                shown += f" (mean of {runs} runs)"
            print(
                f"   rep {rep + 1} {tag}{label:6} {shown.splitlines()[0]}",
                file=self.out,
                flush=True,
            )

    def summary(self, *, tag: str = "") -> None:
        for label, side in (("ours", self.row.ours), ("theirs", self.row.theirs)):
            if side.stopped is not None:
                print(f"   {tag}{label}: {side.stopped}", file=self.out)
            else:
                print(
                    f"   {tag}{label}: median {_num(side.median)} {self.wl.unit}, "
                    f"spread {side.spread()}",
                    file=self.out,
                )


def run_workloads(
    workloads: Sequence[Workload],
    *,
    quick: bool,
    reps: int | None = None,
    out: TextIO = sys.stdout,
    alternate: Sequence[tuple[str, str]] = (),
    min_sample_seconds: float = 0.0,
) -> list[Row]:
    """Run every workload, both sides alternately; print a line per sample.

    A sample whose run lasts less than ``min_sample_seconds`` runs again until
    its runs have lasted that long, and is the mean of their figures (unless
    its workload says ``repeat_short=False``): the machine's speed changes
    from one fraction of a second to the next, and a short run would give the
    speed of one moment (``python -m bench.machine_speed``).

    The two workloads of a pair in ``alternate`` (a growth target's: both
    selected) are measured repetition by repetition in turn, so that a change in
    the machine's speed hits both of a ratio's rows alike, as it hits both sides.
    """
    by_name = {wl.name: wl for wl in workloads}
    partner: dict[str, str] = {}
    for small, large in alternate:
        if small in by_name and large in by_name and not {small, large} & partner.keys():
            partner[small], partner[large] = large, small
    rows: dict[str, Row] = {}
    for wl in workloads:
        if wl.name in rows:
            continue
        group = [wl] if wl.name not in partner else [wl, by_name[partner[wl.name]]]
        runs = [
            _RowRun(w, quick=quick, reps=reps, out=out, min_sample_seconds=min_sample_seconds)
            for w in group
        ]
        paired = len(runs) > 1
        header = " and ".join(run.header for run in runs) + (", in turn" if paired else "")
        print(f"== {header}", file=out, flush=True)
        started = time.monotonic()
        for run in runs:
            run.warm_up()
        for rep in range(max(run.n_reps for run in runs)):
            for run in runs if rep % 2 == 0 else runs[::-1]:
                if rep < run.n_reps:
                    run.rep(rep, tag=f"{run.wl.name} " if paired else "")
        for run in runs:
            run.summary(tag=f"{run.wl.name} " if paired else "")
            rows[run.wl.name] = run.row
        print(f"   ({time.monotonic() - started:.1f} s)", file=out, flush=True)
    return [rows[wl.name] for wl in workloads]


def _num(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 0.01:
        return f"{value:.3f}"
    return f"{value:.2e}"


def failures(rows: Sequence[Row]) -> list[str]:
    """``workload side: why`` for every side that failed."""
    return [
        f"{row.workload.name} {label}: {side.error}"
        for row in rows
        for label, side in (("ours", row.ours), ("theirs", row.theirs))
        if side.error is not None
    ]


def _cell(side: Side) -> str:
    return "FAILED" if side.error is not None else _num(side.median)


def format_table(rows: Sequence[Row], cpus: int | None = None) -> str:
    """The closing table: workload, ours, theirs, ratio (theirs/ours), target
    (``cpus`` as in ``Row.verdict``)."""
    header = ("workload", "unit", "ours", "theirs", "ratio", "target")
    lines = [header]
    for row in rows:
        ratio = row.ratio
        target, met = row.verdict(cpus)
        verdict = f"{target}: {judged(met)}" if target else ""
        lines.append(
            (
                row.workload.name,
                row.workload.unit,
                _cell(row.ours),
                _cell(row.theirs),
                "n/a" if ratio is None else f"{ratio:.2f}x",
                verdict,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = []
    for i, line in enumerate(lines):
        text.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if i == 0:
            text.append("  ".join("-" * w for w in widths))
    return "\n".join(text)


def write_json(rows: Sequence[Row], path: Path) -> None:
    """``[{"workload", "unit", "ours", "theirs", "ratio"}, ...]`` to ``path`` (the
    issue's keys, stable, so runs compare over time)."""
    path.write_text(json.dumps([row.to_json() for row in rows], indent=2) + "\n")
